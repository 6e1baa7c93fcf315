"""Dataset-scale pose estimation on Dask's distributed scheduler.

Runs a posenet detector over a dataset (a list of image paths, globs, folders, a COCO annotations
file, or video files) on a ``distributed.Client``: on one machine as a LocalCluster, on many hosts unchanged::

    from distributed import Client
    import posenet.dask

    result = posenet.dask.estimate_dataset(["photos/"], "out/", model="mobilenet-float-075-stride16.pnb",
                                           client=Client("tcp://scheduler:8786"), max_poses=5)
    print(result.summary_line())
    for line in posenet.dask.read_results("out/"):    # one dict per image in input order, then video frames
        print(line["path"], len(line.get("poses", [])), line.get("error"))

or from a shell: ``python3 -m posenet.dask --scheduler local --workers 2 --model M.pnb photos/ --out out/``
(``--help`` lists the options).

How the work is cut and where it runs:

- The dataset becomes partitions of ``partition_size`` images (default 64); each partition is one
  Dask task. Paths travel to the workers, never pixels: a worker decodes its images itself, so every
  worker must see the inputs, the model and the output folder at the same paths (one machine, or a
  shared file system).
- One detector per worker process, made once by a WorkerPlugin (:class:`DetectorPlugin`) when the job
  starts (or on a worker that joins later) and kept in a per-process cache keyed by the detector's
  configuration; tasks reuse it. Its device: see :func:`choose_device` (``devices``, the worker's
  ``POSENET_DEVICE``, else ``device``). The worker logs the device's name and index.
- Each partition writes one JSON Lines shard, ``<out>/shards/images-<hash>.jsonl``, whose name is a
  hash of the partition's content (its paths and COCO image ids): a rerun, or Dask retrying a task
  after a lost worker, writes the same name. A shard is written whole to a temporary in the same
  folder, fsynced and renamed over its name, so it either exists complete or not at all.
- ``<out>/manifest.json`` holds the job's configuration (model digest, input resolution, estimation
  options, backend, precision). A rerun into the same folder with the same configuration skips the
  partitions whose shards are complete (resumable); a different configuration is refused
  (:class:`ConfigMismatch`) unless ``overwrite=True``, which discards the old results.
- ``<out>/job.json`` lists the job's shards in input order with the totals; :func:`read_results` reads
  the lines back in that order. A COCO annotations input also gives ``<out>/coco_results.json``
  (``[{image_id, category_id: 1, keypoints: [x, y, score] * 17, score}]``, as ``posenet eval --json``).

A line of a shard is ``{"path", "width", "height", "poses"}`` (poses as Detector.estimate_poses
returns them) or ``{"path", "error", "error_type"}`` for an image that cannot be read or decoded; COCO
inputs add ``"image_id"``. A bad image does not stop the job. Any other failure (a device error, a lost
worker) fails the task, which Dask retries (``retries``; a worker that dies is retried by the scheduler,
up to ``distributed.scheduler.allowed-failures`` times).

Video files (by extension, VIDEO_SUFFIXES; as paths or glob matches, not from folders) run through the
``posenet video`` CLI, since the Python package has no video decoder: the client counts each file's
frames (``posenet video FILE --count``: every frame decoded, exact) and cuts them into ranges of
``frames_per_task`` (default 300), each a partition of kind ``"video"`` (:class:`VideoRange`); a task
runs ``posenet video FILE --start-frame S --max-frames N --jsonl -`` with the job's model, estimation
options, backend, precision and the worker's device (:func:`choose_device`) as a subprocess, and writes
the lines ``{"path", "frame", "timestamp_us", "width", "height", "poses"}`` into its shard (named and
written as image shards are: resumable). The CLI is ``posenet_cli=`` (``--posenet-cli``), else
``$POSENET_CLI``, else ``posenet`` on PATH, at the same path on every worker. A video that cannot be
read is an error line ``{"path", "error", "error_type": "VideoInputError"}`` (with ``"frame"`` where it
fails within a range, after the range's frames before it); the job goes on. Tracking and smoothing are
not offered: ranges are independent, so poses are per frame. read_results gives the images' lines,
then each video's frames in order (file by file).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import dataclasses
import fcntl
import glob
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import posenet

try:
    import distributed
    from distributed import Client, LocalCluster, WorkerPlugin
except ImportError as _error:  # pragma: no cover - depends on the machine
    raise ImportError(
        "posenet.dask needs dask and distributed (Debian: apt install python3-dask python3-distributed; "
        "pip: pip install 'dask[distributed]')"
    ) from _error

__all__ = [
    "ConfigMismatch",
    "Dataset",
    "DetectorPlugin",
    "DeviceMap",
    "ImageItem",
    "InputError",
    "JobConfig",
    "JobResult",
    "OutputBusy",
    "Partition",
    "VideoInputError",
    "VideoRange",
    "choose_device",
    "count_video_frames",
    "find_posenet_cli",
    "collect_inputs",
    "estimate_dataset",
    "read_results",
    "run_partition",
    "video_ranges",
]

# What posenet.load_image decodes, by extension, for folders and globs (explicit paths are taken as given:
# a file of another kind becomes an error line).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".pbm", ".pnm"})
# Files taken for videos: cut into frame ranges run by the `posenet video` CLI (see the module's docstring).
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mkv", ".mov", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".y4m"}
)
MANIFEST_FORMAT = "posenet.dask/1"
DEVICE_ENV = "POSENET_DEVICE"  # a worker's Vulkan device index, set per dask-worker process
DEFAULT_MODEL_NAME = "mobilenet-float-075-stride16.pnb"
CLI_ENV = "POSENET_CLI"  # the `posenet` executable that runs video ranges, where posenet_cli= is not given
DEFAULT_FRAMES_PER_TASK = 300

# The worker's own logger: its records appear in the dask-worker's output and client.get_worker_logs().
_worker_log = logging.getLogger("distributed.worker")


class InputError(ValueError):
    """An input that cannot become part of a dataset (a glob matching nothing, a malformed COCO file,
    a COCO file beside other inputs)."""


class ConfigMismatch(RuntimeError):
    """The output folder holds results of a job with another configuration."""


class OutputBusy(RuntimeError):
    """Another job is writing into the output folder now."""


# ---------------------------------------------------------------------------------------------
# Dataset and tasks


@dataclass(frozen=True)
class ImageItem:
    """One image of a dataset: an absolute path, and its COCO image id for a COCO input."""

    path: str
    image_id: int | None = None


@dataclass(frozen=True)
class VideoRange:
    """Frames [start, stop) of a video file (in presentation order): the unit of a video task.

    A worker runs ``posenet video PATH --start-frame START --max-frames STOP-START --jsonl -`` and writes
    one line per frame (``{"path", "frame", "timestamp_us", "width", "height", "poses"}``) into the
    partition's shard. ``error``: the file's frames could not be counted on the client (unreadable, not
    a video); its range is [0, 0) and its shard is that one error line."""

    path: str
    start: int
    stop: int
    error: str | None = dataclasses.field(default=None, compare=False)


@dataclass(frozen=True)
class Partition:
    """One Dask task: a run of images (kind "images") or a video's frame range (kind "video")."""

    kind: str
    images: tuple[ImageItem, ...] = ()
    video: VideoRange | None = None

    @property
    def size(self) -> int:
        """How many lines its shard holds (a video range that fails holds fewer: see _shard_counts)."""
        if self.kind == "video" and self.video is not None:
            return 1 if self.video.error is not None else self.video.stop - self.video.start
        return len(self.images)

    @property
    def shard(self) -> str:
        """The shard's file name: a hash of what the partition holds, so the same content always maps to
        the same shard (reruns and retries overwrite it, never add another)."""
        if self.kind == "video" and self.video is not None:
            content: Any = [self.video.path, self.video.start, self.video.stop]
        else:
            content = [[item.path, item.image_id] for item in self.images]
        digest = hashlib.sha256(json.dumps([self.kind, content], separators=(",", ":")).encode()).hexdigest()
        return f"{self.kind}-{digest[:24]}.jsonl"


