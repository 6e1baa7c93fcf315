#!/usr/bin/env node
// TF.js temporal reference: pose-detection's own trackers and keypoint smoothing filters over a
// sequence of frames, for parity tests of posenet/tracking.h and posenet/smoothing.h.
//
// Nothing here re-implements the package: the trackers (dist/calculators/keypoint_tracker.js,
// bounding_box_tracker.js), the config merging (dist/movenet/detector_utils.js), the defaults
// (dist/movenet/constants.js, dist/blazepose_tfjs/constants.js) and the filter
// (dist/shared/filters/keypoints_smoothing.js) are the package's modules, required from its dist/
// (plain CommonJS without tfjs). What is ours, as in the C++ library (posenet/tracking.h): the
// normalization of PoseNet's pixel keypoints (x / width, y / height), the box a PoseNet pose gets
// (poseBox below), and the per-track filter map, written as MoveNet's estimateMultiplePoses writes it.
// See README.md in this folder for the input and output formats.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import process from 'node:process';

const require = createRequire(import.meta.url);
const PD = (p) => require(`@tensorflow-models/pose-detection/dist/${p}`);

const USAGE = `usage: node temporal_reference.mjs [--out OUT.json] IN.json|-
       node temporal_reference.mjs --defaults [--out OUT.json]`;

function fail(msg, code = 1) {
  process.stderr.write(`temporal_reference: error: ${msg}\n`);
  process.exit(code);
}

const { KeypointTracker } = PD('calculators/keypoint_tracker.js');
const { BoundingBoxTracker } = PD('calculators/bounding_box_tracker.js');
const { KeypointsSmoothingFilter } = PD('shared/filters/keypoints_smoothing.js');
const movenetConstants = PD('movenet/constants.js');
const movenetUtils = PD('movenet/detector_utils.js');
const blazeposeConstants = PD('blazepose_tfjs/constants.js');

// Named smoothing configs (KeypointsSmoothingConfig objects) as the package defines them.
const SMOOTHING_CONFIGS = {
  moveNetKeypointFilter: { oneEuroFilter: movenetConstants.KEYPOINT_FILTER_CONFIG },
  blazePoseLandmarksActual: blazeposeConstants.BLAZEPOSE_LANDMARKS_SMOOTHING_CONFIG_ACTUAL,
  blazePoseLandmarksAuxiliary: blazeposeConstants.BLAZEPOSE_LANDMARKS_SMOOTHING_CONFIG_AUXILIARY,
  blazePoseWorldLandmarksActual: blazeposeConstants.BLAZEPOSE_WORLD_LANDMARKS_SMOOTHING_CONFIG_ACTUAL,
};

// Ours (posenet/tracking.h pose_box): the box around the keypoints with score > threshold, or around
// all of them when none passes.
function poseBox(keypoints, threshold) {
  const any = keypoints.some((k) => k.score > threshold);
  const used = any ? keypoints.filter((k) => k.score > threshold) : keypoints;
  const xMin = Math.min(...used.map((k) => k.x));
  const xMax = Math.max(...used.map((k) => k.x));
  const yMin = Math.min(...used.map((k) => k.y));
  const yMax = Math.max(...used.map((k) => k.y));
  return { xMin, yMin, xMax, yMax, width: xMax - xMin, height: yMax - yMin };
}

// As MoveNet's validateModelConfig does: the package's default, or the user's fields merged over it.
function makeTracker(spec) {
  if (spec == null) return null;
  if (spec.type === 'keypoint') {
    const config = spec.config == null ? movenetConstants.DEFAULT_KEYPOINT_TRACKER_CONFIG
                                       : movenetUtils.mergeKeypointTrackerConfig(spec.config);
    return new KeypointTracker(config);
  }
  if (spec.type === 'boundingBox') {
    const config = spec.config == null ? movenetConstants.DEFAULT_BOUNDING_BOX_TRACKER_CONFIG
                                       : movenetUtils.mergeBoundingBoxTrackerConfig(spec.config);
    return new BoundingBoxTracker(config);
  }
  throw new Error(`tracker.type: expected keypoint or boundingBox, got '${spec.type}'`);
}

function smoothingConfig(spec) {
  if (typeof spec.config === 'string') {
    const c = SMOOTHING_CONFIGS[spec.config];
    if (c == null) throw new Error(`smoothing.config: unknown name '${spec.config}'`);
    return c;
  }
  return spec.config;
}

