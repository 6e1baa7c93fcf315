#!/usr/bin/env bash
# Our CPU paths beside TF.js's wasm and cpu backends on the same model, image and machine, in one run,
# with ratios (ours / TF.js: below 1 means we are faster). Absolute times on a shared machine drift
# from minute to minute; the ratios within one run are the figures to read.
#
#   bench/peers_cpu.sh [options] MODEL IMAGE
#     MODEL  a TF.js model-strideN.json, or the folder holding one (e.g. .cache/weights/mobilenet/float/075)
#     IMAGE  PNG, JPEG or binary PPM/PGM (e.g. .cache/images/astronaut.png)
#   --sizes "257 513"    input resolutions (default "257 513")
#   --threads "1 2"      OMP_NUM_THREADS values for our default backend (default: 1 and the core count)
#   --runs N             timed estimatePoses calls per measurement (default 20), after 5 warm-up calls
#   --tfjs-cpu-runs N    for TF.js's cpu backend, ~1-2 s a call (default 3; 0 skips it)
#   --vulkan-runs N      for `--backend vulkan` (lavapipe where there is no GPU: seconds a call; default 2; 0 skips)
#   --build DIR          our build folder (default <repo>/build)
#   --ort-peer DIR       the ONNX Runtime peer (ort_cpu_peer.mjs, its ONNX files and node_modules; default
#                        <repo>/../shared/peers/ort_cpu; see its README: npm ci --ignore-scripts in a copy)
#   --isas "avx2 avx512" our CPU kernel sets timed against ONNX Runtime (default: every set this CPU runs
#                        above the baseline; "baseline" may be named too)
#   --rounds N           ours and ONNX Runtime alternate N times per size and thread count (default 3)
#   --network-only       only the network table (ours against ONNX Runtime): no TF.js, no estimatePoses
#
# Network only, against ONNX Runtime 1.30 (CPU, MLAS; MobileNetV1 0.75 stride 16 at 257 and 513 only):
# ms of one network run (median), ours from `posenet bench --backend cpu` (CpuExecutor::run on a float
# input: the network and the copy of its outputs), ORT from session.run in the same process as its
# timer. Each round runs ours with each kernel set, then ORT; the ratio ours / ORT is taken per round
# and its median and range over the rounds are printed (below 0.8 meets issue 12's target).
#
# Every figure is the median wall time of one estimatePoses call (8-bit image in memory -> poses:
# preprocessing, network, single-pose decoding), batch 1. TF.js: tools/reference/posenet_reference.mjs
# (pinned TF.js; run `npm ci` in tools/reference once), its first calls dropped as warm-up. Ours:
# `posenet bench --quick`, its default backend (the CPU executor where the only Vulkan device is a
# software one), once per thread count, once with $POSENET_CPU_KERNELS=baseline (the kernels built for
# baseline x86-64, one thread), and with --backend vulkan.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
sizes="257 513"
threads="1 $(nproc)"
runs=20
warmup=5
tfjs_cpu_runs=3
vulkan_runs=2
ort_peer=$root/../shared/peers/ort_cpu
isas=
rounds=3
network_only=0
die() { echo "peers_cpu.sh: error: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

args=()
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) sizes=${2:?}; shift 2 ;;
    --threads) threads=${2:?}; shift 2 ;;
    --runs) runs=${2:?}; shift 2 ;;
    --tfjs-cpu-runs) tfjs_cpu_runs=${2:?}; shift 2 ;;
    --vulkan-runs) vulkan_runs=${2:?}; shift 2 ;;
    --build) build=${2:?}; shift 2 ;;
    --ort-peer) ort_peer=${2:?}; shift 2 ;;
    --isas) isas=${2:?}; shift 2 ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    --network-only) network_only=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) args+=("$1"); shift ;;
  esac
