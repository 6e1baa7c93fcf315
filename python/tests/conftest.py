"""Fixtures of the Python tests.

Environment (tests/run_tests.sh sets them):
  POSENET_TEST_MODEL   the default model (.pnb); default <repo>/.cache/models/mobilenet-float-075-stride16.pnb
  POSENET_SHARED_DIR   the shared photos and models; default <repo>/../shared
  POSENET_BUILD_DIR    the meson build folder whose tools/posenet is the C++ reference; default: the
                       folder above the imported package when it is <build>/python/posenet
Tests that need one of these skip with the reason when it is absent. Everything else runs on a tiny
TF.js model written here (tiny_model_json), which the library converts on load.
"""

import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

import posenet

REPO = pathlib.Path(__file__).resolve().parents[2]


def _env_path(name, default):
    value = os.environ.get(name)
    return pathlib.Path(value) if value else default


def write_tiny_model(folder):
    """The C++ tests' TinyModel (tests/tiny_model.h) as a TF.js graph model: three stride-2 3x3
    convs of 16 channels (output stride 8, a MobileNetV1 0.5 as far as the converter can tell) and
    the four heads, with deterministic weights. Returns the model.json path."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    same = "U0FNRQ=="  # base64 "SAME"

    def conv_attr(stride):
        s = str(stride)
        return {
            "padding": {"s": same},
            "strides": {"list": {"i": ["1", s, s, "1"]}},
            "dilations": {"list": {"i": ["1", "1", "1", "1"]}},
            "data_format": {"s": "TkhXQw=="},  # "NHWC"
        }

    nodes, manifest, weights = [], [], []

    def add_const(name, shape):
        nodes.append({"name": name, "op": "Const", "attr": {}})
        manifest.append({"name": name, "shape": shape, "dtype": "float32"})
        start = len(weights)
        n = int(np.prod(shape))
        k = (np.arange(n, dtype=np.int64) * 7919 + start + np.arange(n, dtype=np.int64)) % 200
        weights.extend((np.float32(0.01) * k.astype(np.float32) - np.float32(1.0)).astype(np.float32).tolist())

    nodes.append({"name": "sub_2", "op": "Placeholder", "attr": {}})
    prev, channels = "sub_2", 3
    for layer in ("stem", "conv2", "conv3"):
        n = "Tiny/" + layer
        add_const(n + "/weights", [3, 3, channels, 16])
        add_const(n + "/bias", [16])
        nodes.append({"name": n + "/conv", "op": "Conv2D", "input": [prev, n + "/weights"], "attr": conv_attr(2)})
        nodes.append({"name": n + "/BiasAdd", "op": "BiasAdd", "input": [n + "/conv", n + "/bias"]})
        nodes.append({"name": n + "/Relu6", "op": "Relu6", "input": [n + "/BiasAdd"]})
        prev, channels = n + "/Relu6", 16
    for head, ch in (("heatmap_2", 17), ("offset_2", 34), ("displacement_fwd_2", 32), ("displacement_bwd_2", 32)):
        n = "Tiny/" + head
        add_const(n + "/weights", [1, 1, 16, ch])
        add_const(n + "/bias", [ch])
        nodes.append({"name": n + "/conv", "op": "Conv2D", "input": [prev, n + "/weights"], "attr": conv_attr(1)})
        nodes.append({"name": n + "/BiasAdd", "op": "BiasAdd", "input": [n + "/conv", n + "/bias"]})
    model = {
        "format": "graph-model",
        "modelTopology": {"node": nodes},
        "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": manifest}],
    }
    (folder / "model.json").write_text(json.dumps(model))
    np.asarray(weights, dtype="<f4").tofile(folder / "group1-shard1of1.bin")
    return folder / "model.json"


@pytest.fixture(scope="session")
def tiny_model_json(tmp_path_factory):
    return write_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_detector(tiny_model_json):
    return posenet.create_detector(tiny_model_json, input_resolution=129, backend="cpu")


@pytest.fixture(scope="session")
def build_dir():
    """The build folder holding the C++ tools, or a skip."""
    build = os.environ.get("POSENET_BUILD_DIR")
    if build:
        build = pathlib.Path(build)
    else:
        package = pathlib.Path(posenet.__file__).resolve().parent  # <build>/python/posenet
        build = package.parents[1]
    if not (build / "tools" / "posenet").is_file():
        pytest.skip(f"no posenet CLI at {build}/tools/posenet (set POSENET_BUILD_DIR to a build with -Dtools)")
    return build


@pytest.fixture(scope="session")
def cli(build_dir):
    """Runs the C++ CLI of the same build; returns its stdout."""
    exe = build_dir / "tools" / "posenet"

    def run(*args):
        result = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True)
        if result.returncode != 0:
            raise AssertionError(f"posenet {' '.join(map(str, args))} failed ({result.returncode}):\n{result.stderr}")
        return result.stdout

    return run


@pytest.fixture(scope="session")
def tiny_blob(tiny_model_json, cli, tmp_path_factory):
    """The tiny model converted to a .pnb blob by `posenet convert`."""
    out = tmp_path_factory.mktemp("tiny-blob") / "tiny.pnb"
    cli("convert", tiny_model_json, "-o", out)
    return out


@pytest.fixture(scope="session")
def default_model():
    model = _env_path("POSENET_TEST_MODEL", REPO / ".cache" / "models" / "mobilenet-float-075-stride16.pnb")
    if not model.is_file():
        pytest.skip(f"no default model at {model} (set POSENET_TEST_MODEL; ./run.sh demo makes one)")
    return model


@pytest.fixture(scope="session")
def shared_dir():
    shared = _env_path("POSENET_SHARED_DIR", REPO.parent / "shared")
    if not (shared / "images" / "people").is_dir():
        pytest.skip(f"no shared photos at {shared}/images/people (set POSENET_SHARED_DIR)")
    return shared


@pytest.fixture(scope="session")
def people_photos(shared_dir):
    photos = sorted(p for p in (shared_dir / "images" / "people").iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if not photos:
        pytest.skip(f"no photos in {shared_dir}/images/people")
    return photos


def gradient_image(height, width, seed=0):
    """A deterministic RGB uint8 test image with structure at every scale."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack([(x * 255 // max(width - 1, 1)), (y * 255 // max(height - 1, 1)), ((x + y) * 7) % 256], axis=-1)
    noise = rng.integers(0, 40, size=(height, width, 3))
    return np.clip(img + noise, 0, 255).astype(np.uint8)
