#!/usr/bin/env bash
# Installs the build into a temporary tree and consumes it as a user would, through the installed
# files only: every public header compiles alone (and names nothing of engine/ or Vulkan), the C
# example builds with pkg-config, the C++ example with CMake's find_package(posenet), the Python
# example runs from the installed package, the installed CLI runs; then a parent project uses the
# source tree as a meson subproject. Prints "install: N passed, N failed" and exits non-zero on failure.
#   tests/install/test_install.sh BUILD_DIR MODEL.pnb PHOTO
set -uo pipefail
build=$(cd "${1:?usage: test_install.sh BUILD_DIR MODEL.pnb PHOTO}" && pwd)
model=${2:?model}
photo=${3:?photo}
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
run() {  # run NAME COMMAND...: ok when it exits 0, else its output is shown
  local name=$1; shift
  if out=$("$@" 2>&1); then ok "$name"; else bad "$name"; printf '%s\n' "$out" | tail -20; fi
}

# The build's own prefix, staged under $work/root (DESTDIR); the tree is relocatable, so consumers
# point at the staged prefix.
if ! meson install -C "$build" --destdir "$work/root" --no-rebuild >"$work/install.log" 2>&1; then
  bad "meson install"; tail -20 "$work/install.log"; echo "install: $passed passed, $failed failed"; exit 1