done
[ ${#args[@]} -eq 2 ] || { usage >&2; exit 2; }
model=${args[0]} image=${args[1]}
threads=$(tr ' ' '\n' <<<"$threads" | awk 'NF && !seen[$0]++' | tr '\n' ' ')

if [ -d "$model" ]; then
  shopt -s nullglob
  found=("$model"/model-stride*.json)
  shopt -u nullglob
  [ ${#found[@]} -eq 1 ] || die "$model: expected one model-stride*.json, found ${#found[@]}; name the file"
  model=${found[0]}
fi
[ -f "$model" ] || die "$model: no such model file"
[ -f "$image" ] || die "$image: no such image"
posenet=$build/tools/posenet
reference=$root/tools/reference/posenet_reference.mjs
[ -x "$posenet" ] || die "$posenet not built (meson setup $build && ninja -C $build)"
[ "$network_only" = 1 ] || [ -d "$root/tools/reference/node_modules" ] ||
  die "the TF.js reference tool is not installed (cd tools/reference && npm ci)"
command -v node >/dev/null || die "node not found"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# json FILE EXPR: evaluates a JS expression over the parsed file `d`.
json() { node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const v = eval(process.argv[2]); console.log(v === undefined || v === null ? "" : v)' "$1" "$2"; }

# ours JSON VAR=VALUE... POSENET BENCH-ARGS...: runs `posenet bench` (which writes JSON) under env;
# prints the median estimatePoses ms.
ours() {
  local out=$1; shift
  local log=$tmp/log
  if ! env "$@" >"$log" 2>&1; then cat "$log" >&2; die "posenet bench failed"; fi
  json "$out" '(d.estimate_poses_us.p50 / 1000).toFixed(2)'
}

# tfjs BACKEND SIZE RUNS: ms of estimatePoses, median of the calls after the warm-up.
tfjs() {
  local backend=$1 size=$2 n=$3 skip
  [ "$backend" = wasm ] && skip=$warmup || skip=0
  local out=$tmp/tfjs-$backend-$size
  if ! node "$reference" --model "$model" --architecture "$arch" --output-stride "$stride" --input-resolution "$size" \
      --multiplier "$mult" --quant-bytes "$quant" --backend "$backend" --runs $((n + skip)) --out "$out" "$image" \
      >"$tmp/log" 2>&1; then
    cat "$tmp/log" >&2; die "the TF.js reference tool failed"
  fi
  json "$out/0/result.json" "(() => { const t = d.timing.ms.slice($skip).sort((a, b) => a - b); const m = t.length >> 1;
    return (t.length % 2 ? t[m] : (t[m - 1] + t[m]) / 2).toFixed(2); })()"
}

# The model as our loader reads it (architecture, multiplier, stride) and its quantization.
env OMP_NUM_THREADS=1 "$posenet" bench --model "$model" --backend cpu --runs 1 --warmup 0 --quick --image "$image" \
  --json "$tmp/probe.json" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; die "posenet bench failed on $model"; }
arch=$(json "$tmp/probe.json" d.architecture)
mult=$(json "$tmp/probe.json" d.multiplier)
stride=$(json "$tmp/probe.json" d.output_stride)
quant=$(json "$model" '(() => { const q = (d.weightsManifest || []).flatMap(g => g.weights || [])
  .map(w => w.quantization && w.quantization.dtype).find(Boolean); return q === "uint8" ? 1 : q === "uint16" ? 2 : 4; })()')
isa=$("$posenet" devices 2>/dev/null | sed -n 's/^CPU executor kernels: \([a-z0-9]*\).*/\1/p' || true)
auto=$("$posenet" devices 2>/dev/null | sed -n 's/^--backend auto: \([a-z]*\).*/\1/p' || true)
vkdev=$("$posenet" devices 2>/dev/null | sed -n '1s/^0: \([^(]*\).*/\1/p' | sed 's/ *$//' || true)
cpu_name=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)

echo "PoseNet $arch $mult stride $stride, quantBytes $quant: $model"
echo "image $image; ${cpu_name:-CPU}, $(nproc) cores; our default backend: ${auto:-?} (CPU kernels ${isa:-?})"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)"
[ "$network_only" = 1 ] || echo "ms per estimatePoses (median); ratio = ours / TF.js (below 1: we are faster)"
[ "$network_only" = 1 ] && sizes_e2e= || sizes_e2e=$sizes
for size in $sizes_e2e; do
  rows=()
  wasm=$(tfjs wasm "$size" "$runs")
  rows+=("TF.js wasm (SIMD, 1 thread)|$wasm")
  common=(--model "$model" --input-resolution "$size" --runs "$runs" --warmup "$warmup" --quick --image "$image")
  for t in $threads; do
    ms=$(ours "$tmp/ours.json" OMP_NUM_THREADS="$t" "$posenet" bench "${common[@]}" --json "$tmp/ours.json")
    be=$(json "$tmp/ours.json" d.backend)
    rows+=("ours, default backend ($be${isa:+, $isa}), $t thread(s)|$ms")
  done
  ms=$(ours "$tmp/ours.json" OMP_NUM_THREADS=1 POSENET_CPU_KERNELS=baseline "$posenet" bench "${common[@]}" --backend cpu \
       --json "$tmp/ours.json")
  rows+=("ours, cpu (baseline x86-64 kernels), 1 thread|$ms")
  cpu_ms=
  if [ "$tfjs_cpu_runs" -gt 0 ]; then
    cpu_ms=$(tfjs cpu "$size" "$tfjs_cpu_runs")
    rows+=("TF.js cpu|$cpu_ms")
  fi
  if [ "$vulkan_runs" -gt 0 ]; then
    ms=$(ours "$tmp/ours.json" "$posenet" bench --model "$model" --input-resolution "$size" --runs "$vulkan_runs" --warmup 1 \
         --quick --image "$image" --backend vulkan --json "$tmp/ours.json")
    rows+=("ours, --backend vulkan (${vkdev:-?})|$ms")
  fi
  echo
  printf '%dx%d %-52s %10s %10s %10s\n' "$size" "$size" "" "ms" "/ wasm" "/ TF.js cpu"
  for r in "${rows[@]}"; do
    label=${r%|*} ms=${r##*|}
    case $label in
      TF.js*) printf '  %-58s %10s\n' "$label" "$ms" ;;
      *) printf '  %-58s %10s %10s %10s\n' "$label" "$ms" "$(awk -v a="$ms" -v b="$wasm" 'BEGIN { printf "%.3f", a / b }')" \
           "$([ -n "$cpu_ms" ] && awk -v a="$ms" -v b="$cpu_ms" 'BEGIN { printf "%.4f", a / b }' || echo -)" ;;
    esac
  done
