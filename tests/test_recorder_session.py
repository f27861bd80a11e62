"""Synchronisation and the recording session, on a fake clock with cameras of different rates."""

import time

import numpy as np
import pytest

from devices.camera import CameraError, Frame
from devices.robot import Action
from recorder.clock import MonotonicClock, SimulatedClock
from recorder.command_path import UnfilteredPath
from recorder.dataset import Dataset
from recorder.errors import RecordingError
from recorder.session import RecordingSession, SessionSettings
from recorder.sources import MailboxSource
from recorder.sync import CameraSync
from recorder.validate import validate_dataset
from tests.recorder_fakes import X_LIMIT, EndAfter, FakeRobot, RateCamera, ScriptedSource, decode_index


def test_frame_at_returns_the_newest_frame_captured_at_or_before_the_tick():
    class Scripted:
        def __init__(self):
            self.frames = []

        def read_latest(self, max_age_s=None):
            return self.frames[-1] if self.frames else None

    cam = Scripted()
    sync = CameraSync({"c": cam})
    img = np.zeros((2, 2, 3), np.uint8)
    for k, ts in enumerate([0.00, 0.04, 0.08]):
        cam.frames.append(Frame(img, ts, k))
        sync.poll()
    sync.poll()  # the same frame again is not stored twice
    cam.frames.append(Frame(img, 0.12, 3))  # captured after the tick at 0.1
    sync.poll()
    assert sync.frame_at("c", 0.1).index == 2
    assert sync.frame_at("c", 0.12).index == 3
    assert sync.frame_at("c", -1.0) is None
    sync.clear()
    assert sync.frame_at("c", 1.0) is None


def test_cameras_at_different_rates_are_synchronised_per_tick(tmp_path):
    # Wake-ups jitter by 0..4 ms; a 30 Hz camera delivers 5 ms after capture, a 4 Hz one 20 ms after.
    rng = np.random.default_rng(1)
    clock = SimulatedClock(start=100.0, lateness=lambda t: float(rng.uniform(0, 0.004)))
    fast = RateCamera("wrist", clock, 30.0, phase_s=99.0, latency_s=0.005, mount="wrist")
    slow = RateCamera("scene", clock, 4.0, phase_s=99.013, latency_s=0.020, size=(16, 20))
    robot = FakeRobot(clock, joint_pos=True)
    source = ScriptedSource(switch_at=1.0)
    session = RecordingSession(tmp_path, robot, {"wrist": fast, "scene": slow}, source, clock=clock,
                               settings=SessionSettings(task="t", operator="tester", station={"robot": "fake"}),
                               control=UnfilteredPath(robot))
    summary = session.record_episode(seed=3, end=EndAfter(3.0, score=0.75))
    assert summary.frames == 31 and summary.complete and summary.success is True

    ds = Dataset(tmp_path)
    assert ds.episode_ids() == ["ep_000000"] and ds.problems() == []
    with ds.open("ep_000000") as ep:
        t = ep.time
        # Tick times: the absolute deadlines 0, 0.1, ... plus each wake-up's error, never drifting.
        np.testing.assert_allclose(t - ep.tick_error, 0.1 * np.arange(31), atol=1e-9)
        assert np.all(ep.tick_error >= 0) and np.all(ep.tick_error <= 0.004)
        start = 100.0
        for cam, name in ((fast, "wrist"), (slow, "scene")):
            it = ep.image_time(name)
            assert np.all(it <= t + 1e-12), "a frame was stored before it was captured"
            images = ep.images(name, slice(None))
            for i in range(len(t)):
                k = cam.newest_index(start + t[i])  # newest frame readable at the tick
                assert decode_index(images[i]) == k
                assert it[i] == pytest.approx(cam.capture_time(k) - start, abs=1e-9)
            staleness = t - it
            assert staleness.max() <= 1.0 / cam.rate_hz + cam.latency_s + 1e-9
        # The 4 Hz camera repeats frames; the 30 Hz one never does at 10 Hz.
        assert len(np.unique(ep.image_time("scene"))) < len(t) / 2
        assert len(np.unique(ep.image_time("wrist"))) == len(t)
        assert ep.images("scene", 0).shape == (16, 20, 3) and ep.images("wrist", 0).shape == (24, 32, 3)

        # Stored actions are what the robot applied (x clipped), not what was commanded.
        commanded_x = 0.1 * t + 0.3
        np.testing.assert_allclose(ep.action_pose[:, 0], np.minimum(commanded_x, X_LIMIT), atol=1e-6)
        assert ep.action_pose[:, 0].max() == pytest.approx(X_LIMIT)
        np.testing.assert_allclose(ep.action_gripper[:, 0], 0.5)
        assert ep.action().shape == (31, 8)
        # Which device produced each sample.
        assert ep.sources == ["spacemouse", "policy"]
        np.testing.assert_array_equal(ep.action_source, (t >= 1.0).astype(np.uint8))
        # The layout follows the robot's features: joint_pos is there because the robot has it.
        assert sorted(ep.obs_keys) == ["ee_pose", "ee_wrench", "gripper", "joint_pos"]
        np.testing.assert_allclose(ep.obs("joint_pos")[:, 0], start + t, rtol=1e-6)
        np.testing.assert_allclose(ep.obs("ee_wrench")[:, 0], start + t, rtol=1e-6)
        a = ep.attrs
        assert a["task"] == "t" and a["operator"] == "tester" and a["device"] == "scripted" and a["seed"] == 3
        assert a["station"] == {"robot": "fake"} and a["complete"] is True and a["score"] == 0.75
        assert a["format"] == "demostation-episode" and a["format_version"] == 1 and a["clock"] == "simulated"
        assert {c["name"]: c["mount"] for c in a["cameras"]} == {"wrist": "wrist", "scene": "scene"}
        assert a["cameras"][0]["fx"] == 40.0
        assert ep.events == [{"kind": "pause", "start": 0.2, "end": 0.4, "label": "scripted"}]
        assert a["timing"]["ticks"] == 31 and a["timing"]["missed_ticks"] == 0
        assert a["timing"]["abs_error_ms_max"] <= 4.0
    assert validate_dataset(tmp_path).ok


