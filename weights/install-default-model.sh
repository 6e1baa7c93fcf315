#!/usr/bin/env bash
# Puts the default model where an installed `posenet` looks for it: fetches MobileNetV1 0.75 float
# stride 16 (weights/fetch.sh, sha256-checked), converts it, and writes
# ${XDG_DATA_HOME:-~/.local/share}/posenet/models/mobilenet-float-075-stride16.pnb.
#   weights/install-default-model.sh [POSENET]     POSENET: the CLI to convert with (default: posenet on PATH)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
posenet=${1:-posenet}
command -v "$posenet" >/dev/null || { echo "install-default-model: '$posenet' not found; give the posenet binary as the argument" >&2; exit 1; }
weights=${POSENET_WEIGHTS_DIR:-$(dirname "$here")/.cache/weights}
POSENET_WEIGHTS_DIR=$weights "$here/fetch.sh" mobilenet/float/075/model-stride16
dest=${XDG_DATA_HOME:-$HOME/.local/share}/posenet/models
mkdir -p "$dest"
"$posenet" convert "$weights/mobilenet/float/075/model-stride16.json" -o "$dest/mobilenet-float-075-stride16.pnb"
