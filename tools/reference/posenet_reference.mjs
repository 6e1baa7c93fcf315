#!/usr/bin/env node
// TF.js PoseNet reference tool.
//
// Runs the real @tensorflow-models/pose-detection PoseNet (pinned versions, see
// package.json) in Node on local model files and dumps its poses and the
// intermediate tensors it computes, so that the native engine can be compared
// with it. See README.md in this folder for the CLI and the output format.
//
// Nothing here re-implements PoseNet: preprocessing, inference and decoding are
// the package's own code. Tensors are captured by wrapping, at call time, the
// package's internal module exports (convertImageToTensor, decodeSinglePose,
// decodeMultiplePoses) and the GraphModel's predict(); the wrappers copy the
// data and then call the original functions with the original arguments.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));

const USAGE = `usage: node posenet_reference.mjs --model PATH/model-strideN.json
         --architecture MobileNetV1|ResNet50 --output-stride 8|16|32
         --input-resolution N|WxH --multiplier 0.5|0.75|1.0 --quant-bytes 1|2|4
         [--max-poses N] [--score-threshold S] [--nms-radius R] [--flip]
         [--backend cpu|wasm] [--runs N] [--allow-unlisted-stride]
         --out DIR IMAGE...
images: PNG (pngjs), JPEG (jpeg-js), binary PPM (P6) / PGM (P5).`;

class UsageError extends Error {}

function fail(msg, code = 1) {
  process.stderr.write(`posenet_reference: error: ${msg}\n`);
  process.exit(code);
}

// ---------------------------------------------------------------- CLI parsing
function parseArgs(argv) {
  const o = {
    model: null, architecture: null, outputStride: null, inputResolution: null,
    multiplier: null, quantBytes: null, maxPoses: 1, scoreThreshold: undefined,
    nmsRadius: undefined, flip: false, backend: 'cpu', runs: 1, out: null,
    allowUnlistedStride: false, images: [],
  };
  const need = (i, name) => {
    if (i + 1 >= argv.length) throw new UsageError(`${name} needs a value`);
    return argv[i + 1];
  };
  const num = (s, name) => {
    const v = Number(s);
    if (s.trim() === '' || !Number.isFinite(v)) throw new UsageError(`${name}: not a number: '${s}'`);
    return v;
  };
  const int = (s, name) => {
    const v = num(s, name);
    if (!Number.isInteger(v)) throw new UsageError(`${name}: not an integer: '${s}'`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--model': o.model = need(i, a); i++; break;
      case '--architecture': o.architecture = need(i, a); i++; break;
      case '--output-stride': o.outputStride = int(need(i, a), a); i++; break;
      case '--input-resolution': {
        const s = need(i, a); i++;
        const m = /^(\d+)(?:x(\d+))?$/.exec(s);
        if (!m) throw new UsageError(`${a}: expected N or WxH, got '${s}'`);
        const w = Number(m[1]);
        const h = m[2] === undefined ? w : Number(m[2]);
        if (w < 1 || h < 1) throw new UsageError(`${a}: must be positive`);
        o.inputResolution = { width: w, height: h };
        break;
      }
      case '--multiplier': o.multiplier = num(need(i, a), a); i++; break;
      case '--quant-bytes': o.quantBytes = int(need(i, a), a); i++; break;
      case '--max-poses': o.maxPoses = int(need(i, a), a); i++; break;
      case '--score-threshold': o.scoreThreshold = num(need(i, a), a); i++; break;
      case '--nms-radius': o.nmsRadius = num(need(i, a), a); i++; break;
      case '--flip': o.flip = true; break;
      case '--backend': o.backend = need(i, a); i++; break;
      case '--runs': o.runs = int(need(i, a), a); i++; break;
      case '--out': o.out = need(i, a); i++; break;
      case '--allow-unlisted-stride': o.allowUnlistedStride = true; break;
      case '-h': case '--help': process.stdout.write(USAGE + '\n'); process.exit(0); break;
      default:
        if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
        o.images.push(a);
    }
  }
  for (const [k, flag] of [['model', '--model'], ['architecture', '--architecture'],
    ['outputStride', '--output-stride'], ['inputResolution', '--input-resolution'],
    ['multiplier', '--multiplier'], ['quantBytes', '--quant-bytes'], ['out', '--out']]) {
    if (o[k] == null) throw new UsageError(`missing ${flag}`);
  }
  if (!['MobileNetV1', 'ResNet50'].includes(o.architecture)) {
    throw new UsageError(`--architecture must be MobileNetV1 or ResNet50, got '${o.architecture}'`);
  }
  if (![8, 16, 32].includes(o.outputStride)) throw new UsageError('--output-stride must be 8, 16 or 32');
  if (![0.5, 0.75, 1.0].includes(o.multiplier)) throw new UsageError('--multiplier must be 0.5, 0.75 or 1.0');
  if (![1, 2, 4].includes(o.quantBytes)) throw new UsageError('--quant-bytes must be 1, 2 or 4');
  if (!['cpu', 'wasm'].includes(o.backend)) throw new UsageError('--backend must be cpu or wasm');
  if (o.maxPoses < 1) throw new UsageError('--max-poses must be >= 1');
  if (o.runs < 1) throw new UsageError('--runs must be >= 1');
  if (o.images.length === 0) throw new UsageError('no input images');
  return o;
}

