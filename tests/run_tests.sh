#!/usr/bin/env bash
# Runs the whole test suite from a build folder and ends with the line 'N passed, N failed'.
#   [POSENET_TEST_BINARY=posenet_tests_input] tests/run_tests.sh BUILD_DIR [doctest options...]
# Two parts: the doctest binary, then the Python package's pytest suite (python/tests) where the
# build has the Python module; the last line sums both. $PYTHON picks the interpreter (default
# /usr/bin/python3, the one meson builds the module for).
set -uo pipefail
build=${1:?usage: tests/run_tests.sh BUILD_DIR [doctest options]}
shift
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "$build" && pwd)
log=$(mktemp)
# Vulkan tests run with the Khronos validation layer; any message fails them.
export POSENET_VULKAN_VALIDATION=${POSENET_VULKAN_VALIDATION:-1}
"$build/tests/${POSENET_TEST_BINARY:-posenet_tests}" --no-intro "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
summary=$(grep -E '^\[doctest\] test cases:' "$log" | tail -1)
passed=$(sed -E 's/.*\| *([0-9]+) passed.*/\1/' <<<"$summary")
failed=$(sed -E 's/.*\| *([0-9]+) failed.*/\1/' <<<"$summary")
skipped=$(sed -E 's/.*\| *([0-9]+) skipped.*/\1/' <<<"$summary")
[[ $passed =~ ^[0-9]+$ ]] || { rm -f "$log"; echo "tests: the test binary printed no summary (exit $status)"; exit 1; }

# The Python package: from the build tree (PYTHONPATH), with the CLI of the same build as its C++
# reference; the default model and ../shared as the C++ tests find them (skips name what is absent).
python=${PYTHON:-/usr/bin/python3}
if ! compgen -G "$build/python/posenet/_posenet*.so" >/dev/null; then
    echo "SKIP python tests: the module was not built in $build (meson -Dpython=enabled; needs pybind11)"
elif ! "$python" -c 'import numpy, pytest' 2>/dev/null; then
    echo "SKIP python tests: $python lacks numpy or pytest"
else
    (cd "$root" && PYTHONPATH="$build/python" PYTHONDONTWRITEBYTECODE=1 POSENET_BUILD_DIR="$build" \
        POSENET_TEST_MODEL="${POSENET_TEST_MODEL:-$root/.cache/models/mobilenet-float-075-stride16.pnb}" \
        POSENET_SHARED_DIR="${POSENET_SHARED_DIR:-$(dirname "$root")/shared}" \
        "$python" -m pytest -q -rs -p no:cacheprovider python/tests) 2>&1 | tee "$log"
    py_status=${PIPESTATUS[0]}
    py_summary=$(grep -E '^=* *[0-9]+ (passed|failed|skipped|error)' "$log" | tail -1)
    count() { grep -oE "[0-9]+ $1" <<<"$py_summary" | grep -oE '[0-9]+' || echo 0; }
    if [[ -z $py_summary ]]; then
        echo "python tests: pytest printed no summary (exit $py_status)"
        failed=$((failed + 1))
    else
        passed=$((passed + $(count passed)))
        failed=$((failed + $(count failed) + $(count error)))
        skipped=$((skipped + $(count skipped)))
    fi
    ((py_status == 0 || py_status == 5)) || ((status != 0)) || status=$py_status   # 5: no tests collected
fi
rm -f "$log"
((failed == 0 || status != 0)) || status=1
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