def test_missed_ticks_and_holds_are_recorded(tmp_path):
    clock = SimulatedClock()
    robot = FakeRobot(clock, slow_ticks={5: 0.35})  # the tick at 0.5 s takes 350 ms: 0.6 and 0.7 are missed
    source = ScriptedSource(hold_between=(1.5, 2.0))
    session = RecordingSession(tmp_path, robot, {}, source, clock=clock, control=UnfilteredPath(robot))
    summary = session.record_episode(end=EndAfter(3.0, score=0.75))
    assert summary.timing["missed_ticks"] == 2
    with Dataset(tmp_path).open(summary.episode_id) as ep:
        assert ep.timing["missed_ticks"] == 2 and len(ep) == 31 - 2
        assert ep.time[6] == pytest.approx(0.85) and ep.tick_error[6] == pytest.approx(0.05)
        assert np.all(np.diff(ep.time) > 0)
        assert "hold" in ep.sources
        held = ep.action_source == ep.sources.index("hold")
        np.testing.assert_allclose(ep.time[held], [1.5, 1.6, 1.7, 1.8, 1.9], atol=1e-9)
        assert ep.camera_names == []


def test_layout_needs_pose_and_gripper(tmp_path):
    class NoGripper(FakeRobot):
        @property
        def features(self):
            return {"ee_pose": (7,)}

    clock = SimulatedClock()
    with pytest.raises(ValueError, match="gripper"):
        robot = NoGripper(clock)
        RecordingSession(tmp_path, robot, {}, ScriptedSource(), clock=clock, control=UnfilteredPath(robot))


def test_a_silent_camera_fails_the_start_with_one_line(tmp_path):
    clock = SimulatedClock()
    late = RateCamera("scene", clock, 5.0, phase_s=10.0)  # first frame only at t = 10 s
    robot = FakeRobot(clock)
    session = RecordingSession(tmp_path, robot, {"scene": late}, ScriptedSource(), clock=clock,
                               settings=SessionSettings(camera_timeout_s=0.5), control=UnfilteredPath(robot))
    with pytest.raises(CameraError, match="no frame from camera scene"):
        session.record_episode()
    assert not list((tmp_path / "episodes").glob("*"))


def test_live_session_start_stop_discard_next_on_the_real_clock(tmp_path):
    clock = MonotonicClock()
    robot = FakeRobot(clock)
    cam = RateCamera("scene", clock, 60.0, phase_s=clock.now() - 1.0)
    source = MailboxSource(name="spacemouse", now=clock.now)
    session = RecordingSession(tmp_path, robot, {"scene": cam}, source, clock=clock,
                               settings=SessionSettings(rate_hz=50.0, task="live", flush_interval_s=0.2),
                               control=UnfilteredPath(robot))
    ended = []
    session.on_episode_end = ended.append

    first = session.start()
    assert session.recording and session.episode_id == first == "ep_000000"
    with pytest.raises(RecordingError, match="already recording"):
        session.start()
    pose = np.array([0.4, 0.1, 0.2, 1, 0, 0, 0])
    for _ in range(10):
        source.post(Action(pose, 1.0))
        time.sleep(0.02)
    session.mark_event("mistake", "operator")
    summary, second = session.next_episode(success=False, score=0.1)
    assert summary.episode_id == first and summary.complete and summary.frames >= 5
    assert second == "ep_000001" and session.recording
    time.sleep(0.1)
    session.discard()  # nothing of ep_000001 stays
    third = session.start()
    time.sleep(0.1)
    last = session.stop(success=True)
    assert third == "ep_000001" and last.success is True
    assert not session.recording and len(ended) == 3 and ended[1] is None

    ds = Dataset(tmp_path)
    assert ds.episode_ids() == ["ep_000000", "ep_000001"]
    with ds.open(first) as ep:
        assert ep.success is False and ep.score == pytest.approx(0.1) and ep.device == "spacemouse"
        assert set(ep.sources) <= {"spacemouse", "hold"} and "spacemouse" in ep.sources
        assert ep.events[0]["kind"] == "mistake" and ep.attrs["clock"] == "real"
        assert ep.rate_hz == 50.0 and np.all(ep.image_time("scene") <= ep.time)
        moved = ep.action_source == ep.sources.index("spacemouse")
        np.testing.assert_allclose(ep.action_pose[moved, :3], np.tile([0.4, 0.1, 0.2], (int(moved.sum()), 1)))
    assert not list((tmp_path / "episodes").glob("*.journal"))
    with pytest.raises(RecordingError, match="no episode"):
        session.stop()


def test_a_failing_robot_keeps_what_was_recorded_as_incomplete(tmp_path):
    clock = SimulatedClock()

    class Breaks(FakeRobot):
        def get_state(self):
            if clock.now() > 2.05:
                raise RuntimeError("link lost")
            return super().get_state()

    robot = Breaks(clock)
    session = RecordingSession(tmp_path, robot, {}, ScriptedSource(), clock=clock, control=UnfilteredPath(robot))
    with pytest.raises(RuntimeError, match="link lost"):
        session.record_episode()
    with Dataset(tmp_path).open("ep_000000") as ep:
        assert not ep.complete and len(ep) == 21 and ep.events  # events kept too