done

# ---- network only: ours (each kernel set) against ONNX Runtime, alternating ----
if [ -z "$isas" ]; then
  case $isa in
    avx512) isas="avx2 avx512" ;;
    avx2) isas="avx2" ;;
    *) isas="baseline" ;;
  esac
fi
ort_ok=1
if [ ! -f "$ort_peer/ort_cpu_peer.mjs" ]; then
  ort_ok=0; ort_why="no ONNX Runtime peer at $ort_peer (--ort-peer DIR)"
elif [ ! -d "$ort_peer/node_modules/onnxruntime-node" ]; then
  ort_ok=0; ort_why="$ort_peer has no node_modules (copy it and run npm ci --ignore-scripts --no-audit --no-fund there, then --ort-peer COPY)"
elif [ "$arch" != MobileNetV1 ] || [ "$stride" != 16 ] || [ "$quant" != 4 ] || ! awk -v m="$mult" 'BEGIN { exit !(m == 0.75) }'; then
  ort_ok=0; ort_why="its ONNX files are MobileNetV1 0.75 stride 16 float; this model is $arch $mult stride $stride quantBytes $quant"
fi
median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "Network only, ms per run (median of $runs runs; medians over $rounds rounds alternating ours and ORT)"
[ "$ort_ok" = 1 ] || echo "  SKIP ONNX Runtime: $ort_why"
for size in $sizes; do
  size_ort=$ort_ok
  if [ "$ort_ok" = 1 ] && [ ! -f "$ort_peer/posenet_mobilenet075_s16_$size.onnx" ]; then
    size_ort=0; echo "  SKIP ONNX Runtime at $size: no posenet_mobilenet075_s16_$size.onnx in $ort_peer"
  fi
  for t in $threads; do
    declare -A ms=()
    ort_all= ; ratios=()
    for r in $(seq "$rounds"); do
      for k in $isas; do
        env OMP_NUM_THREADS="$t" POSENET_CPU_KERNELS="$k" "$posenet" bench --model "$model" --input-resolution "$size" \
          --backend cpu --runs "$runs" --warmup "$warmup" --quick --image "$image" --json "$tmp/net.json" >"$tmp/log" 2>&1 ||
          { cat "$tmp/log" >&2; die "posenet bench failed"; }
        got=$(json "$tmp/net.json" 'd.device')
        [ "$got" = "cpu ($k)" ] || die "asked for CPU kernels $k, got $got (not built or not supported here)"
        ms[$k]="${ms[$k]:-} $(json "$tmp/net.json" '(d.throughput[0].wall_us.p50 / 1000).toFixed(3)')"
      done
      if [ "$size_ort" = 1 ]; then
        o=$(node "$ort_peer/ort_cpu_peer.mjs" "$size" "$t" "$runs" 2>"$tmp/log" | tail -1) || { cat "$tmp/log" >&2; die "the ONNX Runtime peer failed"; }
        o=$(node -e 'console.log(JSON.parse(process.argv[1]).median_ms)' "$o")
        ort_all="$ort_all $o"
        for k in $isas; do
          last=$(echo ${ms[$k]} | awk '{ print $NF }')
          ratios+=("$k $(awk -v a="$last" -v b="$o" 'BEGIN { printf "%.3f", a / b }')")
        done
      fi
    done
    printf '  %dx%d, %d thread(s):\n' "$size" "$size" "$t"
    ort_med=$(echo $ort_all | median)
    for k in $isas; do
      m=$(echo ${ms[$k]} | median)
      if [ -n "$ort_med" ]; then
        rs=$(for x in "${ratios[@]}"; do set -- $x; if [ "$1" = "$k" ]; then echo "$2"; fi; done | tr '\n' ' ')
        printf '    %-28s %9s ms   ours/ORT %s (rounds: %s)\n' "ours, cpu ($k)" "$m" "$(echo $rs | median)" "$(echo $rs)"
      else
        printf '    %-28s %9s ms\n' "ours, cpu ($k)" "$m"
      fi
    done
    [ -z "$ort_med" ] || printf '    %-28s %9s ms   (rounds: %s)\n' "ONNX Runtime 1.30 (MLAS)" "$ort_med" "$(echo $ort_all)"
    unset ms
  done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)"
