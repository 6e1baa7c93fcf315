"""The package's API on a tiny model written by conftest: needs neither ../shared nor a real model."""

import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import posenet
from conftest import REPO, gradient_image


def ppm_bytes(img):
    h, w, _ = img.shape
    return b"P6\n%d %d\n255\n" % (w, h) + np.ascontiguousarray(img).tobytes()


def test_module_constants():
    assert re.fullmatch(r"\d+\.\d+\.\d+", posenet.__version__)
    assert len(posenet.KEYPOINT_NAMES) == 17
    assert posenet.KEYPOINT_NAMES[0] == "nose" and posenet.KEYPOINT_NAMES[16] == "right_ankle"
    assert len(posenet.ADJACENT_PAIRS) == 16 and posenet.ADJACENT_PAIRS[0] == (0, 1)


def test_version_is_the_projects():
    meson_build = REPO / "meson.build"
    if not meson_build.is_file():
        pytest.skip("no meson.build beside the tests")
    assert f"version : '{posenet.__version__}'" in meson_build.read_text()


def test_exception_hierarchy():
    assert issubclass(posenet.Error, RuntimeError)
    assert issubclass(posenet.ConfigError, posenet.Error) and issubclass(posenet.ConfigError, ValueError)
    for cls in (posenet.ModelError, posenet.ImageError, posenet.DeviceError):
        assert issubclass(cls, posenet.Error)
    assert posenet.ConfigError.__module__ == "posenet"


def test_list_devices():
    devices = posenet.list_devices()
    assert isinstance(devices, list)
    for d in devices:
        assert set(d) == {"index", "name", "type", "driver", "memory_bytes"}
        assert d["type"] in ("discrete", "integrated", "virtual", "cpu", "other")


def test_detector_properties(tiny_detector):
    info = tiny_detector.model_info
    assert info["architecture"] == "MobileNetV1"
    assert info["output_stride"] == 8
    assert info["quant_bytes"] == 4
    assert info["input_resolution"] == {"width": 129, "height": 129}
    assert info["layers"] > 0 and info["parameters"] > 0
    assert tiny_detector.backend == "cpu"
    assert tiny_detector.device_name.startswith("cpu")
    assert tiny_detector.device_index == -1
    assert "MobileNetV1" in repr(tiny_detector)


def test_dispose(tiny_model_json):
    with posenet.create_detector(tiny_model_json, backend="cpu") as d:
        assert len(d.estimate_poses(gradient_image(20, 20))) == 1
        assert not d.disposed
    assert d.disposed and "disposed" in repr(d)
    with pytest.raises(posenet.ConfigError, match="used after dispose"):
        d.estimate_poses(gradient_image(20, 20))
    with pytest.raises(posenet.ConfigError, match="used after dispose"):
        d.model_info
    d.dispose()  # again: nothing to do


def test_input_resolution_forms(tiny_model_json):
    # TF.js's rounding for stride 8: 300 -> 297, 200 -> 201; a dict sets each side.
    d = posenet.create_detector(tiny_model_json, input_resolution=300, backend="cpu")
    assert d.model_info["input_resolution"] == {"width": 297, "height": 297}
    d = posenet.create_detector(tiny_model_json, input_resolution={"width": 300, "height": 200}, backend="cpu")
    assert d.model_info["input_resolution"] == {"width": 297, "height": 201}
    d = posenet.create_detector(pathlib.Path(tiny_model_json), backend="cpu")  # PathLike, default 257
    assert d.model_info["input_resolution"] == {"width": 257, "height": 257}


def test_poses_are_shaped_like_pose_detections(tiny_detector):
    poses = tiny_detector.estimate_poses(gradient_image(120, 90))
    assert isinstance(poses, list) and len(poses) == 1  # the single-pose decoder always returns one
    pose = poses[0]
    assert set(pose) == {"score", "keypoints"}
    assert isinstance(pose["score"], float)
    assert [k["name"] for k in pose["keypoints"]] == list(posenet.KEYPOINT_NAMES)
    for k in pose["keypoints"]:
        assert set(k) == {"x", "y", "score", "name"}
        assert all(isinstance(k[f], float) for f in ("x", "y", "score"))
        assert 0.0 <= k["score"] <= 1.0


