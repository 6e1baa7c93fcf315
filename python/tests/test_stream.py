"""posenet.Stream: frames in flight, results in push order, equal to estimate_poses; tracking;
errors. On the tiny model written by conftest, plus the default model on a people photo where present."""

import gc
import sys
import threading
import time

import numpy as np
import pytest

import posenet
from conftest import gradient_image
from test_threads import counter_stamps_inside


def assorted_frames(count, seed=0):
    """Frames of several sizes and layouts: RGB, RGBA, grey, a crop read in place, a subsampled copy."""
    sizes = [(30, 40), (50, 20), (64, 64), (7, 90), (120, 160), (1, 1)]
    out = []
    for i in range(count):
        h, w = sizes[i % len(sizes)]
        img = gradient_image(h + 4, w + 6, seed + i)
        kind = i % 5
        if kind == 0:
            frame = img[:h, :w]
        elif kind == 1:
            frame = np.dstack([img[:h, :w], np.full((h, w), 7, np.uint8)])  # RGBA
        elif kind == 2:
            frame = np.ascontiguousarray(img[:h, :w, 1])  # grey
        elif kind == 3:
            frame = img[2 : h + 2, 3 : w + 3]  # a crop: read in place
        else:
            frame = gradient_image(2 * h, 2 * w, seed + i)[::2, ::2]  # copied first
        out.append(frame)
    return out


def timestamp(i):
    return 1000 + i * 33333


@pytest.mark.parametrize("max_poses", [1, 3])
@pytest.mark.parametrize("frames_in_flight", [1, 2, 3, 5])
def test_results_in_order_equal_to_estimate_poses(tiny_detector, max_poses, frames_in_flight):
    frames = assorted_frames(12)
    kwargs = dict(max_poses=max_poses, score_threshold=0.1, nms_radius=10.0)
    want = [tiny_detector.estimate_poses(f, **kwargs) for f in frames]
    with posenet.Stream(tiny_detector, frames_in_flight=frames_in_flight, **kwargs) as stream:
        assert stream.frames_in_flight == frames_in_flight
        assert not stream.tracking
        got = []
        for i, f in enumerate(frames):
            stream.push(f, timestamp(i))
            while (r := stream.try_next()) is not None:
                got.append(r)
        got += stream.flush()
        assert stream.pending == 0
    assert stream.closed
    assert len(got) == len(frames)
    for i, (r, f) in enumerate(zip(got, frames)):
        assert isinstance(r, posenet.FrameResult)
        assert r.index == i
        assert r.timestamp_us == timestamp(i)
        assert (r.height, r.width) == f.shape[:2]
        assert r.ok and r.error is None
        assert r.poses == want[i], i  # exactly: no 'id' key, the same floats


def test_next_flush_and_pending(tiny_detector):
    frames = assorted_frames(6, seed=3)
    want = [tiny_detector.estimate_poses(f) for f in frames]
    stream = posenet.Stream(tiny_detector)
    assert stream.frames_in_flight == 3  # the C++ default
    with pytest.raises(posenet.ConfigError, match="no frame pending"):
        stream.next()
    assert stream.try_next() is None
    for i, f in enumerate(frames):
        stream.push(f, i)
    assert stream.pending == 6
    for i in range(2):
        r = stream.next()
        assert (r.index, r.timestamp_us, r.poses) == (i, i, want[i])
    assert stream.pending == 4
    rest = stream.flush()
    assert [r.index for r in rest] == [2, 3, 4, 5]
    assert [r.poses for r in rest] == want[2:]
    assert stream.flush() == []
    # The detector's own calls work between (and during) a stream's frames.
    stream.push(frames[0], 7)
    assert tiny_detector.estimate_poses(frames[1]) == want[1]
    assert stream.next().poses == want[0]
    assert "posenet.FrameResult" in repr(rest[0]) and "posenet.Stream" in repr(stream)
    # Closing with frames in flight drops them; later calls are refused.
    stream.push(frames[0], 8)
    stream.close()
    assert stream.closed and "closed" in repr(stream)
    for call in (lambda: stream.push(frames[0], 9), stream.next, stream.try_next, stream.flush, lambda: stream.pending):
        with pytest.raises(posenet.ConfigError, match="used after close"):
            call()
    stream.close()  # twice is fine


def test_bad_arrays_are_refused_and_take_no_index(tiny_detector):
    stream = posenet.Stream(tiny_detector)
    good = gradient_image(30, 40)
    with pytest.raises(TypeError, match="uint8"):
        stream.push(good.astype(np.float32), 0)  # estimate_poses takes float32; a stream does not
    with pytest.raises(TypeError, match="int16"):
        stream.push(good.astype(np.int16), 0)
    with pytest.raises(TypeError, match="NumPy array"):
        stream.push("frame.png", 0)
    with pytest.raises(posenet.ConfigError, match=r"shape \(30, 40, 2\)"):
        stream.push(good[:, :, :2], 0)
    with pytest.raises(posenet.ConfigError, match="empty"):
        stream.push(good[:0], 0)
    with pytest.raises(posenet.ConfigError, match="dimensions"):
        stream.push(good[None], 0)
    with pytest.raises(TypeError):
        stream.push(good, "soon")
    assert stream.pending == 0
    stream.push(good, 42)
    r = stream.next()
    assert (r.index, r.timestamp_us) == (0, 42)
    assert r.poses == tiny_detector.estimate_poses(good)


