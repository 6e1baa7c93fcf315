#!/usr/bin/env bash
# The test suite under sanitizers, in builds of their own:
#   ASan + UBSan: the whole doctest suite (any report fails it: halt_on_error);
#   TSan: the concurrency tests (detectors shared by threads, several detectors at once, streams, lanes).
# Prints "sanitize: ..." lines and exits non-zero on any failure.
#   tests/sanitize.sh [BUILD_PREFIX]      builds in BUILD_PREFIX-asan and BUILD_PREFIX-tsan (default build)
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
prefix=${1:-$src/build}
status=0
common=(--buildtype=debugoptimized -Dpython=disabled -Db_lundef=false -Ddefault_library=static)

configure() {  # configure DIR SANITIZERS
  [ -f "$1/build.ninja" ] || meson setup "$1" "$src" "${common[@]}" -Db_sanitize="$2" >/dev/null || return 1
  ninja -C "$1" tests/posenet_tests tools/posenet tools/posenet-make-test-model tests/c_api/posenet_c_api_test >/dev/null
}

echo "== sanitize: ASan + UBSan build ($prefix-asan)"
if configure "$prefix-asan" address,undefined; then
  # Leaks inside the Vulkan driver and loader (not ours) are suppressed; ours are not.
  supp=$(mktemp)
  printf 'leak:libvulkan\nleak:libvulkan_lvp\nleak:libLLVM\nleak:libVkLayer_khronos_validation\nleak:libgallium\nleak:dlopen\n' >"$supp"
  ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0 \
  LSAN_OPTIONS=suppressions=$supp:print_suppressions=0 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    bash "$src/tests/run_tests.sh" "$prefix-asan" || status=1
  rm -f "$supp"
else
  echo "sanitize: the ASan build failed"; status=1
fi

echo "== sanitize: TSan build ($prefix-tsan)"
if configure "$prefix-tsan" thread; then
  # OpenMP's runtime is not instrumented: the CPU executor runs one thread under TSan.
  OMP_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    "$prefix-tsan/tests/posenet_tests" --no-intro -tc="public api: detectors from several threads,file_io*,stream: *,vulkan lanes*" || status=1
else
  echo "sanitize: the TSan build failed"; status=1
fi
echo "sanitize: $([ $status = 0 ] && echo passed || echo FAILED)"
exit $status