def test_multi_pose_and_flip(tiny_detector):
    img = gradient_image(100, 140)
    poses = tiny_detector.estimate_poses(img, max_poses=4, score_threshold=0.0, nms_radius=5)
    assert 1 <= len(poses) <= 4  # in decode order (by root score), as pose-detection returns them
    single = tiny_detector.estimate_poses(img)[0]
    flipped = tiny_detector.estimate_poses(img, flip_horizontal=True)[0]
    assert [k["y"] for k in flipped["keypoints"]] == [k["y"] for k in single["keypoints"]]
    assert flipped["keypoints"] != single["keypoints"]


def test_config_errors_name_the_field(tiny_model_json, tiny_detector):
    img = gradient_image(40, 40)
    with pytest.raises(posenet.ConfigError, match="maxPoses 0"):
        tiny_detector.estimate_poses(img, max_poses=0)
    with pytest.raises(ValueError, match=r"scoreThreshold 1\.5"):
        tiny_detector.estimate_poses(img, max_poses=2, score_threshold=1.5)
    with pytest.raises(posenet.Error, match="nmsRadius 0"):
        tiny_detector.estimate_poses(img, max_poses=2, nms_radius=0)
    with pytest.raises(posenet.ConfigError, match="outputStride: the config says 16"):
        posenet.create_detector(tiny_model_json, output_stride=16, backend="cpu")
    with pytest.raises(posenet.ConfigError, match="architecture: the config says ResNet50"):
        posenet.create_detector(tiny_model_json, architecture="ResNet50", backend="cpu")
    with pytest.raises(posenet.ConfigError, match="architecture 'ResNet'"):
        posenet.create_detector(tiny_model_json, architecture="ResNet")
    with pytest.raises(posenet.ConfigError, match="multiplier 0.6"):
        posenet.create_detector(tiny_model_json, multiplier=0.6)
    with pytest.raises(posenet.ConfigError, match="quantBytes 3"):
        posenet.create_detector(tiny_model_json, quant_bytes=3)
    with pytest.raises(posenet.ConfigError, match="backend 'gpu'"):
        posenet.create_detector(tiny_model_json, backend="gpu")
    with pytest.raises(posenet.ConfigError, match="precision 'fp8'"):
        posenet.create_detector(tiny_model_json, precision="fp8")
    with pytest.raises(posenet.ConfigError, match="device -5"):
        posenet.create_detector(tiny_model_json, device=-5)
    with pytest.raises(posenet.ConfigError, match="inputResolution"):
        posenet.create_detector(tiny_model_json, input_resolution={"width": 0, "height": 100})
    with pytest.raises(posenet.ConfigError, match="'width' and 'height'"):
        posenet.create_detector(tiny_model_json, input_resolution={"width": 100})
    with pytest.raises(posenet.ConfigError, match="unknown key 'w'"):
        posenet.create_detector(tiny_model_json, input_resolution={"w": 1, "width": 100, "height": 100})
    with pytest.raises(posenet.ConfigError, match="inputResolution size 99999999999"):
        posenet.create_detector(tiny_model_json, input_resolution=99999999999)
    with pytest.raises(TypeError, match="input_resolution"):
        posenet.create_detector(tiny_model_json, input_resolution="257")
    with pytest.raises(TypeError):
        posenet.create_detector(12345)
    with pytest.raises(TypeError, match="log"):
        posenet.create_detector(tiny_model_json, log="not callable")


def test_model_errors(tmp_path):
    with pytest.raises(posenet.ModelError, match="missing.pnb"):
        posenet.create_detector(tmp_path / "missing.pnb", backend="cpu")
    (tmp_path / "garbage.pnb").write_bytes(b"this is not a model at all")
    with pytest.raises(posenet.ModelError, match="garbage.pnb"):
        posenet.create_detector(tmp_path / "garbage.pnb", backend="cpu")
    with pytest.raises(posenet.ModelError):
        posenet.create_detector(b"this is not a model at all", backend="cpu")
    with pytest.raises(posenet.ConfigError, match="empty"):
        posenet.create_detector(b"", backend="cpu")
    with pytest.raises(posenet.ConfigError, match="no model file given"):
        posenet.create_detector("", backend="cpu")


