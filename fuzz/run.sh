#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each from seeds made at run time, and reports executions
# and findings. Crash inputs land in BUILD/fuzz-findings/<target>/ (make them regression tests).
#   fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
set -uo pipefail
build=$(cd "${1:?usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]}" && pwd)
seconds=${2:?seconds}
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_image fuzz_blob fuzz_tfjs_model fuzz_pose_decoders)
seeds=$build/fuzz-seeds
"$build/fuzz/fuzz_make_seeds" "$seeds" || exit 1
status=0
for t in "${targets[@]}"; do
  corpus=$build/fuzz-corpus/$t findings=$build/fuzz-findings/$t
  mkdir -p "$corpus" "$findings"
  log=$build/fuzz-$t.log
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$build/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -malloc_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" "$seeds/$t" >"$log" 2>&1
  rc=$?
  execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  found=$(ls "$findings" | wc -l)
  echo "fuzz $t: ${execs:-?} executions in ${seconds}s, exit $rc, $found finding(s)"
  [ "$rc" = 0 ] && [ "$found" = 0 ] || status=1
done
exit $status
