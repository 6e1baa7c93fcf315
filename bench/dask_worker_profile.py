#!/usr/bin/env python3
"""Where a posenet.dask worker's time goes: each phase of its task loop alone, in one process, over the
same images (docs/SCALING.md, "Two GPUs"):

    python3 bench/dask_worker_profile.py MODEL IMAGE_DIR [--device N] [--batch-size 16] [--threads 8]

Phases: decoding on `threads` threads (posenet.load_image, the GIL released), estimate_poses_batch on
images decoded beforehand, building and serialising the result lines, and the task loop as a worker
runs it (decoding ahead while estimating). Prints images/s for each.
"""
import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor

import posenet
import posenet.dask as pd


def rate(n, seconds):
    return f"{n / seconds:8.1f} images/s ({seconds * 1e3 / n:.3f} ms/image)"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("images")
    ap.add_argument("--device", type=int, default=-1)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--precision", default="fp16")
    args = ap.parse_args()
    paths = sorted(os.path.join(args.images, f) for f in os.listdir(args.images))
    items = [pd.ImageItem(path=p) for p in paths]
    config = pd.JobConfig(model=args.model, model_sha256="", backend="vulkan", precision=args.precision)
    detector = posenet.create_detector(args.model, backend="vulkan", device=args.device, precision=args.precision)
    print(f"{len(paths)} images, {detector.device_name if hasattr(detector, 'device_name') else ''}, "
          f"batch {args.batch_size}, {args.threads} decoding threads")

    t = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        images = list(pool.map(posenet.load_image, paths))
    print("decode only            ", rate(len(paths), time.perf_counter() - t))

    decoded = [(item, image, None) for item, image in zip(items, images)]
    batches = [decoded[i:i + args.batch_size] for i in range(0, len(decoded), args.batch_size)]
    pd._estimate_batch(detector, batches[0], config)  # plans and pipelines made outside the timing
    t = time.perf_counter()
    for b in batches:
        detector.estimate_poses_batch([image for _, image, _ in b], **config.estimate_kwargs())
    print("estimate_poses_batch   ", rate(len(paths), time.perf_counter() - t))

    t = time.perf_counter()
    lines = []
    for b in batches:
        lines += pd._estimate_batch(detector, b, config)
    t_lines = time.perf_counter() - t
    t = time.perf_counter()
    text = "".join(pd._dumps(line) + "\n" for line in lines)
    t_dumps = time.perf_counter() - t
    print("estimate + result lines", rate(len(paths), t_lines))
    print("JSON text of the lines ", rate(len(paths), t_dumps), f"{len(text) / len(paths):.0f} bytes/image")

    t = time.perf_counter()
    lines = []
    for batch in pd._decoded_batches(items, args.batch_size, args.threads):
        lines += pd._estimate_batch(detector, batch, config)
    text = "".join(pd._dumps(line) + "\n" for line in lines)
    print("task loop (as a worker)", rate(len(paths), time.perf_counter() - t))


if __name__ == "__main__":
    main()
