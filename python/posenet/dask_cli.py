"""The command line of posenet.dask: ``python3 -m posenet.dask [options] INPUT... --out DIR``
(``--help`` lists the options). The only part of the package that writes to the terminal: the
library (posenet/dask.py) reports through its return values, exceptions and the ``echo`` callable.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from distributed import Client

import posenet
from posenet.dask import (
    CLI_ENV,
    DEFAULT_FRAMES_PER_TASK,
    DEFAULT_MODEL_NAME,
    ConfigMismatch,
    InputError,
    OutputBusy,
    _resolution,
    estimate_dataset,
)

def _default_model() -> str | None:
    """Where `posenet detect` looks for the default model: $POSENET_MODEL, the user's data folder, the
    installation's share folder."""
    env = os.environ.get("POSENET_MODEL")
    if env:
        return env
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    for candidate in (
        Path(data) / "posenet" / "models" / DEFAULT_MODEL_NAME,
        Path(sys.prefix) / "share" / "posenet" / "models" / DEFAULT_MODEL_NAME,
    ):
        if candidate.is_file():
            return str(candidate)
    return None


def _parse_devices(text: str) -> Mapping[str, int] | Sequence[int]:
    """'0,1' (by numeric worker name) or 'gpu0=0,gpu1=1' (by worker name)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if parts and all("=" in p for p in parts):
        return {name.strip(): int(index) for name, index in (p.split("=", 1) for p in parts)}
    return [int(p) for p in parts]


def _parse_resources(text: str) -> dict[str, float]:
    out = {}
    for part in text.split(","):
        name, sep, amount = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{part!r}: expected NAME=AMOUNT")
        out[name.strip()] = float(amount)
    return out


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python3 -m posenet.dask",
        description="Estimates poses over a dataset on a Dask cluster: one JSON Lines shard per partition "
        "under --out (resumable: a rerun skips complete shards), and coco_results.json for a COCO input.",
        epilog="Exit status: 0 every partition done (bad images are recorded as error lines), 1 the job "
        "failed (partitions without results: rerun to finish them), 2 usage or configuration error.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image files, folders, glob patterns (quoted), or one COCO annotations .json; video files "
                   "(.mp4, .mkv, .webm, .avi, .mov, .y4m, ...) are cut into frame ranges run by `posenet video`")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (shared by the workers)")
    p.add_argument("--scheduler", default="local", metavar="ADDRESS|local",
                   help="a scheduler address (tcp://host:8786), a scheduler file (.json), or 'local' (default): "
                   "a LocalCluster of --workers processes")
    p.add_argument("--workers", type=int, metavar="N", default=None, help="local worker processes (default: 1, or one per --devices entry)")
    p.add_argument("--model", default=None, metavar="M", help="a .pnb blob or TF.js model.json (default: $POSENET_MODEL or the installed default)")
    p.add_argument("--input-resolution", default="257", metavar="N|WxH", help="N or WxH (default 257)")
    p.add_argument("--max-poses", type=int, metavar="N", default=1, help="1: single-pose decoder; more: multi-pose (default 1)")
    p.add_argument("--score-threshold", type=float, metavar="S", default=0.5, help="multi-pose root score threshold (default 0.5)")
    p.add_argument("--nms-radius", type=float, metavar="R", default=20.0, help="multi-pose NMS radius (default 20)")
    p.add_argument("--flip", action="store_true", help="mirror the keypoints' x")
    p.add_argument("--backend", choices=("auto", "cpu", "vulkan"), default="auto")
    p.add_argument("--precision", choices=("fp32", "fp16"), default="fp32")
    p.add_argument("--device", type=int, metavar="N", default=-1, help="Vulkan device index for workers without another choice (default: the best)")
    p.add_argument("--devices", default=None, metavar="LIST",
                   help="per-worker devices: '0,1' (worker k gets entry k mod n; local workers are 0..N-1) or "
                   "'gpu0=0,gpu1=1' (by dask-worker --name); else each worker's $POSENET_DEVICE, else --device")
    p.add_argument("--resources", default=None, metavar="NAME=N", help="Dask resources per task, e.g. GPU=1 (workers started with --resources GPU=1)")
    p.add_argument("--images", dest="images_dir", metavar="DIR", default=None, help="folder of a COCO file's images (default: the file's folder)")
    p.add_argument("--recursive", action="store_true", help="folders: include subfolders")
    p.add_argument("--partition-size", type=int, metavar="N", default=64, help="images per task (default 64)")
    p.add_argument("--frames-per-task", type=int, metavar="N", default=DEFAULT_FRAMES_PER_TASK,
                   help=f"video frames per task (default {DEFAULT_FRAMES_PER_TASK})")
    p.add_argument("--posenet-cli", default=None, metavar="PATH",
                   help=f"the posenet executable for video inputs, at this path on every worker (default ${CLI_ENV}, "
                   "else posenet on PATH)")
    p.add_argument("--batch-size", type=int, metavar="N", default=8, help="images per network run (default 8)")
    p.add_argument("--decode-threads", type=int, metavar="N", default=None,
                   help="threads decoding images ahead in each worker (default: 1 on the CPU backend, up to 8 on a GPU)")
    p.add_argument("--retries", type=int, metavar="N", default=2, help="retries of a failing task (default 2)")
    p.add_argument("--pipeline-cache", default=None, metavar="DIR", help="Vulkan pipeline cache folder (default: none)")
    p.add_argument("--omp-threads", type=int, metavar="N", default=None, help="local workers: CPU executor threads each (default: cores / workers)")
    p.add_argument("--force", action="store_true", help="discard results of another configuration in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status (0 done, 1 job failed, 2 usage)."""
    parser = _parser()
    args = parser.parse_args(argv)
    prog = parser.prog

    def usage(message: str) -> int:
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2

    model = args.model or _default_model()
    if model is None:
        return usage("no --model, no $POSENET_MODEL, and no default model installed (weights/install-default-model.sh)")
    try:
        devices = _parse_devices(args.devices) if args.devices else None
        resources = _parse_resources(args.resources) if args.resources else None
        resolution = _resolution(args.input_resolution)
    except (ValueError, KeyError) as e:
        return usage(str(e))
    for name in ("workers", "partition_size", "frames_per_task", "batch_size", "decode_threads", "omp_threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            return usage(f"--{name.replace('_', '-')} {value}: must be at least 1")
    if args.retries < 0:
        return usage(f"--retries {args.retries}: must be 0 or more")
    for name in ("workers", "omp_threads"):
        if getattr(args, name) is not None and args.scheduler != "local":
            return usage(f"--{name.replace('_', '-')} is for local workers: not with --scheduler ADDRESS")

    client = None
    n_workers = args.workers or (len(devices) if isinstance(devices, list) and devices else 1)
    try:
        if args.scheduler != "local":
            if args.scheduler.endswith(".json"):
                client = Client(scheduler_file=args.scheduler)
            else:
                client = Client(args.scheduler)
        result = estimate_dataset(
            args.inputs,
            args.out,
            model=model,
            client=client,
            n_workers=n_workers,
            images_dir=args.images_dir,
            recursive=args.recursive,
            input_resolution=resolution,
            max_poses=args.max_poses,
            score_threshold=args.score_threshold,
            nms_radius=args.nms_radius,
            flip_horizontal=args.flip,
            backend=args.backend,
            precision=args.precision,
            device=args.device,
            devices=devices,
            resources=resources,
            partition_size=args.partition_size,
            frames_per_task=args.frames_per_task,
            posenet_cli=args.posenet_cli,
            batch_size=args.batch_size,
            decode_threads=args.decode_threads,
            retries=args.retries,
            overwrite=args.force,
            progress=not args.no_progress and sys.stdout.isatty(),
            pipeline_cache_dir=args.pipeline_cache,
            omp_threads=args.omp_threads,
            echo=lambda message: print(message, file=sys.stderr, flush=True),
        )
    except (InputError, ConfigMismatch, OutputBusy, posenet.ConfigError, posenet.ModelError) as e:
        return usage(str(e))
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; the finished partitions are kept: run the same command again to finish",
              file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - a device, a worker or the cluster failed: say what, exit 1
        print(f"{prog}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        if client is not None:
            client.close()
    for shard, error in result.failed:
        print(f"{prog}: partition {shard} failed: {error}", file=sys.stderr)
    if result.coco_results is not None:
        print(f"COCO results: {result.coco_results}", file=sys.stderr)
    print(result.summary_line())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
