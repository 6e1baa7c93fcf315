#!/usr/bin/env python3
"""Prints the poses PoseNet finds in a photo, with the public Python API only.

    PYTHONPATH=build/python python3 examples/python/estimate.py [IMAGE] [--model M.pnb] [--max-poses N]

IMAGE defaults to the sample photo .cache/images/astronaut.png, the model to $POSENET_MODEL or
.cache/models/mobilenet-float-075-stride16.pnb (both made by ./run.sh demo).
"""

import argparse
import os
import pathlib
import sys

import posenet

ROOT = pathlib.Path(__file__).resolve().parents[2]

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("image", nargs="?", default=ROOT / ".cache/images/astronaut.png")
parser.add_argument("--model", default=os.environ.get("POSENET_MODEL") or ROOT / ".cache/models/mobilenet-float-075-stride16.pnb")
parser.add_argument("--max-poses", type=int, default=1)
parser.add_argument("--backend", default="auto", choices=["auto", "cpu", "vulkan"])
args = parser.parse_args()

try:
    detector = posenet.create_detector(args.model, backend=args.backend)
    image = posenet.load_image(args.image)
    poses = detector.estimate_poses(image, max_poses=args.max_poses)
except posenet.Error as e:
    sys.exit(f"estimate.py: {e}")

print(f"{args.image}: {image.shape[1]}x{image.shape[0]}, {len(poses)} pose(s) on {detector.backend} ({detector.device_name})")
for i, pose in enumerate(poses):
    print(f"pose {i} score {pose['score']:.4f}")
    for k in pose["keypoints"]:
        print(f"  {k['name']:15} x {k['x']:8.2f}  y {k['y']:8.2f}  score {k['score']:.4f}")
