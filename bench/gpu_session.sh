#!/usr/bin/env bash
# One session of every GPU measurement the docs quote, in one go, each step bounded in time and its
# output kept in OUT as it goes (a step that fails or runs out of time does not stop the others):
#   bench/gpu_session.sh BUILD OUT SHARED [steps...]
# steps (default all, in this order): devices tests peers device1 soak dask; also dask-sweep, plots
#   devices  `posenet devices`
#   tests    the Vulkan, stream and public-API tests with the validation layer on
#   peers    bench/peers_gpu.py: ours beside PyTorch/cuDNN on the same GPU (docs/PERFORMANCE.md)
#   device1  `posenet bench --device 1` where a second GPU exists (device selection)
#   soak     bench posenet-soak: 100000 frames through one PoseStream, RSS sampled
#   dask     python3 -m posenet.dask over the shared photos repeated: 1 GPU, 2 workers on 1 GPU,
#            2 GPUs (when there are two), against the single-process stream (docs/SCALING.md)
#   dask-sweep  workers per GPU and decoding threads per worker, 1 and 2 GPUs, 3 runs each
#   plots    `posenet bench --plot`: per-layer bars and roofline of MobileNetV1 0.75 s16 and ResNet50
#            s32 (synthetic weights, as in peers), 257, batch 1 and 16, fp32 and fp16, as OUT/plots/*.svg
#            (docs/PERFORMANCE.md, "Per-layer plots"); ceilings: the device's known ones, or
#            PEAK_GFLOPS and PEAK_GBPS when set
# Needs: BUILD with tools, tests and bench; PYTHON_PATH_EXTRA (optional) where `posenet` the Python
# package and dask live; SHARED the ../shared folder (models, images, peers).
set -uo pipefail
build=$(cd "${1:?usage: bench/gpu_session.sh BUILD OUT SHARED [steps]}" && pwd)
out=${2:?OUT}
shared=$(cd "${3:?SHARED}" && pwd)
shift 3
steps=${*:-devices tests peers device1 soak dask}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$out"
posenet=$build/tools/posenet
model=$out/mobilenet-075-s16.pnb
"$posenet" convert "$shared/models/posenet/mobilenet/float/075/model-stride16.json" -o "$model" >/dev/null || exit 1

step() {  # step NAME SECONDS COMMAND...: runs COMMAND with its output in OUT/NAME.log
    local name=$1 limit=$2
    shift 2
    local t0=$SECONDS
    timeout --kill-after=10 "$limit" "$@" >"$out/$name.log" 2>&1
    local rc=$?
    echo "$name: exit $rc in $((SECONDS - t0)) s" | tee -a "$out/steps.txt"
}

