#!/usr/bin/env bash
# The two things a new user does on a fresh Debian 12 machine (as root, or with sudo):
#   ./run.sh demo    set everything up, then print the poses for a sample photo
#   ./run.sh test    set everything up, then run the whole test suite (its untrusted-input part
#                    again under ASan + UBSan)
# Set-up: missing Debian packages (apt), the TF.js reference tool (npm ci), the default model
# (weights/fetch.sh, sha256-checked), the sample photo (from a Debian package, sha256-checked), build.
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
cd "$root"
cache=$root/.cache
build=${POSENET_BUILD_DIR:-$root/build}

say() { printf '== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_packages() {
  local need=(g++ meson ninja-build pkg-config cmake python3 curl ca-certificates binutils
              libvulkan-dev glslang-tools libeigen3-dev nlohmann-json3-dev doctest-dev
              libjpeg62-turbo-dev libpng-dev
              libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libavdevice-dev
              pybind11-dev python3-pybind11 python3-dev python3-mesonpy python3-numpy python3-pytest python3-venv
              python3-dask python3-distributed
              mesa-vulkan-drivers vulkan-validationlayers)
  command -v node >/dev/null && command -v npm >/dev/null || need+=(nodejs npm)
  local missing=() p
  for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

install_reference_tool() {
  if [ ! -d tools/reference/node_modules ] || [ tools/reference/package-lock.json -nt tools/reference/node_modules ]; then
    say "installing the TF.js reference tool (npm ci)"
    (cd tools/reference && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    touch tools/reference/node_modules
  fi
}

# skimage's astronaut.png (public domain, NASA), from Debian's python3-skimage package.
sample_photo=$cache/images/astronaut.png
sample_sha=88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5
fetch_sample_photo() {
  if [ -f "$sample_photo" ] && [ "$(sha256sum "$sample_photo" | cut -d' ' -f1)" = "$sample_sha" ]; then return; fi
  say "fetching the sample photo (Debian package python3-skimage)"
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download python3-skimage >/dev/null 2>&1) ||
    { as_root apt-get update -qq && (cd "$tmp" && apt-get download python3-skimage >/dev/null); }
  dpkg-deb --fsys-tarfile "$tmp"/python3-skimage_*.deb | tar -x -C "$tmp" ./usr/lib/python3/dist-packages/skimage/data/astronaut.png
  local got
  got=$(sha256sum "$tmp/usr/lib/python3/dist-packages/skimage/data/astronaut.png" | cut -d' ' -f1)
  [ "$got" = "$sample_sha" ] || { rm -rf "$tmp"; echo "run.sh: astronaut.png sha256 $got does not match the pinned $sample_sha" >&2; exit 1; }
  mkdir -p "$(dirname "$sample_photo")"
  mv "$tmp/usr/lib/python3/dist-packages/skimage/data/astronaut.png" "$sample_photo"
  rm -rf "$tmp"
}

build_project() {
  say "building ($build)"
  [ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release >/dev/null
  ninja -C "$build" >/dev/null
}

default_model=$cache/models/mobilenet-float-075-stride16.pnb
convert_default_model() {
  weights/fetch.sh
  mkdir -p "$(dirname "$default_model")"
  "$build/tools/posenet" convert "$cache/weights/mobilenet/float/075/model-stride16.json" -o "$default_model"
}

setup() {
  install_packages
  install_reference_tool
  fetch_sample_photo
  build_project
  convert_default_model
}

case "${1:-}" in
  demo)
    setup
    "$build/tools/posenet" detect "$sample_photo" --model "$default_model" --overlay "$cache/overlays"
    ;;
  test)
    setup
    say "running the tests"
    status=0
    bash tests/run_tests.sh "$build" || status=1
    say "installing into a temporary tree and building the examples against it"
    bash tests/install/test_install.sh "$build" "$default_model" "$sample_photo" || status=1
    # The untrusted-input part of the suite again under ASan + UBSan, in a build of its own
    # ($build-asan): about 20 minutes on 2 cores, where the whole suite would take about 37 (README,
    # Testing). The whole suite, and TSan on the concurrency tests: tests/sanitize.sh.
    if [ "${POSENET_TEST_SANITIZE:-1}" != 0 ]; then
      say "running the untrusted-input tests under ASan + UBSan (tests/sanitize.sh; POSENET_TEST_SANITIZE=0 skips this)"
      POSENET_SANITIZE=asan POSENET_SANITIZE_SUITE=input bash tests/sanitize.sh "$build" || status=1
    fi
    exit $status
    ;;
  *)
    echo "usage: ./run.sh demo | test" >&2
    exit 2
    ;;
esac