// ------------------------------------------------------------- image decoding
// Returns {width, height, rgb: Uint8Array(H*W*3), format, channelsInFile}.
function decodeImage(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read image '${file}': ${e.message}`);
  }
  const sig = buf.subarray(0, 8);
  try {
    if (sig.length >= 8 && sig[0] === 0x89 && sig[1] === 0x50 && sig[2] === 0x4e && sig[3] === 0x47) {
      const { PNG } = require('pngjs');
      // pngjs always returns 8-bit RGBA (grey expanded, 16-bit rescaled, palette expanded).
      const png = PNG.sync.read(buf);
      const n = png.width * png.height;
      const rgb = new Uint8Array(n * 3);
      for (let i = 0; i < n; i++) {
        rgb[3 * i] = png.data[4 * i];
        rgb[3 * i + 1] = png.data[4 * i + 1];
        rgb[3 * i + 2] = png.data[4 * i + 2];
      }
      return { width: png.width, height: png.height, rgb, format: 'png',
        note: 'pngjs 8-bit RGBA, alpha dropped (not composited)' };
    }
    if (sig.length >= 3 && sig[0] === 0xff && sig[1] === 0xd8 && sig[2] === 0xff) {
      const jpeg = require('jpeg-js');
      const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false });
      return { width: img.width, height: img.height, rgb: new Uint8Array(img.data.buffer,
        img.data.byteOffset, img.width * img.height * 3), format: 'jpeg', note: 'jpeg-js' };
    }
    if (sig.length >= 2 && sig[0] === 0x50 && (sig[1] === 0x36 || sig[1] === 0x35)) {
      return decodePnm(buf);
    }
  } catch (e) {
    throw new Error(`cannot decode image '${file}': ${e.message}`);
  }
  throw new Error(`cannot decode image '${file}': not PNG, JPEG, P6 PPM or P5 PGM`);
}

// Binary PPM (P6) / PGM (P5). maxval 255 is taken as is; any other maxval
// (1..65535; >255 is 2 bytes big-endian) is rescaled to round(v*255/maxval).
function decodePnm(buf) {
  const magic = String.fromCharCode(buf[0], buf[1]);
  let pos = 2;
  const fields = [];
  while (fields.length < 3) {
    // skip whitespace and comments
    while (pos < buf.length) {
      const c = buf[pos];
      if (c === 0x23) { while (pos < buf.length && buf[pos] !== 0x0a && buf[pos] !== 0x0d) pos++; }
      else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c) pos++;
      else break;
    }
    let s = '';
    while (pos < buf.length && buf[pos] >= 0x30 && buf[pos] <= 0x39) s += String.fromCharCode(buf[pos++]);
    if (s === '') throw new Error(`${magic}: malformed header`);
    fields.push(Number(s));
  }
  pos++; // exactly one whitespace byte after maxval
  const [width, height, maxval] = fields;
  if (width < 1 || height < 1 || maxval < 1 || maxval > 65535) throw new Error(`${magic}: bad header values`);
  const ch = magic === 'P6' ? 3 : 1;
  const bps = maxval > 255 ? 2 : 1;
  const need = width * height * ch * bps;
  if (buf.length - pos < need) throw new Error(`${magic}: truncated pixel data (${buf.length - pos} < ${need} bytes)`);
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) {
      const k = i * ch + (ch === 3 ? c : 0);
      let v = bps === 2 ? (buf[pos + 2 * k] << 8) | buf[pos + 2 * k + 1] : buf[pos + k];
      if (maxval !== 255) v = Math.round(Math.min(v, maxval) * 255 / maxval);
      rgb[3 * i + c] = v;
    }
  }
  return { width, height, rgb, format: magic === 'P6' ? 'ppm' : 'pgm',
    note: ch === 1 ? 'grey expanded to RGB' : 'binary PPM' };
}

// ----------------------------------------------------------------- model I/O
// The model is loaded through tfjs-core's own HTTP loader (tf.io.http), with a
// fetch function that reads the local files: the manifest and shard handling are
// exactly tfjs's, and no socket is opened.
function localFetch(url) {
  const file = String(url);
  // tfjs does not check response.ok for weight shards, so a missing file must
  // reject here rather than come back as a 404.
  return fs.promises.readFile(file).then(
    (data) => new Response(data, { status: 200 }),
    (e) => { throw new Error(`cannot read model file '${file}': ${e.code || e.message}`); });
}

function writeF32(file, data) {
  const f = data instanceof Float32Array ? data : Float32Array.from(data);
  // Node runs little-endian on every supported target; assert it anyway.
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('big-endian host');
  fs.writeFileSync(file, Buffer.from(f.buffer, f.byteOffset, f.byteLength));
}

function median(a) {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// ---------------------------------------------------------------------- main
async function main() {
  let opt;
  try {
    opt = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) { process.stderr.write(`posenet_reference: error: ${e.message}\n${USAGE}\n`); process.exit(2); }
    throw e;
  }
  const modelPath = path.resolve(opt.model);
  if (!fs.existsSync(modelPath) || !fs.statSync(modelPath).isFile()) fail(`model file not found: ${modelPath}`);
  try {
    const j = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
    if (j.format !== 'graph-model') fail(`${modelPath}: format is '${j.format}', expected 'graph-model'`);
  } catch (e) {
    fail(`${modelPath}: not a readable model.json: ${e.message}`);
  }
  for (const f of opt.images) {
    if (!fs.existsSync(f)) fail(`image not found: ${f}`);
  }

  // All package code is loaded as CommonJS (the packages' "main" entries), so the
  // module objects patched below are the very ones the detector calls into.
  const tf = require('@tensorflow/tfjs-core');
  require('@tensorflow/tfjs-converter');
  require('@tensorflow/tfjs-backend-cpu');
  const poseDetection = require('@tensorflow-models/pose-detection');
  const PD = (p) => require(`@tensorflow-models/pose-detection/dist/${p}`);
  const pdVersion = PD('version.js').version;
  const convertMod = PD('shared/calculators/convert_image_to_tensor.js');
  const singleMod = PD('posenet/calculators/decode_single_pose.js');
  const multiMod = PD('posenet/calculators/decode_multiple_poses.js');
  const pnConstants = PD('posenet/constants.js');

  let wasmInfo = null;
  if (opt.backend === 'wasm') {
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
    wasm.setWasmPaths(wasmDir + path.sep);
    wasmInfo = { wasmDir, version: wasm.version_wasm };
  }
  tf.env().set('PROD', true); // no debug checks; does not change numerics
  let ok;
  try {
    ok = await tf.setBackend(opt.backend);
  } catch (e) {
    fail(`cannot initialise backend '${opt.backend}': ${e && e.message ? e.message : e}`);
  }
  if (!ok) fail(`cannot initialise backend '${opt.backend}'`);
  await tf.ready();
  if (opt.backend === 'wasm') {
    wasmInfo.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    wasmInfo.multithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    try { wasmInfo.threads = require('@tensorflow/tfjs-backend-wasm').getThreadsCount(); } catch { /* older API */ }
  }

  // pose-detection's own table only lists MobileNetV1 strides [8,16] and
  // ResNet50 [16]; the detector itself supports 8/16/32. Widen the table on
  // request only (the PosenetDetector constructor still checks 8/16/32).
  if (opt.allowUnlistedStride) {
    pnConstants.VALID_STRIDE = { MobileNetV1: [8, 16, 32], ResNet50: [16, 32] };
  }

  const modelConfig = {
    architecture: opt.architecture,
    outputStride: opt.outputStride,
    inputResolution: { width: opt.inputResolution.width, height: opt.inputResolution.height },
    multiplier: opt.multiplier,
    quantBytes: opt.quantBytes,
    modelUrl: tf.io.http(modelPath, { fetchFunc: localFetch }),
  };
  let detector;
  try {
    detector = await poseDetection.createDetector(poseDetection.SupportedModels.PoseNet, modelConfig);
  } catch (e) {
    fail(`cannot load PoseNet from ${modelPath}: ${e && e.message ? e.message : e}`);
  }
  const graphModel = detector.posenetModel;
  const outputNames = graphModel.outputNodes.slice();
  const inputNames = graphModel.inputNodes.slice();
  // The package reads predict() results by position.
  const roleByIndex = opt.architecture === 'ResNet50'
    ? ['displacement_fwd', 'displacement_bwd', 'offsets', 'heatmap_logits']
    : ['offsets', 'heatmap_logits', 'displacement_fwd', 'displacement_bwd'];

  // ------------------------------------------------------------ capture hooks
  let cap = null; // non-null while a capturing run is in progress
  const grab = (t) => ({ shape: t.shape.slice(), dtype: t.dtype, data: t.dataSync().slice() });

  const origConvert = convertMod.convertImageToTensor;
  convertMod.convertImageToTensor = function (...args) {
    const r = origConvert.apply(this, args);
    if (cap) {
      cap.resized = grab(r.imageTensor);
      cap.padding = { ...r.padding };
      cap.transformationMatrix = r.transformationMatrix;
      cap.convertConfig = { ...args[1], outputTensorSize: { ...args[1].outputTensorSize } };
    }
    return r;
  };
  const origPredict = graphModel.predict;
  graphModel.predict = function (inputs, config) {
    if (cap) cap.input = grab(inputs);
    const r = origPredict.call(this, inputs, config);
    if (cap) cap.outputs = (Array.isArray(r) ? r : [r]).map(grab);
    return r;
  };
  const origSingle = singleMod.decodeSinglePose;
  singleMod.decodeSinglePose = function (heatmapScores, offsets, outputStride) {
    if (cap) {
      cap.decoder = 'decodeSinglePose';
      cap.decoderArgs = { outputStride };
      cap.heatmap = grab(heatmapScores);
      cap.offsets = grab(offsets);
    }
    return origSingle.apply(this, arguments);
  };
  const origMulti = multiMod.decodeMultiplePoses;
  multiMod.decodeMultiplePoses = function (heatmapScores, offsets, dFwd, dBwd, outputStride, maxPoses, scoreThreshold, nmsRadius) {
    if (cap) {
      cap.decoder = 'decodeMultiplePoses';
      cap.decoderArgs = { outputStride, maxPoses, scoreThreshold, nmsRadius };
      cap.heatmap = grab(heatmapScores);
      cap.offsets = grab(offsets);
      cap.displacementFwd = grab(dFwd);
      cap.displacementBwd = grab(dBwd);
    }
    return origMulti.apply(this, arguments);
  };

  const estimationConfig = () => {
    const c = { maxPoses: opt.maxPoses, flipHorizontal: opt.flip };
    if (opt.scoreThreshold !== undefined) c.scoreThreshold = opt.scoreThreshold;
    if (opt.nmsRadius !== undefined) c.nmsRadius = opt.nmsRadius;
    return c;
  };

  fs.mkdirSync(opt.out, { recursive: true });
  const summary = {
    tool: 'posenet_reference.mjs',
    versions: {
      'pose-detection': pdVersion, 'tfjs-core': tf.version_core,
      'tfjs-backend-wasm': wasmInfo ? wasmInfo.version : null, node: process.version,
    },
    backend: tf.getBackend(),
    wasm: wasmInfo,
    model: modelPath,
    modelConfig: { ...modelConfig, modelUrl: modelPath },
    effectiveInputResolution: { ...detector.inputResolution },
    estimationConfig: estimationConfig(),
    // What the package fills in (validateEstimationConfig: multi-pose defaults
    // scoreThreshold 0.5, nmsRadius 20).
    effectiveEstimationConfig: PD('posenet/detector_utils.js').validateEstimationConfig(estimationConfig()),
    graph: { inputs: inputNames, outputs: outputNames, outputRoles: roleByIndex },
    images: [],
  };
  if (opt.allowUnlistedStride) summary.allowUnlistedStride = true;

  const res = detector.inputResolution;
  for (let idx = 0; idx < opt.images.length; idx++) {
    const imgPath = opt.images[idx];
    let img;
    try {
      img = decodeImage(imgPath);
    } catch (e) {
      fail(e.message);
    }
    const dir = path.join(opt.out, String(idx));
    fs.mkdirSync(dir, { recursive: true });
    // pose-detection takes a tensor3d [H, W, C] as is (toImageTensor passes
    // tensors through) and would carry a 4th channel into the model: feed RGB.
    const imageTensor = tf.tensor3d(Int32Array.from(img.rgb), [img.height, img.width, 3], 'int32');

    // Capturing run (also the warm-up).
    cap = {};
    let posesCaptured;
    try {
      posesCaptured = await detector.estimatePoses(imageTensor, estimationConfig());
    } catch (e) {
      fail(`estimatePoses failed on '${imgPath}': ${e && e.message ? e.message : e}`);
    }
    const c = cap;
    cap = null;

    // Timed runs, hooks idle (they only test `cap`).
    const times = [];
    let posesTimed = null;
    for (let r = 0; r < opt.runs; r++) {
      const t0 = performance.now();
      posesTimed = await detector.estimatePoses(imageTensor, estimationConfig());
      times.push(performance.now() - t0);
    }
    imageTensor.dispose();
    const sameAsTimed = JSON.stringify(posesTimed) === JSON.stringify(posesCaptured);

    // Sanity: heatmap grid must match the stride the decoder is told.
    const [hh, hw] = c.heatmap.shape;
    const eh = Math.floor((res.height - 1) / opt.outputStride) + 1;
    const ew = Math.floor((res.width - 1) / opt.outputStride) + 1;
    if (hh !== eh || hw !== ew) {
      fail(`heatmap is ${hh}x${hw} but input ${res.height}x${res.width} at --output-stride ` +
        `${opt.outputStride} implies ${eh}x${ew}: the model file's stride differs from --output-stride`);
    }

    // Tensors as the package computes them.
    const squeeze0 = (t) => ({ ...t, shape: t.shape[0] === 1 ? t.shape.slice(1) : t.shape });
    const byRole = {};
    c.outputs.forEach((t, i) => { byRole[roleByIndex[i]] = squeeze0(t); });
    const files = {};
    const dump = (name, t, desc) => {
      writeF32(path.join(dir, name), t.data);
      files[name] = { shape: t.shape, dtype: 'float32', layout: desc };
    };
    fs.writeFileSync(path.join(dir, 'rgb.u8'), Buffer.from(img.rgb.buffer, img.rgb.byteOffset, img.rgb.byteLength));
    files['rgb.u8'] = { shape: [img.height, img.width, 3], dtype: 'uint8', layout: 'HWC RGB' };
    dump('resized.f32', c.resized, 'NHWC, letterboxed+resized RGB in 0..255, before the value shift');
    dump('input.f32', c.input, 'NHWC, model input after the value shift');
    dump('heatmap.f32', c.heatmap, 'HWC, sigmoid scores as passed to the decoder');
    dump('heatmap_logits.f32', byRole.heatmap_logits, 'HWC, raw model output');
    dump('offsets.f32', c.offsets, 'HWC, ch k = dy of keypoint k, 17+k = dx');
    dump('displacement_fwd.f32', c.displacementFwd || byRole.displacement_fwd, 'HWC, ch e = dy of edge e, 16+e = dx');
    dump('displacement_bwd.f32', c.displacementBwd || byRole.displacement_bwd, 'HWC, ch e = dy of edge e, 16+e = dx');

    const result = {
      image: path.resolve(imgPath),
      imageFormat: img.format,
      decodeNote: img.note,
      width: img.width,
      height: img.height,
      inputResolution: { ...res },
      padding: c.padding,
      backend: tf.getBackend(),
      decoder: c.decoder,
      decoderArgs: c.decoderArgs,
      poses: posesCaptured.map((p) => ({
        score: p.score,
        keypoints: p.keypoints.map((k) => ({ x: k.x, y: k.y, score: k.score, name: k.name })),
      })),
      modelOutputs: c.outputs.map((t, i) => ({ index: i, name: outputNames[i], role: roleByIndex[i], shape: t.shape })),
      files,
      timing: {
        what: 'wall ms of one estimatePoses() call (preprocess + predict + decode), after one warm-up call on the same image',
        backend: tf.getBackend(),
        runs: times.length,
        ms: times,
        msMin: Math.min(...times),
        msMedian: median(times),
      },
      timedRunPosesIdentical: sameAsTimed,
    };
    fs.writeFileSync(path.join(dir, 'result.json'), JSON.stringify(result, null, 2) + '\n');
    summary.images.push({
      index: idx, dir: String(idx), image: result.image, width: img.width, height: img.height,
      numPoses: result.poses.length, scores: result.poses.map((p) => p.score),
      msMedian: result.timing.msMedian,
    });
    const top = result.poses[0];
    process.stdout.write(`[${idx}] ${imgPath} ${img.width}x${img.height} -> ${result.poses.length} pose(s)` +
      (top ? `, score ${top.score.toFixed(5)}` : '') +
      `, estimatePoses ${result.timing.msMedian.toFixed(1)} ms (${tf.getBackend()}, median of ${times.length})\n`);
  }
  fs.writeFileSync(path.join(opt.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  detector.dispose();
}

main().then(
  () => process.exit(0),
  (e) => fail(e && e.stack ? e.stack : String(e)));
