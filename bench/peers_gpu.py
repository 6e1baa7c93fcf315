#!/usr/bin/env python3
"""Runs `posenet bench` and the PyTorch/cuDNN peer (../shared/peers/torch_posenet.py) on the same GPU in
one run and prints both side by side with ratios (peer time / our time: > 1 means we are faster).

Both sides time the network alone on the GPU: ours is the sum of per-layer timestamps, the peer's a
CUDA graph replay between CUDA events; per image at batch > 1. Our wall time (upload + GPU + readback)
and estimatePoses end to end are printed beside them. Needs a GPU, PyTorch and a build:

    python3 bench/peers_gpu.py --shared ../shared [--runs 200] [--sizes 257,513] [--batches 1,16]
"""
import argparse, json, os, re, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, **kw):
    print('+', ' '.join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, text=True, stdout=subprocess.PIPE, **kw).stdout


def torch_peer(shared, model, synth, sizes, batches):
    """{(mode, size, batch): us per image} from the peer's cudagraph column."""
    cmd = [sys.executable, os.path.join(shared, 'peers', 'torch_posenet.py'), model, '--sizes', sizes, '--batches', batches]
    if synth:
        cmd.append('--synth')
    out = run(cmd)
    sys.stderr.write(out)
    res = {}
    for line in out.splitlines():
        m = re.match(r'(\S+)\s+size\s+(\d+)\s+batch\s+(\d+):.*cudagraph\s+([\d.]+) us\s+\(\s*([\d.]+) us/img\)', line)
        if m:
            res[(m.group(1), int(m.group(2)), int(m.group(3)))] = float(m.group(5))
    return res


def ours(posenet, model, size, batches, runs, tmp, full, precision):
    out = os.path.join(tmp, f'bench-{os.path.basename(model)}-{size}-{precision}.json')
    cmd = [posenet, 'bench', '--model', model, '--backend', 'vulkan', '--input-resolution', str(size), '--batch', batches,
           '--runs', str(runs), '--warmup', '20', '--precision', precision, '--json', out]
    if not full:
        cmd.append('--quick')
    sys.stderr.write(run(cmd))
    return json.load(open(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--shared', default=os.path.join(ROOT, '..', 'shared'))
    ap.add_argument('--build', default=os.path.join(ROOT, 'build'))
    ap.add_argument('--runs', type=int, default=200)
    ap.add_argument('--sizes', default='257,513')
    ap.add_argument('--batches', default='1,16')
    ap.add_argument('--precisions', default='fp32,fp16', help='ours: fp32 and/or fp16 (tensor cores)')
    ap.add_argument('--json', help='write every figure here')
    args = ap.parse_args()
    posenet = os.path.join(args.build, 'tools', 'posenet')
    make_model = os.path.join(args.build, 'tools', 'posenet-make-test-model')
    models = os.path.join(args.shared, 'models', 'posenet')
    tmp = tempfile.mkdtemp(prefix='posenet-peers-')

    # MobileNetV1 0.75 stride 16 (the official float weights) and ResNet50 stride 32 (synthetic weights of
    # the official topology on both sides: time does not depend on the values).
    mobilenet_json = os.path.join(models, 'mobilenet', 'float', '075', 'model-stride16.json')
    mobilenet = os.path.join(tmp, 'mobilenet.pnb')
    run([posenet, 'convert', mobilenet_json, '-o', mobilenet])
    run([make_model, '--architecture', 'ResNet50', '--output-stride', '32', '--multiplier', '1.0', '-o', os.path.join(tmp, 'r32')])
    resnet = os.path.join(tmp, 'resnet50-s32.pnb')
    run([posenet, 'convert', os.path.join(tmp, 'r32', 'model-stride32.json'), '-o', resnet])
    configs = [('MobileNetV1 0.75 s16', mobilenet, mobilenet_json, False),
               ('ResNet50 s32', resnet, os.path.join(models, 'resnet50-topology-only', 'quant2-model-stride32.json'), True)]

    rows, everything = [], {}
    for label, model, peer_model, synth in configs:
        peer = torch_peer(args.shared, peer_model, synth, args.sizes, args.batches)
        for i, size in enumerate(int(s) for s in args.sizes.split(',')):
            for precision in args.precisions.split(','):
                o = ours(posenet, model, size, args.batches, args.runs, tmp, full=(i == 0 and precision == 'fp32'), precision=precision)
                everything[f'{label} {size} {precision}'] = {
                    'ours': o, 'peer': {f'{k[0]} {k[1]} {k[2]}': v for k, v in peer.items() if k[1] == size}}
                for t in o['throughput']:
                    b = t['batch']
                    gpu = t['gpu_us']['p50'] / b
                    wall = t['wall_us']['p50'] / b
                    e2e = o['estimate_poses_us']['p50'] if b == 1 else None
                    p = {m: peer.get((m, size, b)) for m in ('fp32', 'tf32', 'fp16-cl')}
                    rows.append((label, size, b, precision, gpu, wall, e2e, p))

    print(f"\nsame GPU, same run: {everything[next(iter(everything))]['ours'].get('device', '?')}")
    print('| model | input | batch | ours | ours GPU us/img | ours wall us/img | ours estimatePoses us | PyTorch fp32 | TF32 | fp16 | '
          'PyTorch fp32 / ours | PyTorch fp16 / ours |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|')
    f = lambda v: f'{v:.1f}' if v is not None else '-'
    for label, size, b, precision, gpu, wall, e2e, p in rows:
        r32 = p['fp32'] / gpu if p['fp32'] else None
        r16 = p['fp16-cl'] / gpu if p['fp16-cl'] else None
        print(f"| {label} | {size} | {b} | {precision} | {gpu:.1f} | {wall:.1f} | {f(e2e)} | {f(p['fp32'])} | {f(p['tf32'])} | {f(p['fp16-cl'])} "
              f"| {f(r32)}x | {f(r16)}x |")
    if args.json:
        json.dump(everything, open(args.json, 'w'), indent=1)


if __name__ == '__main__':
    main()
