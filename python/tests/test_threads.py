"""The GIL is released while the network runs, and one detector may be shared by threads."""

import sys
import threading
import time

import posenet
from conftest import gradient_image


def test_gil_is_released_during_inference(tiny_model_json):
    detector = posenet.create_detector(tiny_model_json, input_resolution=513, backend="cpu")
    images = [gradient_image(480, 640, seed) for seed in range(2)]
    # A call long enough that its middle is far from both ends (>= 0.2 s): grow the batch.
    while True:
        start = time.perf_counter()
        detector.estimate_poses_batch(images)
        if time.perf_counter() - start >= 0.2 or len(images) >= 256:
            break
        images = images * 2

    stamps, stop = [], threading.Event()

    def counter():  # pure Python: it runs only while it holds the GIL
        n = 0
        while not stop.is_set():
            n += 1
            if n % 64 == 0:
                stamps.append(time.perf_counter())

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)  # the main thread gets the GIL back quickly around the call
    thread = threading.Thread(target=counter)
    thread.start()
    try:
        time.sleep(0.05)
        start = time.perf_counter()
        detector.estimate_poses_batch(images)
        end = time.perf_counter()
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(old_interval)
    # Had the call held the GIL, the counter could not have run at all inside it; the margin keeps
    # the instants before and after the C++ call (argument checks, results) out of the window.
    margin = 0.05 * (end - start) + 0.01
    inside = [t for t in stamps if start + margin < t < end - margin]
    assert len(inside) > 0, f"the counter thread did not run during a {end - start:.3f} s call"


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
