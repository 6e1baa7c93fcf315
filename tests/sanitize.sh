#!/usr/bin/env bash
# The test suite under sanitizers, in builds of their own (gcc's ASan, UBSan and TSan; debugoptimized):
#   ASan + UBSan: the doctest suite (any report fails it: halt_on_error). POSENET_SANITIZE_SUITE=all
#                 (default) builds and runs all of it; =input only the untrusted-input part
#                 (tests/posenet_tests_input: models, blobs, images, file I/O, decoders, public and C
#                 APIs, streams, CLI outputs), which ./run.sh test runs. POSENET_SANITIZE_TESTS: a
#                 doctest -tc filter on top.
#   TSan: the concurrency tests (detectors shared by threads, file_io, streams, Vulkan lanes).
# The executables keep dlopen()ed libraries mapped under ASan (tests/keep_libraries_loaded.c); the
# validation layer's own leaks are suppressed (tests/lsan.supp), ours are not. Prints "sanitize: ..."
# lines with each phase's time and exits non-zero on any failure.
#   [POSENET_SANITIZE=asan|tsan|asan,tsan] [POSENET_SANITIZE_SUITE=all|input] tests/sanitize.sh [BUILD_PREFIX]
# builds in BUILD_PREFIX-asan and BUILD_PREFIX-tsan (default: build-asan, build-tsan in the checkout).
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
prefix=${1:-$src/build}
which=${POSENET_SANITIZE:-asan,tsan}
suite=${POSENET_SANITIZE_SUITE:-all}
case $suite in
  all) asan_binary=posenet_tests ;;
  input) asan_binary=posenet_tests_input ;;
  *) echo "sanitize: POSENET_SANITIZE_SUITE is all or input, not '$suite'" >&2; exit 2 ;;
esac
status=0
common=(--buildtype=debugoptimized -Dpython=disabled -Db_lundef=false -Ddefault_library=static)

phase_start=0
start() { phase_start=$SECONDS; }
took() { echo "$((SECONDS - phase_start))s"; }

configure() {  # configure DIR SANITIZERS TARGET...: the log (DIR/sanitize-build.log) is printed on failure
  local dir=$1 sanitizers=$2 log=$1/sanitize-build.log
  shift 2
  mkdir -p "$dir"
  { [ -f "$dir/build.ninja" ] || meson setup "$dir" "$src" "${common[@]}" -Db_sanitize="$sanitizers"; } >"$log" 2>&1 &&
    ninja -C "$dir" "$@" >>"$log" 2>&1 &&
    return 0
  tail -40 "$log"
  return 1
}

if [[ $which == *asan* ]]; then
  echo "== sanitize: ASan + UBSan build ($prefix-asan, suite: $suite)"
  start
  targets=(tests/$asan_binary tools/posenet tests/c_api/posenet_c_api_test)
  [ "$suite" = all ] && targets+=(tools/posenet-make-test-model)
  if configure "$prefix-asan" address,undefined "${targets[@]}"; then
    echo "sanitize: ASan + UBSan build: $(took)"
    start
    filter=()
    [ -n "${POSENET_SANITIZE_TESTS:-}" ] && filter=(-tc="$POSENET_SANITIZE_TESTS")
    ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1 \
    LSAN_OPTIONS=suppressions=$src/tests/lsan.supp:print_suppressions=0 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    POSENET_TEST_BINARY=$asan_binary bash "$src/tests/run_tests.sh" "$prefix-asan" "${filter[@]}" || status=1
    echo "sanitize: ASan + UBSan tests ($suite${POSENET_SANITIZE_TESTS:+, $POSENET_SANITIZE_TESTS}): $(took), $([ $status = 0 ] && echo passed || echo FAILED)"
  else
    echo "sanitize: the ASan build failed ($(took))"; status=1
  fi
fi

if [[ $which == *tsan* ]]; then
  echo "== sanitize: TSan build ($prefix-tsan)"
  start
  if configure "$prefix-tsan" thread tests/posenet_tests_input; then  # every test it runs is in the input subset
    echo "sanitize: TSan build: $(took)"
    start
    # The CPU executor's thread pool is ours (instrumented); OMP_NUM_THREADS only sets its size.
    tsan_status=0
    OMP_NUM_THREADS=2 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
      "$prefix-tsan/tests/posenet_tests_input" --no-intro -tc="public api: detectors from several threads,file_io*,stream: *,vulkan lanes*" ||
      tsan_status=1
    echo "sanitize: TSan tests: $(took), $([ $tsan_status = 0 ] && echo passed || echo FAILED)"
    [ $tsan_status = 0 ] || status=1
  else
    echo "sanitize: the TSan build failed ($(took))"; status=1
  fi
fi
echo "sanitize: $([ $status = 0 ] && echo passed || echo FAILED)"
exit $status