def test_bad_arrays_are_clear_errors(tiny_detector):
    img = gradient_image(30, 40)
    cases = [
        (img.astype(np.float64), TypeError, r"dtype float64 .*shape \(30, 40, 3\)"),
        (img.astype(np.int32), TypeError, "dtype int32"),
        (img.astype(np.uint16), TypeError, "dtype uint16"),
        (img.reshape(-1), posenet.ConfigError, r"shape \(3600,\) has 1 dimensions"),
        (img[None], posenet.ConfigError, r"shape \(1, 30, 40, 3\) has 4 dimensions"),
        (img[:, :, :2], posenet.ConfigError, r"shape \(30, 40, 2\) has 2 channels"),
        (np.zeros((30, 40, 5), np.uint8), posenet.ConfigError, "5 channels"),
        (img[:, :, :1].astype(np.float32), posenet.ConfigError, r"float32 images take 3 \(RGB\)"),
        (np.zeros((30, 40, 4), np.float32), posenet.ConfigError, "4 channels"),
        (np.zeros((0, 40, 3), np.uint8), posenet.ConfigError, r"shape \(0, 40, 3\) is empty"),
        (np.zeros((30, 0), np.uint8), posenet.ConfigError, "is empty"),
        (img.tolist(), TypeError, "expected a NumPy array"),
        ("photo.png", TypeError, "expected a NumPy array"),
    ]
    for array, error, message in cases:
        with pytest.raises(error, match=message):
            tiny_detector.estimate_poses(array)
    with pytest.raises(posenet.ConfigError, match=r"images\[1\]: shape"):
        tiny_detector.estimate_poses_batch([img, img[:, :, :2]])
    with pytest.raises(TypeError, match="list of image arrays"):
        tiny_detector.estimate_poses_batch(img)


def keypoints(poses):
    return [[(k["x"], k["y"], k["score"]) for k in p["keypoints"]] + [p["score"]] for p in poses]


def test_views_give_the_poses_of_their_contiguous_copy(tiny_detector):
    img = gradient_image(161, 203, seed=3)
    views = {
        "crop": img[10:-10, 5:-5],                      # read in place: rows of packed pixels
        "every other pixel": img[::2, ::2],             # copied
        "upside down": img[::-1],                       # negative stride: copied
        "BGR as RGB": img[..., ::-1],                   # negative channel stride: copied
        "Fortran order": np.asfortranarray(img),        # copied
        "read-only": np.frombuffer(img.tobytes(), np.uint8).reshape(img.shape),
        "RGBA crop": np.dstack([img, np.full(img.shape[:2], 7, np.uint8)])[3:, 4:],
        "float crop": img.astype(np.float32)[1:-2, 3:],
    }
    for name, view in views.items():
        copy = np.ascontiguousarray(view)
        for kwargs in ({}, {"max_poses": 3, "score_threshold": 0.0}):
            assert keypoints(tiny_detector.estimate_poses(view, **kwargs)) == keypoints(
                tiny_detector.estimate_poses(copy, **kwargs)
            ), name


def test_pixel_formats_agree(tiny_detector):
    img = gradient_image(77, 64, seed=5)
    rgb = keypoints(tiny_detector.estimate_poses(img))
    rgba = np.dstack([img, np.zeros(img.shape[:2], np.uint8)])
    assert keypoints(tiny_detector.estimate_poses(rgba)) == rgb  # alpha is ignored
    assert keypoints(tiny_detector.estimate_poses(img.astype(np.float32))) == rgb  # same values in float32
    grey = img[:, :, 1]
    grey3 = np.repeat(grey[:, :, None], 3, axis=2)
    assert keypoints(tiny_detector.estimate_poses(grey)) == keypoints(tiny_detector.estimate_poses(grey3))
    assert keypoints(tiny_detector.estimate_poses(grey[:, :, None])) == keypoints(tiny_detector.estimate_poses(grey3))