@dataclass
class Dataset:
    """What a job runs over: images in order (each once), video files in order (each once; their frame
    ranges once counted, see video_ranges), and for a COCO input its annotations file."""

    images: list[ImageItem] = field(default_factory=list)
    videos: list[VideoRange] = field(default_factory=list)
    video_files: list[str] = field(default_factory=list)
    coco_annotations: str | None = None

    def partitions(self, partition_size: int) -> list[Partition]:
        """The images cut into partitions of ``partition_size`` in order (the last may be shorter), then
        one partition per video range (file by file, frames in order)."""
        if partition_size < 1:
            raise ValueError(f"partition_size {partition_size}: must be at least 1")
        parts = [
            Partition("images", tuple(self.images[i : i + partition_size]))
            for i in range(0, len(self.images), partition_size)
        ]
        return parts + [Partition("video", video=v) for v in self.videos]


def video_ranges(path: str, frames: int, frames_per_task: int) -> list[VideoRange]:
    """A video of ``frames`` frames cut into ranges of ``frames_per_task`` (the last may be shorter)."""
    if frames_per_task < 1:
        raise ValueError(f"frames_per_task {frames_per_task}: must be at least 1")
    return [VideoRange(path, start, min(start + frames_per_task, frames)) for start in range(0, frames, frames_per_task)]


def find_posenet_cli(posenet_cli: str | os.PathLike[str] | None = None, environ: Mapping[str, str] = os.environ) -> str:
    """The `posenet` executable that runs video ranges, as an absolute path: ``posenet_cli`` where given,
    else $POSENET_CLI, else ``posenet`` on PATH. Raises posenet.ConfigError naming what was tried."""
    if posenet_cli is not None:
        where, text = "posenet_cli", os.fspath(posenet_cli)
    elif environ.get(CLI_ENV):
        where, text = f"${CLI_ENV}", environ[CLI_ENV]
    else:
        found = shutil.which("posenet")
        if found is None:
            raise posenet.ConfigError(
                "video inputs are run by the posenet CLI (`posenet video`), and none was found: give posenet_cli= "
                f"(--posenet-cli PATH), set ${CLI_ENV}, or put posenet on PATH"
            )
        return os.path.abspath(found)
    if os.sep in text:
        resolved = text if os.path.isfile(text) and os.access(text, os.X_OK) else None
    else:
        resolved = shutil.which(text)
    if resolved is None:
        raise posenet.ConfigError(f"{where} {text!r}: not an executable file (the posenet CLI runs video inputs)")
    return os.path.abspath(resolved)