gpus=$("$posenet" devices 2>/dev/null | grep -c -i 'nvidia\|amd\|intel' || true)
for s in $steps; do
    case $s in
    devices) step devices 30 "$posenet" devices ;;
    tests)
        step tests 240 env POSENET_VULKAN_VALIDATION=1 POSENET_SHARED_DIR="$shared" "$build/tests/posenet_tests" --no-intro \
            -tc='*vulkan*,*stream*,*public api*,*pipeline parity*,*bench CLI*,*lane*' ;;
    peers)
        step peers 300 python3 "$root/bench/peers_gpu.py" --shared "$shared" --build "$build" --runs 100 \
            --sizes 257,513 --batches 1,16 --json "$out/peers.json" ;;
    device1)
        if [ "$gpus" -ge 2 ]; then
            step device1 60 "$posenet" bench --model "$model" --backend vulkan --device 1 --quick --json "$out/device1.json"
        fi ;;
    plots)
        peaks=()
        if [ -n "${PEAK_GFLOPS:-}" ]; then peaks=(--peak-gflops "$PEAK_GFLOPS" --peak-gbps "${PEAK_GBPS:?PEAK_GBPS goes with PEAK_GFLOPS}"); fi
        "$build/tools/posenet-make-test-model" --architecture ResNet50 --output-stride 32 --multiplier 1.0 -o "$out/r32" >/dev/null &&
            "$posenet" convert "$out/r32/model-stride32.json" -o "$out/resnet50-s32.pnb" >/dev/null
        mkdir -p "$out/plots"
        for p in fp32 fp16; do
            for m in "mobilenet:$model" "resnet50:$out/resnet50-s32.pnb"; do
                for b in 1 16; do
                    name=${m%%:*}_257_b${b}_$p
                    step "plot-$name" 180 "$posenet" bench --model "${m#*:}" --backend vulkan --precision "$p" --batch "$b" --quick \
                        --runs 100 --warmup 20 --stream-frames 20 "${peaks[@]}" --plot "$out/plots/$name.svg" --json "$out/plots/$name.json"
                done
            done
        done ;;
    soak)
        step soak 180 "$build/bench/posenet-soak" "$model" 100000 --backend vulkan --samples 20 --json "$out/soak.json" ;;
    dask)
        # distributed 2022.12 (Debian 12) reads the GPU through NVML at start-up and fails with
        # nvidia-ml-py >= 12 ('str' object has no attribute 'decode'); posenet needs none of it.
        export DASK_DISTRIBUTED__DIAGNOSTICS__NVML=False
        photos=$(mktemp -d)
        for k in $(seq -w 0 99); do for f in "$shared"/images/people/*.jpg "$shared"/images/people/*.png; do
            [ -f "$f" ] && ln -sf "$f" "$photos/rep$k-$(basename "$f")"; done; done
        echo "dask: $(ls "$photos" | wc -l) images" | tee -a "$out/steps.txt"
        # the single-process stream over the same photos, decoded ahead (the peer of the Dask runs)
        step dask-stream 120 "$posenet" bench --model "$model" --backend vulkan --quick --json "$out/dask-stream.json"
        for p in fp16 fp32; do
            common=(--backend vulkan --precision "$p" --model "$model" "$photos" --partition-size 256 --batch-size 16 --no-progress --force)
            step "dask-1gpu-$p" 150 python3 -m posenet.dask --workers 1 --devices 0 "${common[@]}" --out "$out/dask-1gpu-$p"
            step "dask-2on1gpu-$p" 150 python3 -m posenet.dask --workers 2 --devices 0,0 "${common[@]}" --out "$out/dask-2on1gpu-$p"
            if [ "$gpus" -ge 2 ]; then
                step "dask-2gpu-$p" 150 python3 -m posenet.dask --workers 2 --devices 0,1 "${common[@]}" --out "$out/dask-2gpu-$p"
            fi
            # every image's poses in the multi-worker runs equal the one-worker run's
            for other in "$out/dask-2on1gpu-$p" "$out/dask-2gpu-$p"; do
                [ -d "$other" ] && python3 -c '
import sys, posenet.dask as d
key = lambda r: r["path"]
a = sorted(d.read_results(sys.argv[1]), key=key); b = sorted(d.read_results(sys.argv[2]), key=key)
same = len(a) == len(b) and all(x == y for x, y in zip(a, b))
verdict = "equal" if same else "DIFFERENT"
print(f"{sys.argv[2]}: {len(b)} results, {verdict} to {sys.argv[1]} ({len(a)})")
' "$out/dask-1gpu-$p" "$other" 2>&1 | tee -a "$out/steps.txt"
            done
            rm -rf "$out"/dask-*-"$p"/shards
        done
        rm -rf "$photos" ;;
    dask-sweep)
        # where one GPU's and two GPUs' throughput go: workers per GPU and host decoding threads,
        # three runs each over 7000 photos (fp16)
        export DASK_DISTRIBUTED__DIAGNOSTICS__NVML=False
        photos=$(mktemp -d)
        for k in $(seq -w 0 199); do for f in "$shared"/images/people/*.jpg "$shared"/images/people/*.png; do
            [ -f "$f" ] && ln -sf "$f" "$photos/rep$k-$(basename "$f")"; done; done
        echo "dask-sweep: $(ls "$photos" | wc -l) images" | tee -a "$out/steps.txt"
        while read -r name devices threads; do
            [ "$gpus" -lt 2 ] && [[ $devices == *1* ]] && continue
            for run in 1 2 3; do
                rm -rf "$out/sweep"
                step "sweep-$name-$run" 120 python3 -m posenet.dask --devices "$devices" --decode-threads "$threads" \
                    --backend vulkan --precision fp16 --model "$model" "$photos" --partition-size 256 --batch-size 16 \
                    --no-progress --force --out "$out/sweep"
                echo "sweep $name devices=$devices decode-threads=$threads run $run: $(grep -o '[0-9.]* images/s' "$out/sweep-$name-$run.log")" |
                    tee -a "$out/steps.txt"
            done
        done <<'CONFIGS'
1gpu-1w-8t 0 8
1gpu-1w-16t 0 16
1gpu-2w-8t 0,0 8
2gpu-2w-8t 0,1 8
1gpu-2w-15t 0,0 15
2gpu-2w-15t 0,1 15
1gpu-4w-7t 0,0,0,0 7
2gpu-4w-7t 0,0,1,1 7
CONFIGS
        rm -rf "$photos" "$out/sweep" ;;
    *) echo "unknown step $s" | tee -a "$out/steps.txt" ;;
    esac
done