def test_batch_equals_one_by_one(tiny_detector):
    images = [gradient_image(120, 90, 1), gradient_image(50, 200, 2)[:, :, 0], gradient_image(64, 64, 3)]
    images.append(np.dstack([images[0], images[0][:, :, :1]]))  # RGBA
    for kwargs in ({}, {"max_poses": 3, "score_threshold": 0.0, "flip_horizontal": True}):
        batch = tiny_detector.estimate_poses_batch(images, **kwargs)
        assert len(batch) == len(images)
        for img, poses in zip(images, batch):
            assert keypoints(poses) == keypoints(tiny_detector.estimate_poses(img, **kwargs))
    # A batch mixing uint8 and float32 runs in float32; the poses are still the one-by-one ones.
    mixed = images + [gradient_image(70, 80, 4).astype(np.float32)]
    for img, poses in zip(mixed, tiny_detector.estimate_poses_batch(mixed)):
        assert keypoints(poses) == keypoints(tiny_detector.estimate_poses(img))
    assert tiny_detector.estimate_poses_batch([]) == []
    assert len(tiny_detector.estimate_poses_batch(tuple(images[:2]))) == 2


def test_load_and_decode_image(tmp_path):
    img = gradient_image(23, 31)
    (tmp_path / "photo.ppm").write_bytes(ppm_bytes(img))
    loaded = posenet.load_image(tmp_path / "photo.ppm")
    assert loaded.dtype == np.uint8 and loaded.shape == (23, 31, 3) and loaded.flags.c_contiguous
    assert np.array_equal(loaded, img)
    assert np.array_equal(posenet.decode_image(ppm_bytes(img)), img)
    with pytest.raises(posenet.ImageError, match="missing.png") as e:
        posenet.load_image(tmp_path / "missing.png")
    assert e.value.file == str(tmp_path / "missing.png")
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    with pytest.raises(posenet.ImageError, match="corrupt.png"):
        posenet.load_image(str(tmp_path / "corrupt.png"))
    with pytest.raises(posenet.ImageError, match="clip.bin"):
        posenet.decode_image(b"garbage", "clip.bin")


def test_log_callback(tiny_model_json):
    messages = []
    d = posenet.create_detector(tiny_model_json, backend="cpu", log=lambda level, text: messages.append((level, text)))
    d.estimate_poses(gradient_image(20, 20))
    for level, text in messages:
        assert level in ("debug", "info", "warning", "error") and isinstance(text, str)


def run_python(code, **env):
    """Runs `code` in a fresh interpreter that imports this posenet, with `env` added."""
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(posenet.__file__)), **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def test_no_vulkan_device(tiny_model_json):
    # With no Vulkan driver, 'auto' falls back to the CPU and says so through the log callback (from
    # inside the constructor, where the GIL is released); 'vulkan' is a DeviceError. A raising
    # callback is reported as unraisable and does not unwind through the library.
    code = f"""
import posenet
messages = []
d = posenet.create_detector({str(tiny_model_json)!r}, log=lambda level, text: messages.append((level, text)))
print("backend", d.backend)
print("messages", messages)
def bad(level, text):
    raise KeyError("from the callback")
print("still", posenet.create_detector({str(tiny_model_json)!r}, log=bad).backend)
try:
    posenet.create_detector({str(tiny_model_json)!r}, backend="vulkan")
except posenet.DeviceError as e:
    print("DeviceError", e)
"""
    result = run_python(code, VK_ICD_FILENAMES="/nonexistent.json", VK_DRIVER_FILES="/nonexistent.json")
    assert result.returncode == 0, result.stderr
    assert "backend cpu" in result.stdout
    assert "('warning', 'no Vulkan device" in result.stdout  # validation-layer errors may come first
    assert "still cpu" in result.stdout
    assert "KeyError" in result.stderr and "posenet log callback" in result.stderr
    assert "DeviceError" in result.stdout


def test_example_script(tiny_model_json, tmp_path):
    example = REPO / "examples" / "python" / "estimate.py"
    if not example.is_file():
        pytest.skip(f"no {example}")
    (tmp_path / "photo.ppm").write_bytes(ppm_bytes(gradient_image(60, 50)))
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(posenet.__file__)))
    result = subprocess.run(
        [sys.executable, str(example), str(tmp_path / "photo.ppm"), "--model", str(tiny_model_json), "--backend", "cpu"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "nose" in result.stdout and "pose 0" in result.stdout