fi
prefix_in_build=$(meson introspect "$build" --buildoptions | python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
libdir_rel=$(meson introspect "$build" --buildoptions | python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"))')
prefix=$work/root$prefix_in_build
libdir=$prefix/$libdir_rel
inc=$prefix/include
ok "meson install into $prefix"

# What a user gets.
for f in "$inc/posenet/detector.h" "$inc/posenet/posenet.h" "$inc/posenet/version.h" "$libdir/pkgconfig/posenet.pc" \
         "$libdir/cmake/posenet/posenetConfig.cmake" "$libdir/cmake/posenet/posenetConfigVersion.cmake" "$prefix/bin/posenet"; do
  [ -f "$f" ] && ok "installed ${f#"$prefix"/}" || bad "missing ${f#"$prefix"/}"
done
so=$(ls "$libdir"/libposenet.so.* 2>/dev/null | head -1)
if [ -n "$so" ] && readelf -d "$so" | grep -q 'SONAME.*libposenet\.so\.[0-9]'; then ok "libposenet.so has a SONAME"; else bad "libposenet.so missing or without SONAME"; fi
[ -f "$libdir/libposenet.a" ] && ok "static libposenet.a installed" || bad "static libposenet.a missing"
# Exported: the public API only (C functions and posenet:: symbols); nothing of posenet::engine.
if [ -n "$so" ]; then
  exported=$(nm -D --defined-only "$so" | awk '{print $3}')
  leaks=$(printf '%s\n' "$exported" | c++filt | grep -E 'posenet::engine|nlohmann|Eigen' | head -5)
  [ -z "$leaks" ] && ok "no engine, json or Eigen symbols exported" || bad "internal symbols exported: $leaks"
  printf '%s\n' "$exported" | grep -qx 'posenet_detector_create' && ok "C API exported" || bad "posenet_detector_create not exported"
  # Every function posenet.h declares (POSENET_API ... name(), is exported.
  declared=$(grep -oE '^POSENET_API [^(]*\b(posenet_[a-z0-9_]+)\(' "$src/posenet/posenet.h" | grep -oE 'posenet_[a-z0-9_]+\(' | tr -d '(' | sort -u)
  missing=$(comm -23 <(printf '%s\n' "$declared") <(printf '%s\n' "$exported" | sort -u) | tr '\n' ' ')
  [ -n "$declared" ] && [ -z "$missing" ] && ok "all $(wc -w <<<"$declared") C API functions exported (streams included)" || bad "C API functions not exported: ${missing:-none declared?}"
fi

# Each public header alone, against the installed tree only.
for h in "$inc"/posenet/*.h; do
  name=posenet/$(basename "$h")
  if grep -nE '#include *[<"](engine/|vulkan/)' "$h" >/dev/null; then bad "$name includes engine/ or Vulkan"; continue; fi
  run "$name compiles alone (C++20)" c++ -std=c++20 -Wall -Wextra -Werror -fsyntax-only -I"$inc" -x c++ - <<<"#include <$name>"
done
for h in posenet/posenet.h posenet/version.h posenet/export.h; do
  run "$h compiles alone (C99 -pedantic)" cc -std=c99 -Wall -Wextra -Werror -pedantic -fsyntax-only -I"$inc" -x c - <<<"#include <$h>
int posenet_header_test;"
done

export PKG_CONFIG_PATH=$libdir/pkgconfig
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
pc_flags=$(pkg-config --define-variable=prefix="$prefix" --cflags --libs posenet)
run "pkg-config --modversion posenet" pkg-config --modversion posenet

# C example with pkg-config.
mkdir -p "$work/c"
run "C example builds (pkg-config)" cc -std=c99 -Wall -Wextra -Werror -pedantic "$src/examples/c/estimate.c" $pc_flags -o "$work/c/estimate"
if out=$("$work/c/estimate" "$model" "$photo" 2>&1) && grep -q 'nose' <<<"$out"; then ok "C example prints poses"; else bad "C example"; printf '%s\n' "$out" | tail -5; fi

# C++ example with CMake.
if command -v cmake >/dev/null; then
  run "C++ example configures (find_package)" cmake -S "$src/examples/cpp" -B "$work/cpp" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release
  run "C++ example builds" cmake --build "$work/cpp"
  if out=$("$work/cpp/estimate" "$model" "$photo" 2>&1) && grep -q 'nose' <<<"$out"; then ok "C++ example prints poses"; else bad "C++ example"; printf '%s\n' "$out" | tail -5; fi
  if grep -rq -- "-I$src\|$src/posenet" "$work/cpp/CMakeFiles" 2>/dev/null; then bad "C++ example reached into the source tree"; else ok "C++ example used the installed tree only"; fi
else
  bad "cmake is not installed"
fi

# Python example from the installed package.
pydir=$(ls -d "$prefix"/lib/python3*/*-packages 2>/dev/null | head -1)
if [ -n "$pydir" ] && [ -d "$pydir/posenet" ]; then
  if out=$(cd "$work" && PYTHONPATH=$pydir /usr/bin/python3 "$src/examples/python/estimate.py" --model "$model" "$photo" 2>&1) && grep -q 'nose' <<<"$out"; then
    ok "Python example prints poses (installed package)"
  else
    bad "Python example"; printf '%s\n' "$out" | tail -5
  fi
else
  echo "SKIP Python example: the build has no Python package (-Dpython)"
fi

# The installed CLI, and its default-model search naming the places it looked.
run "installed CLI detects" "$prefix/bin/posenet" detect --backend cpu --model "$model" "$photo"
if out=$(cd "$work" && env -u POSENET_MODEL HOME="$work/home" XDG_DATA_HOME= "$prefix/bin/posenet" detect "$photo" 2>&1); then
  bad "installed CLI without a model should fail"
elif grep -q 'looked in' <<<"$out" && grep -q "$work/home/.local/share/posenet/models" <<<"$out"; then
  ok "installed CLI names where it looked for the default model"
else
  bad "installed CLI default-model message"; printf '%s\n' "$out"
fi
mkdir -p "$work/home/.local/share/posenet/models"
cp "$model" "$work/home/.local/share/posenet/models/mobilenet-float-075-stride16.pnb"
run "installed CLI finds the default model in the user's data folder" env -u POSENET_MODEL HOME="$work/home" XDG_DATA_HOME= \
    "$prefix/bin/posenet" detect --backend cpu --input-resolution 257 "$photo"

# A meson subproject: dependency('posenet') from a parent, without our tests, tools or installs.
if [ "${POSENET_SKIP_SUBPROJECT_TEST:-0}" != 1 ]; then
  parent=$work/parent
  mkdir -p "$parent/subprojects"
  ln -s "$src" "$parent/subprojects/posenet"
  cat >"$parent/meson.build" <<'MESON'
project('parent', 'cpp', default_options : ['cpp_std=c++20'])
posenet = dependency('posenet', fallback : ['posenet', 'posenet_dep'])
executable('parent_app', 'main.cpp', dependencies : posenet, install : true)
MESON
  cat >"$parent/main.cpp" <<'CPP'
#include <posenet/detector.h>
#include <cstdio>
int main(int argc, char** argv) {
    posenet::ModelConfig config;
    config.model = argv[1];
    posenet::DetectorOptions options;
    options.backend = posenet::Backend::Cpu;
    posenet::PoseDetector detector(config, options);
    auto poses = detector.estimate_poses(posenet::load_image(argv[2]).view());
    std::printf("%s %zu %s\n", posenet::version(), poses.size(), std::string(poses.at(0).keypoints[0].name).c_str());
}
CPP
  if (cd "$parent" && env -u PKG_CONFIG_PATH meson setup build --buildtype=release --force-fallback-for=posenet >"$work/sub.log" 2>&1 &&
      ninja -C build >>"$work/sub.log" 2>&1); then
    ok "parent project builds with posenet as a subproject"
    if out=$("$parent/build/parent_app" "$model" "$photo" 2>&1) && grep -q 'nose' <<<"$out"; then ok "parent app runs"; else bad "parent app"; echo "$out"; fi
    programs=$(meson introspect "$parent/build" --targets | python3 -c 'import json,sys; print(" ".join(sorted(t["name"] for t in json.load(sys.stdin) if t["type"] in ("executable", "shared module"))))')
    if [ "$programs" != parent_app ]; then
      bad "subproject dragged in tests, tools or Python: $programs"
    else
      ok "subproject builds only the library"
    fi
    installs=$(meson introspect "$parent/build" --installed | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin).values()))')
    if grep -q posenet <<<"$installs"; then bad "subproject installs files: $installs"; else ok "subproject installs nothing of its own"; fi
  else
    bad "parent project with posenet as a subproject"; tail -20 "$work/sub.log"
  fi
fi

echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
