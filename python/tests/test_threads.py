"""The GIL is released while the network runs, and one detector may be shared by threads."""

import sys
import threading
import time

import pytest

import posenet
from conftest import gradient_image


def counter_stamps_inside(call, repeats):
    """Runs call() `repeats` times while a pure-Python counter thread spins; returns how many of the
    counter's time stamps fall well inside the calls. Had a call held the GIL, the counter could not
    have run at all inside it; the margins keep the instants before and after the C++ call (argument
    checks, results) out of the windows."""
    stamps, windows, stop = [], [], threading.Event()

    def counter():
        n = 0
        while not stop.is_set():
            n += 1
            if n % 64 == 0:
                stamps.append(time.perf_counter())

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)  # the main thread gets the GIL back quickly around each call
    thread = threading.Thread(target=counter)
    thread.start()
    try:
        time.sleep(0.02)
        for _ in range(repeats):
            start = time.perf_counter()
            call()
            end = time.perf_counter()
            margin = 0.05 * (end - start) + 0.005
            windows.append((start + margin, end - margin))
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(old_interval)
    return sum(1 for t in stamps for a, b in windows if a < t < b), windows


@pytest.mark.parametrize("form", ["estimate_poses", "estimate_poses_batch"])
def test_gil_is_released_during_inference(tiny_model_json, form):
    detector = posenet.create_detector(tiny_model_json, input_resolution=513, backend="cpu")
    image = gradient_image(1080, 1920)
    if form == "estimate_poses":
        call = lambda: detector.estimate_poses(image, max_poses=5)  # noqa: E731
    else:
        call = lambda: detector.estimate_poses_batch([image] * 2)  # noqa: E731
    call()  # warm-up
    inside, windows = counter_stamps_inside(call, repeats=5)
    seconds = sum(b - a for a, b in windows)
    print(f"{form}: {inside} counter stamps inside {len(windows)} calls of {seconds:.3f} s in all")
    assert inside > 0, f"the counter thread never ran inside {len(windows)} calls ({seconds:.3f} s in all)"


def test_threads_share_a_detector(tiny_detector):
    images = [gradient_image(100 + 10 * i, 120, i) for i in range(4)]
    expected = [tiny_detector.estimate_poses(img, max_poses=2, score_threshold=0.0) for img in images]
    results = [None] * len(images)
    errors = []

    def work(i):
        try:
            for _ in range(5):
                results[i] = tiny_detector.estimate_poses(images[i], max_poses=2, score_threshold=0.0)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(images))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == expected