function run(input) {
  const tracker = makeTracker(input.tracker);
  // Capture each frame's similarity matrix: the wrapper calls the tracker's own method unchanged.
  let similarity = null;
  if (tracker) {
    const computeSimilarity = tracker.computeSimilarity.bind(tracker);
    tracker.computeSimilarity = (poses) => (similarity = computeSimilarity(poses));
  }
  const smoothing = input.smoothing == null ? null : {
    config: smoothingConfig(input.smoothing),
    space: input.smoothing.space ?? 'normalized',
  };
  if (smoothing && !['normalized', 'image'].includes(smoothing.space))
    throw new Error(`smoothing.space: expected normalized or image, got '${smoothing.space}'`);
  const boxScoreThreshold = input.boxScoreThreshold ?? 0.3;
  const keypointFilterMap = new Map();  // MoveNet's, keyed by track id (-1: untracked)

  const frames = [];
  for (const frame of input.frames) {
    const { timestamp, imageSize } = frame;
    const poses = frame.poses.map((p) => {
      const keypoints = p.keypoints.map((k) => ({ x: k.x / imageSize.width, y: k.y / imageSize.height,
                                                  score: k.score, name: k.name }));
      return { score: p.score, keypoints, box: poseBox(keypoints, boxScoreThreshold) };
    });
    similarity = null;
    if (tracker) tracker.apply(poses, timestamp);
    const out = { ids: poses.map((p) => p.id ?? -1) };
    if (tracker) {
      out.similarity = similarity;
      out.trackIds = [...tracker.getTrackIDs()];
    }
    if (smoothing) {
      // movenet/detector.js estimateMultiplePoses, with KeypointsSmoothingFilter for
      // KeypointsOneEuroFilter (the same filter for {oneEuroFilter}: apply(k, t) = filter.apply(k, t, 1)).
      for (const pose of poses) {
        const id = pose.id ?? -1;
        if (!keypointFilterMap.has(id)) keypointFilterMap.set(id, new KeypointsSmoothingFilter(smoothing.config));
        const filter = keypointFilterMap.get(id);
        pose.keypoints = smoothing.space === 'normalized'
            ? filter.apply(pose.keypoints, timestamp)
            : filter.apply(pose.keypoints, timestamp, imageSize, true,
                           { xCenter: pose.box.xMin + pose.box.width / 2, yCenter: pose.box.yMin + pose.box.height / 2,
                             width: pose.box.width, height: pose.box.height });
      }
      if (tracker) {
        const trackIDs = tracker.getTrackIDs();
        keypointFilterMap.forEach((_, trackID) => {
          if (!trackIDs.has(trackID)) keypointFilterMap.delete(trackID);
        });
      }
      out.filterIds = [...keypointFilterMap.keys()].sort((a, b) => a - b);
    }
    out.poses = poses.map((p) => ({
      id: p.id ?? -1,
      box: p.box,
      keypoints: p.keypoints.map((k) => [k.x, k.y]),
      // MoveNet's keypoints[j].x *= imageSize.width, in doubles.
      pixels: p.keypoints.map((k) => [k.x * imageSize.width, k.y * imageSize.height]),
    }));
    frames.push(out);
  }
  return { frames };
}

function defaults() {
  return {
    DEFAULT_KEYPOINT_TRACKER_CONFIG: movenetConstants.DEFAULT_KEYPOINT_TRACKER_CONFIG,
    DEFAULT_BOUNDING_BOX_TRACKER_CONFIG: movenetConstants.DEFAULT_BOUNDING_BOX_TRACKER_CONFIG,
    KEYPOINT_FILTER_CONFIG: movenetConstants.KEYPOINT_FILTER_CONFIG,
    BLAZEPOSE_LANDMARKS_SMOOTHING_CONFIG_ACTUAL: blazeposeConstants.BLAZEPOSE_LANDMARKS_SMOOTHING_CONFIG_ACTUAL,
    BLAZEPOSE_LANDMARKS_SMOOTHING_CONFIG_AUXILIARY: blazeposeConstants.BLAZEPOSE_LANDMARKS_SMOOTHING_CONFIG_AUXILIARY,
    BLAZEPOSE_WORLD_LANDMARKS_SMOOTHING_CONFIG_ACTUAL: blazeposeConstants.BLAZEPOSE_WORLD_LANDMARKS_SMOOTHING_CONFIG_ACTUAL,
  };
}

function main(argv) {
  let out = null, input = null, wantDefaults = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') {
      if (i + 1 >= argv.length) fail('--out needs a value', 2);
      out = argv[++i];
    } else if (a === '--defaults') {
      wantDefaults = true;
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE + '\n');
      return;
    } else if (input == null && (a === '-' || !a.startsWith('--'))) {
      input = a;
    } else {
      fail(`unexpected argument '${a}'\n${USAGE}`, 2);
    }
  }
  if (!wantDefaults && input == null) fail(`no input\n${USAGE}`, 2);
  let result;
  try {
    result = wantDefaults ? defaults()
                          : run(JSON.parse(fs.readFileSync(input === '-' ? 0 : input, 'utf8')));
  } catch (e) {
    fail(e.message);
  }
  const text = JSON.stringify(result) + '\n';
  if (out) fs.writeFileSync(out, text);
  else process.stdout.write(text);
}

main(process.argv.slice(2));
