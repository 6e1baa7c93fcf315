"""The Python package gives the C++ API's poses: compared with `posenet detect --json -` of the same
build (the CLI calls PoseDetector::estimate_poses on posenet::load_image's pixels).

The CLI's JSON holds each float32 coordinate as a double printed round-trippably (nlohmann::json
prints the shortest text that parses back to the same double), and Python's floats are those
doubles too, so for the same backend on the same pixels the values are compared for exact equality.
"""

import json

import numpy as np

import posenet
from conftest import gradient_image


def cli_poses(cli, model, images, *extra):
    out = cli("detect", *images, "--model", model, "--backend", "cpu", "--json", "-", *extra)
    return [entry["poses"] for entry in json.loads(out)]


def test_bytes_model_equals_path_model(tiny_blob):
    by_path = posenet.create_detector(tiny_blob, input_resolution=97, backend="cpu")
    by_bytes = posenet.create_detector(tiny_blob.read_bytes(), input_resolution=97, backend="cpu")
    by_bytearray = posenet.create_detector(bytearray(tiny_blob.read_bytes()), input_resolution=97, backend="cpu")
    by_view = posenet.create_detector(memoryview(tiny_blob.read_bytes()), input_resolution=97, backend="cpu")
    assert by_bytes.model_info == by_path.model_info
    img = gradient_image(90, 70, 9)
    expected = by_path.estimate_poses(img, max_poses=3, score_threshold=0.0)
    for d in (by_bytes, by_bytearray, by_view):
        assert d.estimate_poses(img, max_poses=3, score_threshold=0.0) == expected


def test_tiny_model_matches_the_cli(tiny_blob, cli, tmp_path):
    images = []
    for i, (h, w) in enumerate([(60, 50), (33, 80)]):
        img = gradient_image(h, w, i)
        path = tmp_path / f"photo{i}.ppm"
        path.write_bytes(b"P6\n%d %d\n255\n" % (w, h) + img.tobytes())
        images.append(path)
    d = posenet.create_detector(tiny_blob, input_resolution=65, backend="cpu")
    for extra, kwargs in (([], {}), (["--max-poses", "4", "--score-threshold", "0", "--flip"],
                                     {"max_poses": 4, "score_threshold": 0.0, "flip_horizontal": True})):
        expected = cli_poses(cli, tiny_blob, images, "--input-resolution", "65", *extra)
        got = [d.estimate_poses(posenet.load_image(p), **kwargs) for p in images]
        assert got == expected


def test_people_photos_match_the_cli(default_model, people_photos, cli):
    d = posenet.create_detector(default_model, backend="cpu")
    photos = [str(p) for p in people_photos]
    images = [posenet.load_image(p) for p in photos]
    # Single pose one call per image; multi-pose as one batch (batch == one-by-one is test_api's).
    expected = cli_poses(cli, default_model, photos)
    for photo, img, e in zip(photos, images, expected):
        assert d.estimate_poses(img) == e, photo
    expected = cli_poses(cli, default_model, photos, "--max-poses", "5")
    for photo, got, e in zip(photos, d.estimate_poses_batch(images, max_poses=5), expected):
        assert got == e, photo


def test_people_photo_views(default_model, people_photos):
    # A crop (read in place) and a subsampled view (copied) give their contiguous copies' poses.
    d = posenet.create_detector(default_model, backend="cpu")
    img = posenet.load_image(people_photos[0])
    for view in (img[10:-10, 5:-5], img[::2, ::2]):
        assert d.estimate_poses(view, max_poses=3) == d.estimate_poses(np.ascontiguousarray(view), max_poses=3)
    # The same pixels as float32 give the same poses as uint8.
    assert d.estimate_poses(img.astype(np.float32)) == d.estimate_poses(img)


def test_default_model_on_this_machines_best_backend(default_model, people_photos):
    # Whatever 'auto' picks here runs and returns pose-detection-shaped poses.
    d = posenet.create_detector(default_model)
    poses = d.estimate_poses(posenet.load_image(people_photos[0]), max_poses=5)
    assert poses and all(len(p["keypoints"]) == 17 for p in poses)
