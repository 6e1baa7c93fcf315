"""posenet.dask: dataset-scale estimation on a LocalCluster of two worker processes (CPU backend).

The results are compared with the C++ CLI of the same build (`posenet detect --json -`, `posenet eval
--json`) for exact equality (see test_parity.py on why exact). Faults are injected on the workers by a
WorkerPlugin of this module that wraps posenet.dask._load_image there: the worker process exits, or
the load raises, when it meets a marked image.
"""

import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

try:
    import cloudpickle
    from distributed import Client, LocalCluster, WorkerPlugin
except ImportError as e:  # pragma: no cover - depends on the machine
    pytest.skip(f"dask/distributed not importable ({e}); Debian: apt install python3-dask python3-distributed",
                allow_module_level=True)

import posenet
import posenet.dask as pdask
from conftest import gradient_image

# The fault plugin below travels to the workers by value: they cannot import this test module.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

TINY_RESOLUTION = 65


def write_ppm(path, image):
    h, w = image.shape[:2]
    path.write_bytes(b"P6\n%d %d\n255\n" % (w, h) + np.ascontiguousarray(image).tobytes())
    return path


def synthetic_images(folder, count, seed=0):
    """`count` small RGB images of different sizes as PPM files."""
    folder.mkdir(parents=True, exist_ok=True)
    return [write_ppm(folder / f"synthetic-{i:03d}.ppm", gradient_image(40 + 7 * (i % 5), 50 + 11 * (i % 3), seed + i))
            for i in range(count)]


