#!/usr/bin/env bash
# Runs the whole test suite from a build folder and ends with the line 'N passed, N failed'.
#   tests/run_tests.sh BUILD_DIR [doctest options...]
set -uo pipefail
build=${1:?usage: tests/run_tests.sh BUILD_DIR [doctest options]}
shift
log=$(mktemp)
# Vulkan tests run with the Khronos validation layer; any message fails them.
export POSENET_VULKAN_VALIDATION=${POSENET_VULKAN_VALIDATION:-1}
"$build/tests/posenet_tests" --no-intro "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
summary=$(grep -E '^\[doctest\] test cases:' "$log" | tail -1)
rm -f "$log"
passed=$(sed -E 's/.*\| *([0-9]+) passed.*/\1/' <<<"$summary")
failed=$(sed -E 's/.*\| *([0-9]+) failed.*/\1/' <<<"$summary")
skipped=$(sed -E 's/.*\| *([0-9]+) skipped.*/\1/' <<<"$summary")
[[ $passed =~ ^[0-9]+$ ]] || { echo "tests: the test binary printed no summary (exit $status)"; exit 1; }
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