def _cli_error(stderr: str, returncode: int) -> str:
    """The CLI's message without its "posenet video: error: " prefix (the last non-empty line)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    text = lines[-1] if lines else f"exit status {returncode}"
    for prefix in ("posenet video: error: ", "posenet video: "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


class VideoInputError(RuntimeError):
    """The posenet CLI failed on a video because of the file (its message names the file)."""


def count_video_frames(path: str, posenet_cli: str, timeout: float | None = None) -> int:
    """How many frames the video at ``path`` holds, by ``posenet video PATH --count`` (every frame
    decoded: exact). Raises VideoInputError (the CLI's message, which names the file) when the file
    cannot be read or decoded, RuntimeError for another failure of the CLI."""
    r = subprocess.run([posenet_cli, "video", path, "--count"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        message = _cli_error(r.stderr, r.returncode)
        if r.returncode == 1 and path in message:
            raise VideoInputError(message)
        raise RuntimeError(f"{posenet_cli} video {path} --count failed (exit status {r.returncode}): {message}")
    try:
        return int(r.stdout.strip())
    except ValueError:
        printed = r.stdout.strip()
        raise RuntimeError(f"{posenet_cli} video {path} --count printed {printed!r}, not a frame count") from None


def _has_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def _folder_images(folder: Path, recursive: bool) -> list[Path]:
    files = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in files if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _read_coco(annotations: Path, images_dir: str | os.PathLike[str] | None) -> list[ImageItem]:
    """The images a COCO annotations file lists, as `posenet eval` reads them: each entry's file_name
    under images_dir (default: the annotations file's folder), with its id."""
    try:
        data = json.loads(annotations.read_bytes())
    except (OSError, ValueError) as e:
        raise InputError(f"{annotations}: cannot read a COCO annotations file: {e}") from e
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise InputError(f"{annotations}: not a COCO annotations file (no images list)")
    base = Path(images_dir) if images_dir is not None else annotations.parent
    items, seen = [], set()
    for i, entry in enumerate(data["images"]):
        where = f"{annotations}: images[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("file_name"), str):
            raise InputError(f"{where}: no file_name string")
        image_id = entry.get("id")
        if isinstance(image_id, bool) or not isinstance(image_id, int):
            raise InputError(f"{where}: no integer id")
        if image_id in seen:
            raise InputError(f"{where}: id {image_id} is listed twice")
        seen.add(image_id)
        items.append(ImageItem(os.path.abspath(base / entry["file_name"]), image_id))
    return items


def collect_inputs(
    inputs: Sequence[str | os.PathLike[str]],
    *,
    images_dir: str | os.PathLike[str] | None = None,
    recursive: bool = False,
) -> Dataset:
    """Turns the inputs into a dataset of absolute paths, each image once, in order.

    An input is a folder (its JPEG/PNG/PNM files by extension, in name order; ``recursive`` for its
    subfolders too), a glob pattern (its matches in name order), a COCO annotations file (a .json:
    its images under ``images_dir``, default the file's folder; then it must be the only input), or an
    image path, taken as given: a missing or unreadable file becomes an error line of the results, not
    a failure here. A path or glob match whose extension is a video's (VIDEO_SUFFIXES) goes to
    ``video_files`` (folders are searched for images only). Raises InputError for a glob matching
    nothing or a malformed COCO file.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    if not inputs:
        raise InputError("no inputs")
    dataset = Dataset()
    seen: set[str] = set()

    def add(path: str | os.PathLike[str], image_id: int | None = None) -> None:
        absolute = os.path.abspath(path)
        if absolute not in seen:  # each image once, at its first mention
            seen.add(absolute)
            if image_id is None and Path(absolute).suffix.lower() in VIDEO_SUFFIXES:
                dataset.video_files.append(absolute)
            else:
                dataset.images.append(ImageItem(absolute, image_id))

    for raw in inputs:
        text = os.fspath(raw)
        path = Path(text)
        if path.suffix.lower() == ".json" and path.is_file():
            if len(inputs) > 1:
                raise InputError(f"{text}: a COCO annotations file must be the only input")
            dataset.coco_annotations = os.path.abspath(path)
            for item in _read_coco(path, images_dir):
                add(item.path, item.image_id)
        elif path.is_dir():
            for p in _folder_images(path, recursive):
                add(p)
        elif not path.exists() and _has_glob(text):
            matches = sorted(glob.glob(text, recursive=True))
            files = [m for m in matches if os.path.isfile(m)]
            if not files:
                raise InputError(f"{text}: the pattern matches no file")
            for m in files:
                add(m)
        else:
            add(path)
    if not dataset.images and not dataset.videos and not dataset.video_files:
        raise InputError("the inputs hold no images or videos: " + ", ".join(os.fspath(i) for i in inputs))
    return dataset


# ---------------------------------------------------------------------------------------------
# Configuration


def _model_digest(model: Path) -> str:
    """sha256 over the model's files: a .pnb's bytes, or a TF.js model.json with its weight files."""
    if model.is_dir():
        model = model / "model.json"
    h = hashlib.sha256()
    files = [model]
    if model.suffix.lower() == ".json":
        try:
            manifest = json.loads(model.read_bytes()).get("weightsManifest", [])
            files += [model.parent / p for group in manifest for p in group.get("paths", [])]
        except (ValueError, AttributeError, TypeError):
            pass  # the library names what is wrong with it when the workers load it
    for f in files:
        with open(f, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _resolution(value: int | str | Mapping[str, int] | Sequence[int]) -> dict[str, int]:
    """An input resolution as {'width', 'height'}: an int (square), 'WxH', a dict or a (width, height)."""
    if isinstance(value, Mapping):
        return {"width": int(value["width"]), "height": int(value["height"])}
    if isinstance(value, str):
        w, sep, h = value.lower().partition("x")
        if not sep:
            return {"width": int(value), "height": int(value)}
        return {"width": int(w), "height": int(h)}
    if isinstance(value, int):
        return {"width": value, "height": value}
    w, h = value
    return {"width": int(w), "height": int(h)}


@dataclass(frozen=True)
class JobConfig:
    """Everything that decides a job's results: compared with an output folder's manifest on a rerun."""

    model: str
    model_sha256: str
    input_resolution: tuple[int, int] = (257, 257)  # (width, height)
    max_poses: int = 1
    score_threshold: float = 0.5
    nms_radius: float = 20.0
    flip_horizontal: bool = False
    backend: str = "auto"
    precision: str = "fp32"

    def manifest(self) -> dict[str, Any]:
        """The fields a rerun must match (the model by content, not by path)."""
        d = dataclasses.asdict(self)
        d.pop("model")
        d["input_resolution"] = {"width": self.input_resolution[0], "height": self.input_resolution[1]}
        return d

    def key(self) -> str:
        """A short name for this configuration's detector (the plugin's name, the cache key)."""
        text = json.dumps([self.model, self.manifest()], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def estimate_kwargs(self) -> dict[str, Any]:
        return {
            "max_poses": self.max_poses,
            "flip_horizontal": self.flip_horizontal,
            "score_threshold": self.score_threshold,
            "nms_radius": self.nms_radius,
        }


@dataclass(frozen=True)
class DeviceMap:
    """Which Vulkan device each worker uses; see choose_device.

    by_name: worker name -> device index (``dask-worker --name gpu1``: {'gpu1': 1}).
    by_number: for workers whose name is a number k (a LocalCluster's 0..N-1, ``dask-worker --name 3``):
        device by_number[k % len(by_number)].
    default: the index for every other worker without POSENET_DEVICE; -1 lets the library choose
        (the best GPU, else the CPU executor, as backend 'auto' does).
    """

    by_name: tuple[tuple[str, int], ...] = ()
    by_number: tuple[int, ...] = ()
    default: int = -1

    @classmethod
    def of(cls, devices: Mapping[str, int] | Sequence[int] | None, default: int = -1) -> DeviceMap:
        if devices is None:
            return cls(default=default)
        if isinstance(devices, Mapping):
            return cls(by_name=tuple((str(k), int(v)) for k, v in devices.items()), default=default)
        return cls(by_number=tuple(int(d) for d in devices), default=default)


def choose_device(worker_name: object, devices: DeviceMap, backend: str, environ: Mapping[str, str] = os.environ) -> int:
    """The Vulkan device index a worker uses (-1: the library's choice, or the CPU for backend 'cpu').

    In order: the CPU backend uses none; the worker's name in ``devices.by_name``; a numeric worker name
    k picks ``devices.by_number[k % n]``; the worker process's ``POSENET_DEVICE`` environment variable
    (one per ``dask-worker``: ``POSENET_DEVICE=1 dask-worker ...``); else ``devices.default``.
    """
    if backend == "cpu":
        return -1
    name = str(worker_name)
    for n, index in devices.by_name:
        if n == name:
            return index
    if devices.by_number and name.isdigit():
        return devices.by_number[int(name) % len(devices.by_number)]
    value = environ.get(DEVICE_ENV, "").strip()
    if value:
        if not value.isdigit():
            raise posenet.ConfigError(f"{DEVICE_ENV}={value!r}: must be a Vulkan device index (posenet.list_devices())")
        return int(value)
    return devices.default


# ---------------------------------------------------------------------------------------------
# Worker side: one detector per process, the partition task


@dataclass
class _CachedDetector:
    detector: Any
    description: str


# Per worker process: detectors by (configuration, device). Small: a worker serves one job at a time
# in practice, and each detector holds a model and a device context.
_DETECTORS: dict[str, _CachedDetector] = {}
_MAX_DETECTORS = 2
_DETECTORS_LOCK = threading.Lock()
_load_image = posenet.load_image  # looked up at call time, so tests can inject faults on the workers


def _worker_name() -> str:
    try:
        return str(distributed.get_worker().name)
    except ValueError:  # not inside a worker (a direct call, a test)
        return "local"


def _detector(
    config: JobConfig, devices: DeviceMap, pipeline_cache_dir: str | None, worker_name: str | None = None
) -> _CachedDetector:
    """This process's detector for the configuration, made on first use and kept."""
    name = worker_name if worker_name is not None else _worker_name()
    device = choose_device(name, devices, config.backend)
    key = f"{config.key()}:{device}"
    # The plugin's setup (an executor thread), a task and client.run (the event loop) may all ask at
    # once: one of them makes the detector, the others wait for it.
    with _DETECTORS_LOCK:
        cached = _DETECTORS.get(key)
        if cached is not None:
            return cached
        w, h = config.input_resolution
        detector = posenet.create_detector(
            config.model,
            input_resolution={"width": w, "height": h},
            backend=config.backend,
            device=device,
            precision=config.precision,
            pipeline_cache_dir=pipeline_cache_dir,
        )
        description = f"{detector.device_name} (device index {detector.device_index}, backend {detector.backend})"
        _worker_log.info("posenet: worker %s runs %s on %s, pid %d", name, config.model, description, os.getpid())
        while len(_DETECTORS) >= _MAX_DETECTORS:
            _DETECTORS.pop(next(iter(_DETECTORS)))  # the oldest; a task still using it keeps its reference
        cached = _DETECTORS[key] = _CachedDetector(detector, description)
        return cached


def _serves(worker: Any, resources: Mapping[str, float] | None) -> bool:
    """Whether the job's tasks can run on this worker: it has every resource they ask for."""
    if not resources:
        return True
    have = getattr(getattr(worker, "state", worker), "total_resources", None) or {}
    return all(have.get(name, 0) >= amount for name, amount in resources.items())


class DetectorPlugin(WorkerPlugin):
    """Makes the job's detector on each worker (current and later ones) before tasks need it; with
    ``resources``, only on the workers that have them (a CPU-only worker of a GPU job makes none).

    Creation runs in a thread, so the worker keeps answering the scheduler while a model loads and a
    device starts. A failure (a bad model, a missing device) fails the job's registration of the plugin,
    which estimate_dataset reports before any task runs."""

    def __init__(
        self,
        config: JobConfig,
        devices: DeviceMap,
        pipeline_cache_dir: str | None = None,
        resources: Mapping[str, float] | None = None,
    ):
        self.config = config
        self.devices = devices
        self.pipeline_cache_dir = pipeline_cache_dir
        self.resources = dict(resources) if resources else None
        self.name = f"posenet-detector-{config.key()}"

    async def setup(self, worker: Any) -> None:
        if not _serves(worker, self.resources):
            return
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, _detector, self.config, self.devices, self.pipeline_cache_dir, str(worker.name))

    def teardown(self, worker: Any) -> None:
        # Dropped from the cache, not disposed: a task running now keeps its reference and finishes.
        prefix = self.config.key() + ":"
        with _DETECTORS_LOCK:
            for key in [k for k in _DETECTORS if k.startswith(prefix)]:
                _DETECTORS.pop(key, None)


def _worker_description(
    config: JobConfig,
    devices: DeviceMap,
    pipeline_cache_dir: str | None,
    resources: Mapping[str, float] | None,
    dask_worker: Any = None,
) -> tuple[str, str | None]:
    """Run on each worker by client.run (which passes dask_worker): the worker's name and the device its
    detector runs on (None on a worker without the job's resources)."""
    name = str(dask_worker.name)
    if not _serves(dask_worker, resources):
        return name, None
    return name, _detector(config, devices, pipeline_cache_dir, name).description


Decoded = tuple[ImageItem, Any, Exception | None]  # an item, its pixels or None, its error or None


def _decode(item: ImageItem) -> Decoded:
    try:
        return item, _load_image(item.path), None
    except posenet.ImageError as e:  # missing, unreadable, corrupt, too large: the image's own fault
        return item, None, e


def _decoded_batches(items: Sequence[ImageItem], batch_size: int, threads: int) -> Iterator[list[Decoded]]:
    """The items decoded, in order, batch_size at a time. `threads` threads decode ahead (up to two
    batches) while the caller runs the network on the current batch: decoding and inference both
    release the GIL, and on a GPU decoding is what limits a worker (a photo of the shared set takes 12 to
    16 ms on a core, estimation on an H100 ~0.4 ms: docs/SCALING.md)."""
    with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="posenet-decode") as pool:
        pending: collections.deque[concurrent.futures.Future[Decoded]] = collections.deque()
        rest = iter(items)
        ahead = max(2 * batch_size, threads)

        def fill() -> None:
            while len(pending) < ahead:
                item = next(rest, None)
                if item is None:
                    return
                pending.append(pool.submit(_decode, item))

        fill()
        while pending:
            batch = [pending.popleft().result() for _ in range(min(batch_size, len(pending)))]
            fill()
            yield batch


def _decode_threads(requested: int | None, backend: str) -> int:
    """Decoding threads of a task: as requested, else one beside the CPU executor (which has the cores)
    and up to 8 beside a GPU."""
    if requested:
        return requested
    if backend == "cpu":
        return 1
    return max(1, min(8, len(os.sched_getaffinity(0))))


def _error_line(item: ImageItem, error: Exception) -> dict[str, Any]:
    line: dict[str, Any] = {"path": item.path}
    if item.image_id is not None:
        line["image_id"] = item.image_id
    line["error"] = str(error)
    line["error_type"] = type(error).__name__
    return line


def _estimate_batch(detector: Any, batch: list[Decoded], config: JobConfig) -> list[dict[str, Any]]:
    """One line per item: its poses, or its error. Images the library refuses (posenet.ConfigError or
    ImageError from estimation) are found by redoing the batch one image at a time; other errors (a
    device failure) propagate and fail the task, so that Dask retries it."""
    kwargs = config.estimate_kwargs()
    good = [i for i, (_, _, error) in enumerate(batch) if error is None]
    outcome: dict[int, Any] = {i: batch[i][2] for i in range(len(batch)) if i not in good}  # index -> poses or error
    try:
        results = detector.estimate_poses_batch([batch[i][1] for i in good], **kwargs) if good else []
        outcome.update(zip(good, results))
    except (posenet.ConfigError, posenet.ImageError):
        for i in good:
            try:
                outcome[i] = detector.estimate_poses(batch[i][1], **kwargs)
            except (posenet.ConfigError, posenet.ImageError) as e:
                outcome[i] = e
    lines = []
    for i, (item, image, _) in enumerate(batch):
        result = outcome[i]
        if isinstance(result, Exception):
            lines.append(_error_line(item, result))
            continue
        line: dict[str, Any] = {"path": item.path}
        if item.image_id is not None:
            line["image_id"] = item.image_id
        line.update(width=int(image.shape[1]), height=int(image.shape[0]), poses=result)
        lines.append(line)
    return lines


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(path: Path, data: bytes) -> None:
    """Writes data to a unique temporary beside path, fsyncs it, renames it over path and fsyncs the
    folder: readers see the old file or the whole new one, and two writers of the same content race
    harmlessly."""
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _dumps(line: Mapping[str, Any]) -> str:
    # Floats as repr: the shortest text that reads back to the same double (the float32 values exactly).
    return json.dumps(line, separators=(",", ":"), allow_nan=False)


def _video_command(video: VideoRange, config: JobConfig, device: int, posenet_cli: str,
                   pipeline_cache_dir: str | None) -> list[str]:
    """`posenet video` over the range with the job's configuration (no tracking, no smoothing)."""
    w, h = config.input_resolution
    command = [
        posenet_cli, "video", video.path, "--jsonl", "-", "--quiet",
        "--start-frame", str(video.start), "--max-frames", str(video.stop - video.start),
        "--model", config.model, "--input-resolution", f"{w}x{h}",
        "--max-poses", str(config.max_poses), "--score-threshold", repr(config.score_threshold),
        "--nms-radius", repr(config.nms_radius),
        "--backend", config.backend, "--precision", config.precision,
    ]  # fmt: skip
    if config.flip_horizontal:
        command.append("--flip")
    if device >= 0:
        command += ["--device", str(device)]
    if pipeline_cache_dir is not None:
        command += ["--pipeline-cache", pipeline_cache_dir]
    return command


def _video_lines(
    video: VideoRange, config: JobConfig, devices: DeviceMap, posenet_cli: str, pipeline_cache_dir: str | None
) -> tuple[list[dict[str, Any]], str]:
    """The range's lines by the posenet CLI, and the device it was asked for. A file the CLI cannot
    read or decode (its message names the file) ends the lines with an error line at the first frame
    without a result; any other failure of the CLI (a device, the model) raises, failing the task."""
    if video.error is not None:
        return [{"path": video.path, "error": video.error, "error_type": "VideoInputError"}], "none (not counted)"
    device = choose_device(_worker_name(), devices, config.backend)
    command = _video_command(video, config, device, posenet_cli, pipeline_cache_dir)
    r = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    lines: list[dict[str, Any]] = []
    for raw in r.stdout.splitlines():
        try:
            frame = json.loads(raw)
        except ValueError:
            if r.returncode == 0:
                raise RuntimeError(f"{video.path}: {posenet_cli} wrote a line that is not JSON: {raw[:200]!r}") from None
            break  # a failed run's last words: the lines before are complete
        lines.append({"path": video.path, **frame})
    where = f"device index {device}" if device >= 0 else "its default device"
    description = f"posenet video CLI ({where}, backend {config.backend})"
    if r.returncode == 0:
        expected = list(range(video.start, video.stop))
        if [line.get("frame") for line in lines] != expected:
            raise RuntimeError(f"{video.path}: frames {video.start}..{video.stop - 1} asked of {posenet_cli}, "
                               f"it gave {len(lines)} lines (frames {lines[0].get('frame') if lines else None}..)")
        return lines, description
    message = _cli_error(r.stderr, r.returncode)
    if r.returncode == 1 and video.path in message:
        # Only the lines before the failure that are the range's own, in order, are kept.
        kept = [line for i, line in enumerate(lines) if line.get("frame") == video.start + i]
        kept.append({"path": video.path, "frame": video.start + len(kept), "error": message,
                     "error_type": "VideoInputError"})
        return kept, description
    raise RuntimeError(f"{' '.join(command)}: exit status {r.returncode}: {message}")


def run_partition(
    partition: Partition,
    *,
    config: JobConfig,
    devices: DeviceMap,
    out: str,
    batch_size: int = 8,
    decode_threads: int | None = None,
    pipeline_cache_dir: str | None = None,
    posenet_cli: str | None = None,
) -> dict[str, Any]:
    """The task: estimates a partition's images with this worker's detector, or a video range with the
    posenet CLI (``posenet_cli``) as a subprocess, and writes its shard.

    Returns the shard's name and counts: {'shard', 'images', 'frames', 'poses', 'errors', 'seconds',
    'worker', 'device'}."""
    if partition.kind == "video" and partition.video is not None:
        start = time.perf_counter()
        if posenet_cli is None:
            raise ValueError("a video partition needs posenet_cli (the posenet executable)")
        lines, description = _video_lines(partition.video, config, devices, posenet_cli, pipeline_cache_dir)
        text = "".join(_dumps(line) + "\n" for line in lines)
        _write_atomically(Path(out) / "shards" / partition.shard, text.encode())
        return {
            "shard": partition.shard,
            "images": 0,
            "frames": sum("error" not in line for line in lines),
            "poses": sum(len(line.get("poses", ())) for line in lines),
            "errors": sum("error" in line for line in lines),
            "seconds": time.perf_counter() - start,
            "worker": _worker_name(),
            "device": description,
        }
    if partition.kind != "images":
        raise ValueError(f"partition kind {partition.kind!r}: should be images or video")
    start = time.perf_counter()
    cached = _detector(config, devices, pipeline_cache_dir)
    lines: list[dict[str, Any]] = []
    threads = _decode_threads(decode_threads, cached.detector.backend)
    for batch in _decoded_batches(partition.images, max(1, batch_size), threads):
        lines += _estimate_batch(cached.detector, batch, config)
    text = "".join(_dumps(line) + "\n" for line in lines)
    shard = Path(out) / "shards" / partition.shard
    _write_atomically(shard, text.encode())
    return {
        "shard": partition.shard,
        "images": len(lines),
        "frames": 0,
        "poses": sum(len(line.get("poses", ())) for line in lines),
        "errors": sum("error" in line for line in lines),
        "seconds": time.perf_counter() - start,
        "worker": _worker_name(),
        "device": cached.description,
    }


# ---------------------------------------------------------------------------------------------
# Output folder


def _shard_counts(path: Path, partition: Partition) -> tuple[int, int] | None:
    """(poses, errors) of a complete shard for this partition, or None when it is absent or is not
    this partition's whole result (then the partition runs again and replaces it)."""
    try:
        text = path.read_text()
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not text.endswith("\n"):
        return None
    raw_lines = text.splitlines()
    if partition.kind == "video" and partition.video is not None:
        return _video_shard_counts(raw_lines, partition.video)
    if len(raw_lines) != partition.size:
        return None
    poses = errors = 0
    for raw, item in zip(raw_lines, partition.images):
        try:
            line = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(line, dict) or line.get("path") != item.path or line.get("image_id") != item.image_id:
            return None
        if "error" in line:
            errors += 1
        elif isinstance(line.get("poses"), list):
            poses += len(line["poses"])
        else:
            return None
    return poses, errors


def _video_shard_counts(raw_lines: list[str], video: VideoRange) -> tuple[int, int] | None:
    """(poses, errors) of a complete video shard: one line per frame of the range in order, or the
    frames before an error line that ends it; None otherwise."""
    poses = 0
    for i, raw in enumerate(raw_lines):
        try:
            line = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(line, dict) or line.get("path") != video.path:
            return None
        if "error" in line:
            return (poses, 1) if i == len(raw_lines) - 1 else None
        if line.get("frame") != video.start + i or not isinstance(line.get("poses"), list):
            return None
        poses += len(line["poses"])
    return (poses, 0) if len(raw_lines) == video.stop - video.start else None


def _prepare_out(out: Path, config: JobConfig, overwrite: bool) -> None:
    """Creates the output folder and its manifest; refuses a folder holding another configuration's
    results unless overwrite, which removes them."""
    shards = out / "shards"
    manifest_path = out / "manifest.json"
    manifest = {"format": MANIFEST_FORMAT, "config": config.manifest(), "model": config.model}
    if manifest_path.exists():
        try:
            old = json.loads(manifest_path.read_text())
        except (OSError, ValueError) as e:
            old = {"config": {"unreadable manifest": str(e)}}
        old_config = old.get("config", {}) if isinstance(old, dict) else {}
        if old_config != manifest["config"] and not overwrite:
            new_config = manifest["config"]
            keys = sorted(set(old_config) | set(new_config))
            diff = "; ".join(
                f"{k}: {old_config.get(k)!r} there, {new_config.get(k)!r} now"
                for k in keys
                if old_config.get(k) != new_config.get(k)
            )
            raise ConfigMismatch(
                f"{out} holds the results of a job with another configuration ({diff}); use another output "
                "folder, or overwrite (--force) to discard them"
            )
        if old_config != manifest["config"]:
            for stale in list(shards.glob("*.jsonl")) + [out / "job.json", out / "coco_results.json"]:
                stale.unlink(missing_ok=True)
    shards.mkdir(parents=True, exist_ok=True)
    _write_atomically(manifest_path, (json.dumps(manifest, indent=2) + "\n").encode())


@contextlib.contextmanager
def _job_lock(out: Path) -> Iterator[None]:
    """Holds an exclusive advisory lock on <out>/.lock for the job, so two clients never run jobs into
    one folder at once (flock: local file systems and NFSv4 honour it)."""
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputBusy(f"{out}: another job is writing into this folder (it holds {out / '.lock'})") from None
        yield
    finally:
        os.close(fd)  # releases the lock


def _remove_temporaries(shards: Path) -> None:
    """Temporaries left by workers that died while writing (every task of the job is over by now)."""
    for tmp in shards.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def _coco_results(out: Path, partitions: Sequence[Partition]) -> list[dict[str, Any]]:
    """The shards' poses as a COCO results list, in input order (posenet eval's to_coco_results)."""
    results = []
    for partition in partitions:
        for line in _read_shard(out / "shards" / partition.shard):
            for pose in line.get("poses", ()):
                keypoints: list[float] = []
                for k in pose["keypoints"]:
                    keypoints += [k["x"], k["y"], k["score"]]
                results.append({"image_id": line["image_id"], "category_id": 1, "keypoints": keypoints, "score": pose["score"]})
    return results


def _read_shard(path: Path) -> Iterator[dict[str, Any]]:
    with open(path) as f:
        for raw in f:
            yield json.loads(raw)


def read_results(out: str | os.PathLike[str], *, allow_incomplete: bool = False) -> Iterator[dict[str, Any]]:
    """The lines of the last job written into ``out`` (its job.json): one per image in input order, then
    one per video frame (file by file in input order, frames in order; error lines where a video fails).

    A job that did not finish has partitions without shards: RuntimeError naming them, or with
    ``allow_incomplete`` the lines of the shards there are."""
    out = Path(out)
    job = json.loads((out / "job.json").read_text())
    missing = [shard for shard in job["shards"] if not (out / "shards" / shard).is_file()]
    if missing and not allow_incomplete:
        raise RuntimeError(f"{out}: the job did not finish: {len(missing)} of {len(job['shards'])} partitions have no "
                           f"results ({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}); run it again")
    for shard in job["shards"]:
        if shard not in missing:
            yield from _read_shard(out / "shards" / shard)


# ---------------------------------------------------------------------------------------------
# Client side


@dataclass
class JobResult:
    """What a job did. ``failed``: (shard, error message) of the partitions without a result."""

    out: Path
    images: int = 0
    videos: int = 0
    frames: int = 0
    poses: int = 0
    errors: int = 0
    partitions: int = 0
    computed: int = 0
    skipped: int = 0
    computed_images: int = 0
    computed_frames: int = 0
    seconds: float = 0.0
    estimate_seconds: float = 0.0
    failed: list[tuple[str, str]] = field(default_factory=list)
    devices: dict[str, str] = field(default_factory=dict)
    coco_results: Path | None = None
    dashboard: str | None = None

    @property
    def ok(self) -> bool:
        """Every partition has its shard."""
        return not self.failed

    @property
    def images_per_second(self) -> float:
        """Images estimated by this run per second of the estimating phase (from the first task's
        submission to the last result: without cluster start-up and detector creation)."""
        return self.computed_images / self.estimate_seconds if self.estimate_seconds > 0 else 0.0

    @property
    def frames_per_second(self) -> float:
        """Video frames estimated by this run per second of the estimating phase."""
        return self.computed_frames / self.estimate_seconds if self.estimate_seconds > 0 else 0.0

    def summary_line(self) -> str:
        videos = (
            f"{self.frames} frames of {self.videos} videos ({self.frames_per_second:.1f} frames/s, "
            f"{self.computed_frames} frames computed), "
            if self.videos
            else ""
        )
        line = (
            f"{self.images} images, {videos}{self.poses} poses, {self.errors} errors, {self.seconds:.1f} s, "
            f"{self.images_per_second:.1f} images/s ({self.computed_images} images in {self.estimate_seconds:.1f} s "
            f"of estimation; {self.computed} partitions computed, {self.skipped} already done"
        )
        return line + (f", {len(self.failed)} failed)" if self.failed else ")")


def _dashboard_link(client: Client) -> str | None:
    """The dashboard's address where the scheduler serves one: its HTTP server always runs, the
    dashboard's pages only where the scheduler can import bokeh."""
    try:
        if "dashboard" in client.scheduler_info().get("services", {}) and client.run_on_scheduler(
            _module_available, "bokeh"
        ):
            return client.dashboard_link
    except Exception:  # noqa: BLE001 - a link is a convenience, never a reason to fail
        pass
    return None


def _start_local_cluster(n_workers: int, omp_threads: int | None) -> LocalCluster:
    """Worker processes of one thread each; the CPU executor's OpenMP threads split the cores between
    them (the nanny would set OMP_NUM_THREADS=1)."""
    threads = omp_threads or max(1, (os.cpu_count() or 1) // n_workers)
    have_bokeh = _module_available("bokeh")
    return LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":8787" if have_bokeh else ":0",  # without bokeh only an HTTP server: any port
        env={"OMP_NUM_THREADS": str(threads)},
    )


def _module_available(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def estimate_dataset(
    inputs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    model: str | os.PathLike[str],
    client: Client | None = None,
    n_workers: int | None = None,
    images_dir: str | os.PathLike[str] | None = None,
    recursive: bool = False,
    input_resolution: int | str | Mapping[str, int] = 257,
    max_poses: int = 1,
    score_threshold: float = 0.5,
    nms_radius: float = 20.0,
    flip_horizontal: bool = False,
    backend: str = "auto",
    precision: str = "fp32",
    device: int = -1,
    devices: Mapping[str, int] | Sequence[int] | None = None,
    resources: Mapping[str, float] | None = None,
    partition_size: int = 64,
    frames_per_task: int = DEFAULT_FRAMES_PER_TASK,
    posenet_cli: str | os.PathLike[str] | None = None,
    batch_size: int = 8,
    decode_threads: int | None = None,
    retries: int = 2,
    overwrite: bool = False,
    progress: bool = False,
    pipeline_cache_dir: str | os.PathLike[str] | None = None,
    omp_threads: int | None = None,
    echo: Any = None,
) -> JobResult:
    """Estimates the poses of every image of ``inputs`` on a Dask cluster; results under ``out``.

    inputs: image paths, folders, glob patterns, or one COCO annotations file (see collect_inputs); video
        files (by extension: VIDEO_SUFFIXES) among the paths and glob matches.
    out: the output folder (shards/, manifest.json, job.json, coco_results.json for a COCO input); it
        must be writable by every worker at the same path.
    model: a .pnb blob or a TF.js model.json (or its folder), readable by every worker at that path.
    client: a distributed.Client; None starts a LocalCluster of ``n_workers`` (default 1) processes of
        one thread each, closed at the end.
    input_resolution, max_poses, score_threshold, nms_radius, flip_horizontal, backend, precision,
        pipeline_cache_dir: as posenet.create_detector and Detector.estimate_poses take them.
    device, devices: the Vulkan device of each worker (DeviceMap, choose_device): ``devices`` a mapping
        of worker names to indices, or a list indexed by numeric worker names (a LocalCluster's 0..N-1);
        else the worker's POSENET_DEVICE, else ``device``.
    resources: Dask resources each task needs, e.g. {'GPU': 1} to run only on workers started with
        ``--resources GPU=1``.
    partition_size: images per task; frames_per_task: video frames per task (a video's frames are counted
        on the client by ``posenet video --count``, then cut into ranges);
    posenet_cli: the posenet executable that counts and runs video ranges (default $POSENET_CLI, else
        ``posenet`` on PATH), at the same path on every worker; only needed for video inputs.
    batch_size: images per network run (estimate_poses_batch);
        decode_threads: threads decoding ahead in each task (default 1 on the CPU backend, up to 8 else).
    retries: how many times a failing task is retried (a worker that dies is retried by the scheduler).
    overwrite: discard the results of a job with another configuration in ``out`` instead of refusing.
    progress: distributed's progress bar on stdout (the command line shows it at a terminal).
    omp_threads: CPU executor threads per worker of the LocalCluster this starts (default: cores / workers).
    echo: a callable(str) for what a terminal user wants to see (the dashboard's link, each worker's
        device); None prints nothing.

    Returns a JobResult (``ok`` False when partitions failed: their images have no lines). Raises
    InputError, ConfigMismatch, posenet.ConfigError / ModelError / DeviceError when the workers cannot
    make the detector.
    """
    started = time.perf_counter()
    say = echo or (lambda _message: None)
    dataset = collect_inputs(inputs if not isinstance(inputs, (str, os.PathLike)) else [inputs],
                             images_dir=images_dir, recursive=recursive)
    model_path = Path(model).resolve()
    if not model_path.exists():
        raise posenet.ConfigError(f"model {model}: no such file")
    resolution = _resolution(input_resolution)
    config = JobConfig(
        model=str(model_path),
        model_sha256=_model_digest(model_path),
        input_resolution=(resolution["width"], resolution["height"]),
        max_poses=int(max_poses),
        score_threshold=float(score_threshold),
        nms_radius=float(nms_radius),
        flip_horizontal=bool(flip_horizontal),
        backend=backend,
        precision=precision,
    )
    if backend not in ("auto", "cpu", "vulkan"):
        raise posenet.ConfigError(f"backend {backend!r}: should be auto, cpu or vulkan")
    if precision not in ("fp32", "fp16"):
        raise posenet.ConfigError(f"precision {precision!r}: should be fp32 or fp16")
    device_map = DeviceMap.of(devices, device)
    cache_dir = os.fspath(Path(pipeline_cache_dir).resolve()) if pipeline_cache_dir is not None else None
    out_path = Path(out).resolve()
    if frames_per_task < 1:
        raise ValueError(f"frames_per_task {frames_per_task}: must be at least 1")
    cli = find_posenet_cli(posenet_cli) if dataset.video_files else None
    with _job_lock(out_path):  # released when the job ends, however it ends
        _prepare_out(out_path, config, overwrite)
        if cli is not None:
            dataset.videos = _count_and_cut(dataset.video_files, cli, frames_per_task)

        partitions = dataset.partitions(partition_size)
        result = JobResult(out=out_path, images=len(dataset.images), partitions=len(partitions),
                           videos=len(dataset.video_files), frames=sum(v.stop - v.start for v in dataset.videos))
        # Until the job ends, job.json says which shards it will have and that it is not complete; a
        # merged COCO file of an earlier job would not be this one's.
        (out_path / "coco_results.json").unlink(missing_ok=True)
        _write_job(out_path, dataset, partitions, result, complete=False)
        todo = []
        for partition in partitions:
            counts = _shard_counts(out_path / "shards" / partition.shard, partition)
            if counts is None:
                todo.append(partition)
            else:
                result.skipped += 1
                result.poses += counts[0]
                result.errors += counts[1]

        cluster = None
        if client is None:
            cluster = _start_local_cluster(n_workers or 1, omp_threads)
            client = Client(cluster)
        plugin = DetectorPlugin(config, device_map, cache_dir, resources)
        # Video ranges run in the CLI's own process: the workers need no detector of their own for them.
        with_detector = any(p.kind == "images" for p in todo)
        try:
            result.dashboard = _dashboard_link(client)
            if result.dashboard:
                say(f"dashboard: {result.dashboard}")
            if with_detector:
                client.register_worker_plugin(plugin, name=plugin.name)
                described = client.run(_worker_description, config, device_map, cache_dir, resources)
                for address, (name, description) in sorted(described.items(), key=lambda kv: kv[1][0]):
                    if description is not None:
                        result.devices[name] = description
                        say(f"worker {name} ({address}): {description}")
            if todo:
                estimating = time.perf_counter()
                token = uuid.uuid4().hex[:8]  # distinct keys per job: a client never gets another job's futures
                futures = client.map(
                    run_partition,
                    todo,
                    key=[f"posenet-partition-{token}-{p.shard[:-6]}" for p in todo],
                    config=config,
                    devices=device_map,
                    out=str(out_path),
                    batch_size=batch_size,
                    decode_threads=decode_threads,
                    pipeline_cache_dir=cache_dir,
                    posenet_cli=cli,
                    retries=retries,
                    resources=dict(resources) if resources else None,
                    pure=False,
                )
                by_key = {f.key: p for f, p in zip(futures, todo)}
                if progress:
                    distributed.progress(futures)  # returns at the end, or at the first failed task
                for future in distributed.as_completed(futures):
                    partition = by_key[future.key]
                    if future.status == "finished":
                        summary = future.result()
                        result.computed += 1
                        result.computed_images += summary["images"]
                        result.computed_frames += summary["frames"]
                        result.poses += summary["poses"]
                        result.errors += summary["errors"]
                        result.devices.setdefault(str(summary["worker"]), summary["device"])
                    else:
                        try:
                            error = future.exception()
                            message = f"{type(error).__name__}: {error}"
                        except Exception as e:  # noqa: BLE001 - cancelled (the scheduler or the client went away)
                            message = f"{type(e).__name__}: {e}"
                        result.failed.append((partition.shard, message))
                    future.release()
                result.estimate_seconds = time.perf_counter() - estimating
        finally:
            if with_detector:
                try:
                    client.unregister_worker_plugin(plugin.name)
                except Exception:  # noqa: BLE001 - never hide the job's own outcome behind a clean-up error
                    pass
            if cluster is not None:
                client.close()
                cluster.close()
        _remove_temporaries(out_path / "shards")

        if dataset.coco_annotations is not None and result.ok:
            result.coco_results = out_path / "coco_results.json"
            data = json.dumps(_coco_results(out_path, partitions), separators=(",", ":"))
            _write_atomically(result.coco_results, data.encode())
        result.seconds = time.perf_counter() - started
        _write_job(out_path, dataset, partitions, result, complete=result.ok)
        return result


def _count_and_cut(video_files: Sequence[str], posenet_cli: str, frames_per_task: int) -> list[VideoRange]:
    """Each video's frames counted (``posenet video --count``, a few files at once), cut into ranges in
    file order. A file the CLI cannot read becomes one range [0, 0) carrying the error (its error line)."""

    def count(path: str) -> list[VideoRange]:
        try:
            return video_ranges(path, count_video_frames(path, posenet_cli), frames_per_task)
        except VideoInputError as e:
            return [VideoRange(path, 0, 0, error=str(e))]

    with ThreadPoolExecutor(max_workers=max(1, min(4, len(video_files)))) as pool:
        return [r for ranges in pool.map(count, video_files) for r in ranges]


def _write_job(out: Path, dataset: Dataset, partitions: Sequence[Partition], result: JobResult, complete: bool) -> None:
    """<out>/job.json: the job's shards in input order, whether all are there, and its totals."""
    job = {
        "complete": complete,
        "coco_annotations": dataset.coco_annotations,
        "images": result.images,
        "videos": result.videos,
        "frames": result.frames,
        "poses": result.poses if complete else None,
        "errors": result.errors if complete else None,
        "shards": [p.shard for p in partitions],
        "failed": [{"shard": s, "error": e} for s, e in result.failed],
        "devices": result.devices,
        "seconds": result.seconds,
        "images_per_second": result.images_per_second,
        "frames_per_second": result.frames_per_second,
    }
    _write_atomically(out / "job.json", (json.dumps(job, indent=1) + "\n").encode())


if __name__ == "__main__":
    # `python3 -m posenet.dask`: the command line (posenet/dask_cli.py), through the package's modules so
    # that what is pickled for the workers is posenet.dask.*, not __main__.*.
    from posenet.dask_cli import main as _main

    sys.exit(_main())
