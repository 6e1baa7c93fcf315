#!/usr/bin/env python3
"""COCO keypoint AP of our poses and of TF.js's poses on the same images, side by side.

For each configuration this converts the TF.js model, runs `posenet eval` over the COCO annotations
file and its images, runs the pinned TF.js reference tool (tools/reference, `npm ci` first) on the same
images with the same estimation config, turns its poses into a COCO results file and passes it to
`posenet eval --reference`, so both rows come from the same evaluator. Atrous (stride 8) models run
twice: with TF.js's dilation reading (the parity default) and with the dilations the network was
trained with (`posenet convert --dilations trained`; for TF.js, the same graph with its [2,2,1,1]
dilations rewritten to [1,2,2,1], which TF.js reads as (2,2)).

    python3 bench/eval_coco.py --shared ../shared [--backend cpu] [--tfjs-backend wasm]
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd):
    print('+', ' '.join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, text=True, stdout=subprocess.PIPE).stdout


def trained_dilations_copy(model_json, tmp):
    """The graph with every [r,r,1,1] dilations attribute written as [1,r,r,1], beside links to its shards."""
    src = os.path.dirname(os.path.abspath(model_json))
    dst = os.path.join(tmp, 'trained-' + os.path.basename(src))
    os.makedirs(dst, exist_ok=True)
    m = json.load(open(model_json))
    changed = 0
    for node in m['modelTopology']['node']:
        d = node.get('attr', {}).get('dilations', {}).get('list', {}).get('i')
        if d and len(d) == 4 and d[0] == d[1] and d[0] != '1' and d[2] == '1' and d[3] == '1':
            node['attr']['dilations']['list']['i'] = ['1', d[0], d[1], '1']
            changed += 1
    for group in m['weightsManifest']:
        for p in group['paths']:
            if not os.path.exists(os.path.join(dst, p)):
                os.symlink(os.path.join(src, p), os.path.join(dst, p))
    out = os.path.join(dst, os.path.basename(model_json))
    json.dump(m, open(out, 'w'))
    return out, changed


def tfjs_results(node_model, cfg, images, id_by_name, tfjs_backend, tmp, tag):
    out = os.path.join(tmp, 'tfjs-' + tag)
    shutil.rmtree(out, ignore_errors=True)
    cmd = ['node', os.path.join(ROOT, 'tools', 'reference', 'posenet_reference.mjs'), '--model', node_model,
           '--architecture', 'MobileNetV1', '--output-stride', str(cfg['stride']), '--input-resolution', str(cfg['res']),
           '--multiplier', '0.75', '--quant-bytes', str(cfg['quant']), '--max-poses', '20', '--score-threshold', '0.1',
           '--nms-radius', '20', '--backend', tfjs_backend, '--runs', '1', '--out', out] + images
    run(cmd)
    results = []
    summary = json.load(open(os.path.join(out, 'summary.json')))
    for entry in summary['images']:
        r = json.load(open(os.path.join(out, entry['dir'], 'result.json')))
        image_id = id_by_name[os.path.basename(r['image'])]
        for p in r['poses']:
            kps = []
            for k in p['keypoints']:
                kps += [k['x'], k['y'], k['score']]
            results.append({'image_id': image_id, 'category_id': 1, 'keypoints': kps, 'score': p['score']})
    path = os.path.join(tmp, f'tfjs-{tag}.json')
    json.dump(results, open(path, 'w'))
    # The pixels TF.js decoded (its JPEG decoder is not ours), as PPM files under the annotations'
    # file names (our image loader reads the content, not the extension).
    pixels = os.path.join(tmp, f'tfjs-pixels-{tag}')
    os.makedirs(pixels, exist_ok=True)
    for entry in summary['images']:
        r = json.load(open(os.path.join(out, entry['dir'], 'result.json')))
        rgb = open(os.path.join(out, entry['dir'], 'rgb.u8'), 'rb').read()
        with open(os.path.join(pixels, os.path.basename(r['image'])), 'wb') as f:
            f.write(b'P6\n%d %d\n255\n' % (r['width'], r['height']))
            f.write(rgb)
    return path, pixels


def parse_eval(text):
    rows = {}
    for line in text.splitlines():
        m = re.match(r'(posenet|reference)\s+(-?[\d.]+(?:\s+-?[\d.]+){9})\s*$', line)
        if m:
            rows[m.group(1)] = [float(v) for v in m.group(2).split()]
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--shared', default=os.path.join(ROOT, '..', 'shared'))
    ap.add_argument('--build', default=os.path.join(ROOT, 'build'))
    ap.add_argument('--backend', default='auto', help='our backend: auto, cpu or vulkan')
    ap.add_argument('--tfjs-backend', default='wasm')
    ap.add_argument('--only', help='run the configurations whose label contains this')
    args = ap.parse_args()
    posenet = os.path.join(args.build, 'tools', 'posenet')
    models = os.path.join(args.shared, 'models', 'posenet', 'mobilenet')
    coco = os.path.join(args.shared, 'images', 'coco')
    annotations = os.path.join(coco, 'person_keypoints.json')
    ann = json.load(open(annotations))
    id_by_name = {im['file_name']: im['id'] for im in ann['images']}
    images = [os.path.join(coco, im['file_name']) for im in ann['images']]
    tmp = tempfile.mkdtemp(prefix='posenet-eval-')

    configs = [
        {'label': 'float 0.75 s16, 257', 'json': os.path.join(models, 'float', '075', 'model-stride16.json'), 'stride': 16, 'res': 257, 'quant': 4},
        {'label': 'float 0.75 s16, 513', 'json': os.path.join(models, 'float', '075', 'model-stride16.json'), 'stride': 16, 'res': 513, 'quant': 4},
        {'label': 'uint16 0.75 s16, 513', 'json': os.path.join(models, 'quant2', '075', 'model-stride16.json'), 'stride': 16, 'res': 513, 'quant': 2},
        {'label': 'uint16 0.75 s8, 513, TF.js dilations', 'json': os.path.join(models, 'quant2', '075', 'model-stride8.json'), 'stride': 8, 'res': 513, 'quant': 2},
        {'label': 'uint16 0.75 s8, 513, trained dilations', 'json': os.path.join(models, 'quant2', '075', 'model-stride8.json'), 'stride': 8, 'res': 513, 'quant': 2,
         'trained': True},
    ]
    rows = []
    for i, cfg in enumerate(configs):
        if args.only and args.only not in cfg['label']:
            continue
        tag = str(i)
        node_model = cfg['json']
        blob = os.path.join(tmp, f'model-{tag}.pnb')
        convert = [posenet, 'convert', cfg['json'], '-o', blob]
        if cfg.get('trained'):
            convert += ['--dilations', 'trained']
            node_model, changed = trained_dilations_copy(cfg['json'], tmp)
            if changed == 0:
                sys.exit(f"{cfg['json']}: no atrous dilations to rewrite")
        run(convert)
        reference, pixels = tfjs_results(node_model, cfg, images, id_by_name, args.tfjs_backend, tmp, tag)
        evaluate = [posenet, 'eval', '--model', blob, '--input-resolution', str(cfg['res']), '--backend', args.backend,
                    '--annotations', annotations, '--reference', reference, '--images']
        text = run(evaluate + [coco])
        sys.stderr.write(text)
        r = parse_eval(text)
        same_pixels = parse_eval(run(evaluate + [pixels]))['posenet']
        rows.append((cfg['label'], r['posenet'], r['reference'], same_pixels))

    print(f'\n{len(images)} COCO val2017 images, {len(ann["annotations"])} people; multi-pose, maxPoses 20, '
          f'scoreThreshold 0.1, nmsRadius 20; TF.js backend {args.tfjs_backend}')
    print('"ours" decodes the JPEG files itself (libjpeg-turbo); "ours, TF.js pixels" runs on the RGB TF.js decoded (jpeg-js).')
    print('| model, input | AP ours | AP ours, TF.js pixels | AP TF.js | AP50 ours | AP50 ours, TF.js pixels | AP50 TF.js '
          '| AP75 ours | AP75 TF.js | AR ours | AR TF.js |')
    print('|---|---|---|---|---|---|---|---|---|---|---|')
    for label, ours, ref, same in rows:
        print(f'| {label} | {ours[0]:.3f} | {same[0]:.3f} | {ref[0]:.3f} | {ours[1]:.3f} | {same[1]:.3f} | {ref[1]:.3f} '
              f'| {ours[2]:.3f} | {ref[2]:.3f} | {ours[5]:.3f} | {ref[5]:.3f} |')


if __name__ == '__main__':
    main()