def bad_images(folder, donor):
    """A truncated copy of `donor`, random bytes named .jpg, an empty .png, and a path that does not exist."""
    folder.mkdir(parents=True, exist_ok=True)
    truncated = folder / ("truncated" + donor.suffix)
    truncated.write_bytes(donor.read_bytes()[:200])
    garbage = folder / "garbage.jpg"
    garbage.write_bytes(np.random.default_rng(5).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    empty = folder / "empty.png"
    empty.write_bytes(b"")
    return [truncated, garbage, empty, folder / "missing.jpg"]


def cli_poses(cli, model, images, *extra):
    out = cli("detect", *images, "--model", model, "--backend", "cpu", "--json", "-", *extra)
    return [entry["poses"] for entry in json.loads(out)]


def result_lines(out):
    return list(pdask.read_results(out))


def assert_exactly_once(out, expected_paths):
    """Every input path has exactly one line across the job's shards, and nothing else is there."""
    lines = result_lines(out)
    paths = [line["path"] for line in lines]
    assert sorted(paths) == sorted(os.path.abspath(p) for p in expected_paths)
    assert len(set(paths)) == len(paths)
    assert not list((Path(out) / "shards").glob(".*.tmp")), "a temporary shard was left behind"
    return {line["path"]: line for line in lines}


class FaultPlugin(WorkerPlugin):
    """Wraps posenet.dask._load_image on each worker. mode 'exit': the first load of a marked image in any
    worker process (a marker file made with O_EXCL decides which) ends that process at once, as a crash
    or a lost machine would. mode 'raise': every load of a marked image raises RuntimeError (not an image
    error: the task fails). Teardown restores the loader."""

    def __init__(self, names, marker_dir, mode):
        self.names = set(names)
        self.marker_dir = str(marker_dir)
        self.mode = mode
        self.name = f"test-fault-{mode}"

    def setup(self, worker):
        import posenet.dask as module

        original = getattr(module, "_test_original_load_image", module._load_image)
        module._test_original_load_image = original
        names, marker_dir, mode = self.names, self.marker_dir, self.mode

        def load(path):
            name = os.path.basename(path)
            if name in names:
                if mode == "raise":
                    raise RuntimeError(f"injected failure at {name}")
                try:
                    fd = os.open(os.path.join(marker_dir, name + ".killed"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    pass
                else:
                    os.close(fd)
                    os._exit(17)
            return original(path)

        module._load_image = load

    def teardown(self, worker):
        import posenet.dask as module

        module._load_image = getattr(module, "_test_original_load_image", module._load_image)


class WorkerInfoLogs(WorkerPlugin):
    """Lets the worker logger's INFO records (the device lines) into client.get_worker_logs(); a
    LocalCluster keeps only warnings."""

    name = "test-worker-info-logs"

    def setup(self, worker):
        logging.getLogger("distributed.worker").setLevel(logging.INFO)


@pytest.fixture(scope="module")
def client():
    """Two worker processes of one thread each, as the task asks of the tests."""
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                           env={"OMP_NUM_THREADS": "1"})
    c = Client(cluster)
    c.register_worker_plugin(WorkerInfoLogs())
    yield c
    c.close()
    cluster.close()


@pytest.fixture
def fault(client):
    """Registers a FaultPlugin on the cluster for the test; unregistered (loader restored) after it."""
    registered = []

    def register(names, marker_dir, mode):
        plugin = FaultPlugin(names, marker_dir, mode)
        client.register_worker_plugin(plugin, name=plugin.name)
        registered.append(plugin.name)

    yield register
    for name in registered:
        with contextlib.suppress(ValueError):  # the test may have unregistered it itself
            client.unregister_worker_plugin(name)


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    """Eleven synthetic images and four bad ones, interleaved so that bad ones fall in several partitions."""
    root = tmp_path_factory.mktemp("tiny-set")
    good = synthetic_images(root / "good", 11)
    bad = bad_images(root / "bad", good[0])
    order = good[:3] + bad[:1] + good[3:6] + bad[1:2] + good[6:9] + bad[2:] + good[9:]
    return good, bad, order


def check_against_cli(out, good, bad, expected):
    by_path = assert_exactly_once(out, good + bad)
    for path, poses in zip(good, expected):
        line = by_path[os.path.abspath(path)]
        assert "error" not in line, line
        assert line["poses"] == poses, path
        image = posenet.load_image(path)
        assert (line["height"], line["width"]) == image.shape[:2]
    for path in bad:
        line = by_path[os.path.abspath(path)]
        assert "poses" not in line
        assert line["error_type"] == "ImageError" and path.name in line["error"], line


# ---------------------------------------------------------------------------------------------
# Without a cluster


def test_importing_posenet_does_not_import_dask():
    code = "import sys, posenet; assert 'dask' not in sys.modules and 'distributed' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_collect_inputs(tmp_path):
    good = synthetic_images(tmp_path / "photos", 3)
    (tmp_path / "photos" / "notes.txt").write_text("not an image")
    ds = pdask.collect_inputs([tmp_path / "photos", str(tmp_path / "photos" / "*.ppm"), good[1], tmp_path / "gone.jpg"])
    # The folder's images by name; the glob and the repeated path add nothing; a missing file stays (an error line).
    assert [i.path for i in ds.images] == [str(p) for p in good] + [str(tmp_path / "gone.jpg")]
    with pytest.raises(pdask.InputError, match="matches no file"):
        pdask.collect_inputs([str(tmp_path / "*.png")])
    # Video files (by extension, as paths or glob matches) are kept apart, each once, for counting.
    (tmp_path / "clips").mkdir()
    for name in ("a.mp4", "b.Y4M"):
        (tmp_path / "clips" / name).write_bytes(b"")
    ds = pdask.collect_inputs([tmp_path / "clip.mkv", str(tmp_path / "clips" / "*"), tmp_path / "clips" / "a.mp4", good[0]])
    assert ds.video_files == [str(tmp_path / "clip.mkv"), str(tmp_path / "clips" / "a.mp4"), str(tmp_path / "clips" / "b.Y4M")]
    assert [i.path for i in ds.images] == [str(good[0])]
    coco = tmp_path / "ann.json"
    coco.write_text(json.dumps({"images": [{"id": 7, "file_name": "a.jpg"}]}))
    with pytest.raises(pdask.InputError, match="only input"):
        pdask.collect_inputs([coco, good[0]])
    assert pdask.collect_inputs([coco], images_dir=tmp_path / "x").images == [pdask.ImageItem(str(tmp_path / "x" / "a.jpg"), 7)]


def test_shard_names_follow_the_content():
    a = pdask.Partition("images", (pdask.ImageItem("/d/1.jpg"), pdask.ImageItem("/d/2.jpg")))
    same = pdask.Partition("images", (pdask.ImageItem("/d/1.jpg"), pdask.ImageItem("/d/2.jpg")))
    other = pdask.Partition("images", (pdask.ImageItem("/d/1.jpg"), pdask.ImageItem("/d/3.jpg")))
    with_ids = pdask.Partition("images", (pdask.ImageItem("/d/1.jpg", 1), pdask.ImageItem("/d/2.jpg", 2)))
    assert a.shard == same.shard
    assert len({a.shard, other.shard, with_ids.shard}) == 3
    assert a.shard.startswith("images-") and a.shard.endswith(".jsonl")


def test_video_ranges_and_finding_the_cli(tmp_path, monkeypatch):
    ranges = pdask.video_ranges("/v.mp4", 12, 5)
    assert [(r.start, r.stop) for r in ranges] == [(0, 5), (5, 10), (10, 12)]
    assert pdask.video_ranges("/v.mp4", 0, 5) == []
    with pytest.raises(ValueError, match="frames_per_task 0"):
        pdask.video_ranges("/v.mp4", 3, 0)
    parts = pdask.Dataset(videos=ranges).partitions(4)
    assert [p.size for p in parts] == [5, 5, 2] and len({p.shard for p in parts}) == 3
    assert all(p.shard.startswith("video-") for p in parts)
    # The CLI: the argument, else $POSENET_CLI, else posenet on PATH; a clear error when none.
    tool = tmp_path / "bin" / "posenet"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    monkeypatch.delenv("POSENET_CLI", raising=False)
    with pytest.raises(posenet.ConfigError, match="posenet_cli=.*POSENET_CLI.*PATH"):
        pdask.find_posenet_cli()
    monkeypatch.setenv("PATH", str(tool.parent))
    assert pdask.find_posenet_cli() == str(tool)
    monkeypatch.setenv("POSENET_CLI", str(tmp_path / "missing"))
    with pytest.raises(posenet.ConfigError, match=r"\$POSENET_CLI .*missing.*not an executable"):
        pdask.find_posenet_cli()
    assert pdask.find_posenet_cli(tool) == str(tool)
    with pytest.raises(posenet.ConfigError, match="posenet_cli .*notes.txt"):
        pdask.find_posenet_cli(tmp_path / "notes.txt")


def test_choose_device():
    m = pdask.DeviceMap.of([0, 1])
    assert [pdask.choose_device(n, m, "auto", {}) for n in (0, 1, 2, "3")] == [0, 1, 0, 1]
    named = pdask.DeviceMap.of({"gpu-a": 3}, default=-1)
    assert pdask.choose_device("gpu-a", named, "vulkan", {}) == 3
    assert pdask.choose_device("gpu-b", named, "vulkan", {}) == -1
    assert pdask.choose_device("gpu-b", named, "vulkan", {"POSENET_DEVICE": "2"}) == 2
    assert pdask.choose_device("gpu-a", named, "cpu", {"POSENET_DEVICE": "2"}) == -1  # the CPU takes no device
    with pytest.raises(posenet.ConfigError, match="POSENET_DEVICE"):
        pdask.choose_device("w", pdask.DeviceMap(), "auto", {"POSENET_DEVICE": "first"})


def test_images_the_library_refuses_become_error_lines():
    # A batch that fails with ConfigError or ImageError runs again image by image: only the refused
    # image gets an error line. Other errors (a device failure) fail the task.
    class Detector:
        def estimate_poses_batch(self, images, **kwargs):
            if any(i.shape[0] == 1 for i in images):
                raise posenet.ConfigError("batch refused")
            return [self.estimate_poses(i) for i in images]

        def estimate_poses(self, image, **kwargs):
            if image.shape[0] == 1:
                raise posenet.ConfigError("image refused")
            if image.shape[0] == 3:
                raise posenet.DeviceError("device lost")
            return [{"score": float(image.shape[0])}]

    config = pdask.JobConfig(model="m", model_sha256="0")
    items = [pdask.ImageItem(f"/{n}.png") for n in "abcd"]
    unreadable = posenet.ImageError("/c.png: file not found")
    batch = [(items[0], np.zeros((5, 4, 3), np.uint8), None), (items[1], np.zeros((1, 4, 3), np.uint8), None),
             (items[2], None, unreadable), (items[3], np.zeros((2, 4, 3), np.uint8), None)]
    lines = pdask._estimate_batch(Detector(), batch, config)
    assert lines == [
        {"path": "/a.png", "width": 4, "height": 5, "poses": [{"score": 5.0}]},
        {"path": "/b.png", "error": "image refused", "error_type": "ConfigError"},
        {"path": "/c.png", "error": "/c.png: file not found", "error_type": "ImageError"},
        {"path": "/d.png", "width": 4, "height": 2, "poses": [{"score": 2.0}]},
    ]
    with pytest.raises(posenet.DeviceError):
        pdask._estimate_batch(Detector(), [(items[0], np.zeros((3, 4, 3), np.uint8), None)], config)


def test_workers_without_the_resources_make_no_detector():
    class Worker:  # what _serves reads of a distributed.Worker
        class state:
            total_resources = {"GPU": 1}

    assert pdask._serves(Worker(), None) and pdask._serves(Worker(), {"GPU": 1})
    assert not pdask._serves(Worker(), {"GPU": 2}) and not pdask._serves(Worker(), {"TPU": 1})


def test_one_job_at_a_time_per_output_folder(tmp_path, tiny_model_json):
    images = synthetic_images(tmp_path / "in", 1)
    with pdask._job_lock(tmp_path / "out"):
        with pytest.raises(pdask.OutputBusy, match="another job"):
            pdask.estimate_dataset(images, tmp_path / "out", model=tiny_model_json, client=object())


# ---------------------------------------------------------------------------------------------
# On the cluster


def test_synthetic_images_match_the_cli(client, tiny_set, tiny_blob, cli, tmp_path):
    good, bad, order = tiny_set
    result = pdask.estimate_dataset(order, tmp_path / "out", model=tiny_blob, client=client, backend="cpu",
                                    input_resolution=TINY_RESOLUTION, max_poses=3, score_threshold=0.0,
                                    partition_size=4, batch_size=3, decode_threads=3)
    assert result.ok and (result.images, result.errors, result.partitions, result.computed) == (15, 4, 4, 4)
    expected = cli_poses(cli, tiny_blob, good, "--input-resolution", TINY_RESOLUTION, "--max-poses", 3, "--score-threshold", 0)
    check_against_cli(tmp_path / "out", good, bad, expected)
    assert result.poses == sum(map(len, expected))
    # Lines in input order; one detector per worker process, each logged with its device.
    assert [line["path"] for line in result_lines(tmp_path / "out")] == [os.path.abspath(p) for p in order]
    assert sorted(result.devices) == ["0", "1"] and all("device index -1" in d for d in result.devices.values())
    logs = "\n".join(msg for worker_logs in client.get_worker_logs().values() for _, msg in worker_logs)
    assert "posenet: worker 0 runs" in logs and "posenet: worker 1 runs" in logs


def test_people_photos_match_the_cli(client, people_photos, default_model, cli, tmp_path):
    good = list(people_photos)
    bad = bad_images(tmp_path / "bad", good[0])
    inputs = good[:10] + bad[:2] + good[10:] + bad[2:]
    started = time.perf_counter()
    result = pdask.estimate_dataset(inputs, tmp_path / "out", model=default_model, client=client, backend="cpu",
                                    max_poses=5, partition_size=8)
    assert result.ok and result.errors == len(bad) and result.images == len(inputs)
    expected = cli_poses(cli, default_model, good, "--max-poses", 5)
    check_against_cli(tmp_path / "out", good, bad, expected)
    assert time.perf_counter() - started < 60


def test_a_worker_killed_mid_job(client, fault, tiny_set, tiny_blob, cli, tmp_path):
    good, bad, order = tiny_set
    marker = tmp_path / "markers"
    marker.mkdir()
    victim = good[5]  # the middle of the second partition
    fault([victim.name], marker, "exit")
    before = set(client.scheduler_info()["workers"])
    result = pdask.estimate_dataset(order, tmp_path / "out", model=tiny_blob, client=client, backend="cpu",
                                    input_resolution=TINY_RESOLUTION, partition_size=4, batch_size=2)
    assert (marker / (victim.name + ".killed")).exists(), "the worker was not killed"
    assert result.ok, result.failed
    expected = cli_poses(cli, tiny_blob, good, "--input-resolution", TINY_RESOLUTION)
    check_against_cli(tmp_path / "out", good, bad, expected)
    assert len(list((tmp_path / "out" / "shards").glob("*.jsonl"))) == result.partitions
    # The nanny restarts the process: a new worker (a new address) under the same name.
    deadline = time.monotonic() + 60
    while (len(client.scheduler_info()["workers"]) < 2 or set(client.scheduler_info()["workers"]) == before) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    after = client.scheduler_info()["workers"]
    assert len(after) == 2 and len(set(after) - before) == 1
    assert sorted(str(w["name"]) for w in after.values()) == ["0", "1"]


def test_rerun_after_an_interrupted_job(client, fault, tiny_set, tiny_blob, tmp_path):
    good, bad, order = tiny_set
    out = tmp_path / "out"
    options = dict(model=tiny_blob, client=client, backend="cpu", input_resolution=TINY_RESOLUTION, partition_size=3)
    # Two partitions of five fail (retries=0): the job ends without their shards.
    fault([good[0].name, good[9].name], tmp_path, "raise")
    first = pdask.estimate_dataset(order, out, retries=0, **options)
    assert not first.ok and len(first.failed) == 2 and first.computed == 3
    assert all("injected failure" in error for _, error in first.failed)
    assert json.loads((out / "job.json").read_text())["complete"] is False
    with pytest.raises(RuntimeError, match="2 of 5 partitions have no results"):
        list(pdask.read_results(out))
    assert len(list(pdask.read_results(out, allow_incomplete=True))) == 9
    done = {p: p.stat().st_mtime_ns for p in (out / "shards").glob("*.jsonl")}
    assert len(done) == 3
    client.unregister_worker_plugin("test-fault-raise")
    # The rerun computes only the two missing partitions and leaves the others' shards alone.
    second = pdask.estimate_dataset(order, out, **options)
    assert second.ok and (second.partitions, second.computed, second.skipped) == (5, 2, 3)
    assert {p: p.stat().st_mtime_ns for p in done} == done
    assert len(list(pdask.read_results(out))) == 15
    assert (second.images, second.errors) == (15, 4)
    assert_exactly_once(out, order)
    # A third run has nothing to do; another configuration is refused, unless overwrite.
    third = pdask.estimate_dataset(order, out, **options)
    assert (third.computed, third.skipped, third.poses) == (0, 5, second.poses)
    with pytest.raises(pdask.ConfigMismatch, match="max_poses"):
        pdask.estimate_dataset(order, out, max_poses=2, **options)
    fourth = pdask.estimate_dataset(order, out, max_poses=2, overwrite=True, **options)
    assert fourth.ok and fourth.computed == 5
    assert len(list((out / "shards").glob("*.jsonl"))) == 5


def coco_annotations(images, ids):
    """A COCO person_keypoints file for `images`: one made-up person per image."""
    annotations = []
    for n, (path, image_id) in enumerate(zip(images, ids)):
        h, w = posenet.load_image(path).shape[:2]
        keypoints = []
        for k in range(17):
            keypoints += [w * (0.3 + 0.02 * k), h * (0.2 + 0.04 * k), 2]
        annotations.append({"id": 1000 + n, "image_id": image_id, "category_id": 1, "iscrowd": 0, "num_keypoints": 17,
                            "keypoints": keypoints, "bbox": [0.25 * w, 0.15 * h, 0.5 * w, 0.75 * h], "area": 0.3 * w * h})
    return {"images": [{"id": i, "file_name": p.name, "width": 0, "height": 0} for p, i in zip(images, ids)],
            "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}


def check_coco(client, cli, model, annotations, images_dir, tmp_path, *resolution):
    options = ["--max-poses", "20", "--score-threshold", "0.1", "--nms-radius", "20"]
    expected_file = tmp_path / "eval.json"
    cli("eval", "--annotations", annotations, "--images", images_dir, "--model", model, "--backend", "cpu",
        "--json", expected_file, *options, *resolution)
    result = pdask.estimate_dataset([annotations], tmp_path / "out", images_dir=images_dir, model=model,
                                    client=client, backend="cpu", max_poses=20, score_threshold=0.1, nms_radius=20,
                                    partition_size=4, **({"input_resolution": resolution[1]} if resolution else {}))
    assert result.ok and result.coco_results == (tmp_path / "out" / "coco_results.json").resolve()
    got = json.loads(result.coco_results.read_text())
    expected = json.loads(expected_file.read_text())
    assert got == expected
    assert len(got) == result.poses and {r["category_id"] for r in got} <= {1}
    ids = {image["id"] for image in json.loads(Path(annotations).read_text())["images"]}
    assert {line["image_id"] for line in result_lines(tmp_path / "out")} == ids


def test_coco_results_equal_posenet_eval_synthetic(client, tiny_blob, cli, tmp_path):
    images = synthetic_images(tmp_path / "coco", 9, seed=40)
    ann = tmp_path / "coco" / "person_keypoints.json"
    ann.write_text(json.dumps(coco_annotations(images, [5 + 3 * i for i in range(len(images))])))
    check_coco(client, cli, tiny_blob, ann, tmp_path / "coco", tmp_path, "--input-resolution", str(TINY_RESOLUTION))


def test_coco_results_equal_posenet_eval_shared(client, shared_dir, default_model, cli, tmp_path):
    coco = shared_dir / "images" / "coco"
    ann = coco / "person_keypoints.json"
    if not ann.is_file():
        pytest.skip(f"no COCO annotations at {ann}")
    check_coco(client, cli, default_model, ann, coco, tmp_path)


@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory, cli, tiny_blob):
    """A 12-frame MP4 made by the CLI itself from synthetic images (its overlay output)."""
    root = tmp_path_factory.mktemp("tiny-video")
    (root / "frames").mkdir()
    for i in range(12):
        write_ppm(root / "frames" / f"frame-{i:02d}.ppm", gradient_image(48, 64, 100 + i))
    cli("video", root / "frames", "--overlay", root / "clip.mp4", "--model", tiny_blob, "--backend", "cpu",
        "--input-resolution", TINY_RESOLUTION, "--quiet")
    return root / "clip.mp4"


def test_video_ranges_match_the_cli(client, tiny_video, tiny_blob, tiny_set, build_dir, cli, tmp_path):
    good, _, _ = tiny_set
    posenet_cli = build_dir / "tools" / "posenet"
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(9).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    estimation = ["--input-resolution", TINY_RESOLUTION, "--max-poses", 3, "--score-threshold", 0]
    direct = [json.loads(line) for line in
              cli("video", tiny_video, "--jsonl", "-", "--model", tiny_blob, "--backend", "cpu", *estimation).splitlines()]
    frames = int(cli("video", tiny_video, "--count"))
    assert frames == len(direct) >= 10
    inputs = [tiny_video, good[0], corrupt, good[1]]
    options = dict(model=tiny_blob, client=client, backend="cpu", input_resolution=TINY_RESOLUTION, max_poses=3,
                   score_threshold=0.0, frames_per_task=5, posenet_cli=posenet_cli)
    result = pdask.estimate_dataset(inputs, tmp_path / "out", **options)
    ranges = -(-frames // 5)
    assert result.ok, result.failed
    assert (result.images, result.videos, result.frames, result.errors) == (2, 2, frames, 1)
    assert (result.partitions, result.computed) == (1 + ranges + 1, 1 + ranges + 1)
    assert result.computed_frames == frames and result.poses == sum(len(d["poses"]) for d in direct) + sum(
        len(p) for p in cli_poses(cli, tiny_blob, good[:2], *estimation))
    lines = result_lines(tmp_path / "out")
    # The images first (as image shards are), then each video's frames in order, every frame once.
    assert [line["path"] for line in lines[:2]] == [str(good[0]), str(good[1])]
    video_lines = [line for line in lines if line["path"] == str(tiny_video)]
    assert [{k: v for k, v in line.items() if k != "path"} for line in video_lines] == direct
    assert lines[2:2 + frames] == video_lines
    assert lines[2 + frames:] == [{"path": str(corrupt), "error": lines[-1]["error"], "error_type": "VideoInputError"}]
    assert "corrupt.mp4" in lines[-1]["error"], lines[-1]
    assert "frames of 2 videos" in result.summary_line()
    job = json.loads((tmp_path / "out" / "job.json").read_text())
    assert job["complete"] and (job["videos"], job["frames"]) == (2, frames)
    # Resumable: a rerun computes nothing; a lost range shard is the only one run again.
    again = pdask.estimate_dataset(inputs, tmp_path / "out", **options)
    assert (again.computed, again.skipped, again.poses, again.errors) == (0, result.partitions, result.poses, 1)
    video_shard = next(p for p in pdask.Dataset(videos=pdask.video_ranges(str(tiny_video), frames, 5)).partitions(1))
    (tmp_path / "out" / "shards" / video_shard.shard).unlink()
    third = pdask.estimate_dataset(inputs, tmp_path / "out", **options)
    assert (third.computed, third.computed_frames) == (1, 5)
    assert result_lines(tmp_path / "out") == lines


def test_a_video_that_fails_mid_range_keeps_its_frames_and_an_error_line(tmp_path, tiny_blob, build_dir):
    # A fake CLI (a shell script) that prints two frames of the range, then fails naming the file.
    video = tmp_path / "cut.mp4"
    video.write_bytes(b"")
    fake = tmp_path / "posenet"
    fake.write_text("#!/bin/sh\n"
                    "echo '{\"frame\":5,\"timestamp_us\":0,\"width\":4,\"height\":3,\"poses\":[]}'\n"
                    "echo '{\"frame\":6,\"timestamp_us\":1,\"width\":4,\"height\":3,\"poses\":[]}'\n"
                    f"echo 'posenet video: error: {video}: truncated data' >&2\nexit 1\n")
    fake.chmod(0o755)
    config = pdask.JobConfig(model=str(tiny_blob), model_sha256="0", backend="cpu")
    (tmp_path / "out" / "shards").mkdir(parents=True)
    partition = pdask.Partition("video", video=pdask.VideoRange(str(video), 5, 10))
    summary = pdask.run_partition(partition, config=config, devices=pdask.DeviceMap(), out=str(tmp_path / "out"),
                                  posenet_cli=str(fake))
    assert (summary["frames"], summary["errors"]) == (2, 1)
    shard = tmp_path / "out" / "shards" / partition.shard
    lines = [json.loads(line) for line in shard.read_text().splitlines()]
    assert [line.get("frame") for line in lines] == [5, 6, 7]
    assert lines[-1] == {"path": str(video), "frame": 7, "error": f"{video}: truncated data", "error_type": "VideoInputError"}
    assert pdask._shard_counts(shard, partition) == (0, 1)  # complete: a rerun keeps it
    # A failure that is not the file's (the model, a device) fails the task, for Dask to retry.
    fake.write_text("#!/bin/sh\necho 'posenet video: error: device lost' >&2\nexit 1\n")
    with pytest.raises(RuntimeError, match="device lost"):
        pdask.run_partition(partition, config=config, devices=pdask.DeviceMap(), out=str(tmp_path / "out"),
                            posenet_cli=str(fake))


def run_cli(*args, timeout=120):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(Path(posenet.__file__).parents[1]), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "posenet.dask", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_command_line(client, fault, tiny_set, tiny_blob, tiny_video, build_dir, cli, tmp_path):
    good, bad, order = tiny_set
    common = ["--scheduler", client.scheduler.address, "--model", tiny_blob, "--backend", "cpu",
              "--input-resolution", TINY_RESOLUTION, "--partition-size", 5]
    r = run_cli(*common, *order, "--out", tmp_path / "out", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("15 images, ") and " 4 errors, " in r.stdout and "images/s" in r.stdout, r.stdout
    assert "worker 0 " in r.stderr and "device index -1" in r.stderr
    assert_exactly_once(tmp_path / "out", order)
    # Usage errors: 2, with the reason.
    r = run_cli(*common, *order, "--out", tmp_path / "out", "--max-poses", 3)
    assert r.returncode == 2 and "another configuration" in r.stderr and "--force" in r.stderr
    r = run_cli(*common, tmp_path / "clip.mkv", "--out", tmp_path / "out2", "--posenet-cli", tmp_path / "nothing")
    assert r.returncode == 2 and "nothing" in r.stderr and "not an executable" in r.stderr, r.stderr
    r = run_cli(*common, tiny_video, "--out", tmp_path / "out2", "--frames-per-task", 0)
    assert r.returncode == 2 and "--frames-per-task 0" in r.stderr, r.stderr
    r = run_cli(*common, tiny_video, "--out", tmp_path / "out2", "--frames-per-task", 4, "--no-progress",
                "--posenet-cli", build_dir / "tools" / "posenet")
    frames = int(cli("video", tiny_video, "--count"))
    assert r.returncode == 0 and f"0 images, {frames} frames of 1 videos" in r.stdout, (r.stdout, r.stderr)
    assert len(result_lines(tmp_path / "out2")) == frames
    r = run_cli("--model", tiny_blob, good[0])
    assert r.returncode == 2 and "--out" in r.stderr
    # A failed job: 1, naming the partition and the error.
    fault([good[0].name], tmp_path, "raise")
    r = run_cli(*common, *order, "--out", tmp_path / "out3", "--retries", 0)
    assert r.returncode == 1 and "injected failure" in r.stderr and "1 failed" in r.stdout, (r.stdout, r.stderr)