def test_bad_options_name_the_field(tiny_detector):
    for n in (0, 17, -1):
        with pytest.raises(posenet.ConfigError, match=f"frames_in_flight must be 1..16, not {n}"):
            posenet.Stream(tiny_detector, frames_in_flight=n)
    with pytest.raises(posenet.ConfigError, match="tracker 'bbox'"):
        posenet.Stream(tiny_detector, tracker="bbox")
    with pytest.raises(TypeError, match="tracker"):
        posenet.Stream(tiny_detector, tracker=1)
    with pytest.raises(posenet.ConfigError, match="maxPoses"):
        posenet.Stream(tiny_detector, max_poses=0)
    with pytest.raises(TypeError):
        posenet.Stream("not a detector")


def test_tracking_ids_are_stable_on_repeated_frames(tiny_detector):
    frame = gradient_image(48, 64, seed=5)
    plain = tiny_detector.estimate_poses(frame)
    with posenet.Stream(tiny_detector, tracker="bounding_box") as stream:
        assert stream.tracking
        for i in range(6):
            stream.push(frame, i * 40000)
        results = stream.flush()
    assert len(results) == 6
    for r in results:
        assert [p["id"] for p in r.poses] == [1]  # one box, the same in every frame: one track
        assert [{k: v for k, v in p.items() if k != "id"} for p in r.poses] == plain
    # Smoothing a constant gives the constant back; the first frame passes unfiltered.
    with posenet.Stream(tiny_detector, tracker="bounding_box", smoothing=True) as stream:
        for i in range(6):
            stream.push(frame, i * 40000)
        results = stream.flush()
    for r in results:
        for k, kp in enumerate(r.poses[0]["keypoints"]):
            assert kp["x"] == pytest.approx(plain[0]["keypoints"][k]["x"], rel=1e-5)
            assert kp["y"] == pytest.approx(plain[0]["keypoints"][k]["y"], rel=1e-5)


def test_keypoint_tracking_on_people(default_model, people_photos):
    # A real photo repeated: every person keeps the id of the first frame (OKS of identical poses is 1).
    detector = posenet.create_detector(default_model, backend="cpu")
    photo = posenet.load_image(people_photos[0])
    with posenet.Stream(detector, max_poses=5, tracker="keypoint") as stream:
        for i in range(4):
            stream.push(photo, i * 33333)
        results = stream.flush()
    first = [p["id"] for p in results[0].poses]
    assert first and sorted(first) == list(range(1, len(first) + 1))
    for r in results:
        assert [p["id"] for p in r.poses] == first
    without_ids = [{k: v for k, v in p.items() if k != "id"} for p in results[-1].poses]
    assert without_ids == detector.estimate_poses(photo, max_poses=5)


def test_the_stream_holds_its_detector(tiny_model_json):
    detector = posenet.create_detector(tiny_model_json, input_resolution=65, backend="cpu")
    frame = gradient_image(30, 40)
    want = detector.estimate_poses(frame)
    stream = posenet.Stream(detector)
    detector.dispose()  # freed when the stream closes
    with pytest.raises(posenet.ConfigError, match="after dispose"):
        posenet.Stream(detector)
    stream.push(frame, 0)
    assert stream.next().poses == want
    stream.close()


def test_collected_with_frames_in_flight(tiny_detector):
    # The last reference goes with frames still running: they finish, their results are dropped.
    stream = posenet.Stream(tiny_detector, frames_in_flight=4)
    for i, f in enumerate(assorted_frames(4)):
        stream.push(f, i)
    del stream
    gc.collect()
    assert tiny_detector.estimate_poses(gradient_image(30, 40)) is not None


def test_a_producer_thread_and_a_consumer_thread(tiny_detector):
    frames = assorted_frames(30, seed=9)
    want = [tiny_detector.estimate_poses(f, max_poses=3) for f in frames]
    stream = posenet.Stream(tiny_detector, max_poses=3, frames_in_flight=2)
    errors = []

    def produce():
        try:
            for i, f in enumerate(frames):
                stream.push(f, i)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    producer = threading.Thread(target=produce)
    producer.start()
    got = []
    deadline = time.monotonic() + 120
    while len(got) < len(frames) and not errors and time.monotonic() < deadline:
        if stream.pending == 0:
            time.sleep(0.001)
            continue
        got.append(stream.next())
    producer.join()
    assert not errors
    assert [r.index for r in got] == list(range(len(frames)))
    assert [r.poses for r in got] == want


def test_gil_is_released_while_next_waits(tiny_model_json):
    # A large frame at a large input: next() waits for the network, which must not hold the GIL.
    detector = posenet.create_detector(tiny_model_json, input_resolution=513, backend="cpu")
    image = gradient_image(1080, 1920)
    stream = posenet.Stream(detector, max_poses=5, frames_in_flight=1)

    def call():
        stream.push(image, 0)
        stream.next()

    call()  # warm-up
    inside, windows = counter_stamps_inside(call, repeats=5)
    assert inside > 0, f"the counter thread never ran inside {len(windows)} push + next calls"
    stream.close()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
