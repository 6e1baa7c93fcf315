"""PoseNet pose estimation without an ML framework (Vulkan compute and CPU).

The Python face of the native posenet library, shaped like TF.js's
@tensorflow-models/pose-detection PoseNet::

    import posenet

    detector = posenet.create_detector("mobilenet-float-075-stride16.pnb")
    image = posenet.load_image("photo.jpg")          # H x W x 3 uint8, or any NumPy image
    for pose in detector.estimate_poses(image, max_poses=5):
        print(pose["score"], [(k["name"], k["x"], k["y"]) for k in pose["keypoints"]])

Video: posenet.Stream(detector, ...) takes frames with several in flight at once and gives
posenet.FrameResult objects in push order, with optional track ids and smoothing.

Errors are posenet.Error (a RuntimeError) and its subclasses ConfigError (also a ValueError),
ModelError, ImageError and DeviceError, with the C++ library's messages.
"""

import os as _os

from ._posenet import (
    ADJACENT_PAIRS,
    KEYPOINT_NAMES,
    ConfigError,
    Detector,
    DeviceError,
    Error,
    FrameResult,
    ImageError,
    ModelError,
    Stream,
    __version__,
    decode_image,
    list_devices,
    load_image,
)

__all__ = [
    "ADJACENT_PAIRS",
    "KEYPOINT_NAMES",
    "ConfigError",
    "Detector",
    "DeviceError",
    "Error",
    "FrameResult",
    "ImageError",
    "ModelError",
    "Stream",
    "__version__",
    "create_detector",
    "decode_image",
    "list_devices",
    "load_image",
]


def create_detector(
    model,
    *,
    architecture=None,
    output_stride=None,
    input_resolution=257,
    multiplier=None,
    quant_bytes=None,
    backend="auto",
    device=-1,
    precision="fp32",
    pipeline_cache_dir=None,
    log=None,
):
    """Loads a PoseNet model and starts a detector, as pose-detection's createDetector.

    model: the model, as a path (str or os.PathLike) to a .pnb blob (``posenet convert``) or a TF.js
        model.json (or a folder holding one; converted on load), or the bytes of a .pnb blob
        (bytes, bytearray or memoryview; copied, need not outlive the call).
    architecture: 'MobileNetV1' or 'ResNet50'; output_stride: 8, 16 or 32; multiplier: 0.5, 0.75 or
        1.0; quant_bytes: 1, 2 or 4. Each is read from the model file when None, and checked against
        it when given (posenet.ConfigError naming the field where they disagree).
    input_resolution: the model input size, an int (square) or {'width': W, 'height': H}; rounded
        as TF.js does for the output stride (detector.model_info has the result).
    backend: 'auto' (Vulkan on a hardware GPU, else the CPU executor), 'cpu' or 'vulkan'.
    device: a Vulkan device index (posenet.list_devices()); -1 picks the best. An index >= 0 means
        Vulkan on that device.
    precision: 'fp32' (the TF.js-parity path) or 'fp16' (tensor cores; Vulkan devices with
        cooperative matrices only).
    pipeline_cache_dir: a folder for the Vulkan pipeline cache (kept across runs), or None.
    log: a callable(level: str, message: str) receiving the library's messages (level 'debug',
        'info', 'warning' or 'error'), called from the thread that caused them; or None to drop them.

    Returns a posenet.Detector. Raises posenet.ConfigError, posenet.ModelError, posenet.DeviceError;
    TypeError for arguments of the wrong type.
    """
    if not isinstance(model, (bytes, bytearray, memoryview)):
        model = _os.fspath(model)
    return Detector(
        model,
        architecture=architecture,
        output_stride=output_stride,
        input_resolution=input_resolution,
        multiplier=multiplier,
        quant_bytes=quant_bytes,
        backend=backend,
        device=device,
        precision=precision,
        pipeline_cache_dir=pipeline_cache_dir,
        log=log,
    )
