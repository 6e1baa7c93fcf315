#!/usr/bin/env bash
# Runs every libFuzzer target, one after another in one process each (no -jobs: even -jobs=1 sends
# the output to ./fuzz-0.log), from seeds made at run time plus the corpus kept in
# BUILD/fuzz-corpus/<target>/, and reports executions, corpus size, duration and findings. Each
# target stops after SECONDS, or after $FUZZ_RUNS executions if that comes first. Crash, leak and
# timeout inputs land in BUILD/fuzz-findings/<target>/ (fix the class of bug; make them regression tests).
#   [FUZZ_RUNS=N] fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
set -uo pipefail
build=$(cd "${1:?usage: [FUZZ_RUNS=N] fuzz/run.sh BUILD_DIR SECONDS [TARGET...]}" && pwd)
seconds=${2:?seconds}
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_image fuzz_blob fuzz_tfjs_model fuzz_pose_decoders)
runs=()
[ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
seeds=$build/fuzz-seeds
rm -rf "$seeds"
"$build/fuzz/fuzz_make_seeds" "$seeds" || exit 1
status=0
for t in "${targets[@]}"; do
  corpus=$build/fuzz-corpus/$t findings=$build/fuzz-findings/$t
  mkdir -p "$corpus" "$findings"
  log=$build/fuzz-$t.log
  start=$(date +%s)
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$build/fuzz/$t" -max_total_time="$seconds" "${runs[@]}" -timeout=10 -rss_limit_mb=4096 -malloc_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" "$seeds/$t" >"$log" 2>&1
  rc=$?
  took=$(($(date +%s) - start))
  execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  found=$(ls "$findings" | wc -l)
  echo "fuzz $t: ${execs:-?} executions in ${took}s, corpus $(ls "$corpus" | wc -l) files ($(du -sk "$corpus" | cut -f1) KiB), exit $rc, $found finding(s)"
  [ "$rc" = 0 ] && [ "$found" = 0 ] || status=1
done
exit $status
