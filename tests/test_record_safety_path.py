"""Recording goes through the safety controller: what is stored is what the filter let reach the robot."""

from __future__ import annotations

import numpy as np
import pytest

from devices.control import NoSetpoint, SafetyController, StepTargetSource
from devices.robot import Action
from devices.sim.station_clock import StationClock
from recorder.command_path import SafetyPath
from recorder.dataset import Dataset
from recorder.record import StationRecordingSettings, record_station
from recorder.session import RecordingSession, SessionSettings
from recorder.sources import Command
from recorder.station import StationEnd
from recorder.validate import validate_dataset

HOME = np.array([0.45, 0.0, 0.2, 0.0, 1.0, 0.0, 0.0])


def test_step_targets_are_interpolated_to_their_due_time_then_held_then_stale():
    src = StepTargetSource(max_hold_s=0.3)
    assert src.setpoint(0.0) == NoSetpoint("empty")
    start = Action(HOME.copy(), 0.0)
    goal = Action(HOME + [0.1, 0, 0, 0, 0, 0, 0], 1.0)
    src.set(goal, now=1.0, due=1.1, current=start)
    mid = src.setpoint(1.05)
    assert mid.position[0] == pytest.approx(0.50) and mid.gripper == pytest.approx(0.5)
    np.testing.assert_allclose(src.setpoint(1.1).as_vector(), goal.as_vector())
    np.testing.assert_allclose(src.setpoint(1.35).as_vector(), goal.as_vector())  # held for max_hold_s
    assert src.setpoint(1.5) == NoSetpoint("stale")
    # The next target continues from where the plan is, not from `current`.
    src.set(Action(HOME + [0.2, 0, 0, 0, 0, 0, 0], 1.0), now=1.1, due=1.2, current=start)
    assert src.setpoint(1.15).position[0] == pytest.approx(0.60)
    src.clear()
    assert src.setpoint(1.15) == NoSetpoint("empty")


@pytest.fixture(scope="module")
def expert_episode(tmp_path_factory):
    """One pick-and-place expert episode recorded by `record_station`, while a listener keeps every
    command the controller sent (the recording must contain exactly those at its tick times)."""
    from devices.control import SafetyController as RealController

    sent: dict[float, np.ndarray] = {}
    original_tick = RealController.tick

    def spy(self, now):
        applied = original_tick(self, now)
        sent[round(now, 6)] = applied.as_vector()
        return applied

    RealController.tick = spy
    try:
        out = tmp_path_factory.mktemp("rec") / "ds"
        report = record_station(StationRecordingSettings(out=str(out), episodes=1, seed=3, cameras=("scene",),
                                                         image_size=32, fsync=False))
    finally:
        RealController.tick = original_tick
    return out, report, sent


def test_recorded_actions_are_the_filtered_commands_that_reached_the_robot(expert_episode):
    out, report, sent = expert_episode
    assert report.episodes[0].success is True
    with Dataset(out).open("ep_000000") as ep:
        t = ep.time
        actions = ep.action()
        # Sample i stores the command the controller applied at the tick time (10 control ticks apart).
        for i in range(1, len(t)):
            np.testing.assert_allclose(actions[i], sent[round(float(t[i]), 6)], atol=1e-6)
        ticks = sorted(sent)
        assert np.allclose(np.diff(ticks), 0.01, atol=1e-6)  # the controller ran at 100 Hz throughout
        # Within the station's limits at every stored sample (the filter's guarantee, as recorded).
        limits = station_limits_from_attrs(ep.attrs["station"])
        assert np.all(actions[:, :3] >= np.array(limits.workspace_low) - 1e-6)
        assert np.all(actions[:, :3] <= np.array(limits.workspace_high) + 1e-6)
        speeds = np.linalg.norm(np.diff(actions[:, :3], axis=0), axis=1) / np.diff(t)
        assert speeds.max() <= limits.max_speed + 1e-6
        # The first sample is the hold before any command; then the expert.
        assert ep.sources == ["hold", "expert"] and ep.action_source[0] == 0 and np.all(ep.action_source[1:] == 1)
        timing = ep.timing
        assert timing["control_hz"] == 100.0
        assert set(timing["safety_interventions"]) <= {"accel", "angular_accel", "gripper_rate", "speed",
                                                       "angular_speed"}
    assert validate_dataset(out).ok


def station_limits_from_attrs(station_attr: dict):
    from devices.safety import SafetyLimits

    ws = station_attr["config"]["workspace"]
    return SafetyLimits().with_workspace(tuple(ws["low"]), tuple(ws["high"]))


LUNGE = np.array([2.0, -2.0, 1.5, 0.0, 1.0, 0.0, 0.0])


class _Lunge:
    """A step source that asks for a target far outside the workspace, then nothing at all."""

    name = "lunge"

    def begin_episode(self, robot, seed):
        pass

    def next_command(self, state, t):
        if t < 1.0:
            return Command(Action(LUNGE, 1.0), "lunge")
        return Command(None, "lunge")

    def events(self):
        return []


def test_hostile_commands_are_filtered_counted_per_episode_and_end_in_a_hold(tmp_path):
    """``action[i]`` is what reached the robot; ``command[i]`` what the source asked for at
    ``time[i]`` (its target decided one tick earlier, unfiltered). A hold stores the hold in both."""
    from devices.sim.station import make_station

    station = make_station("pick_place", cameras=())
    station.connect()
    controller = SafetyController(station)
    session = RecordingSession(tmp_path, station, {}, _Lunge(), clock=StationClock(station, controller),
                               control=SafetyPath(controller), settings=SessionSettings(max_duration_s=2.0))
    summary = session.record_episode(seed=0, end=StationEnd(station, end_on_task=False))
    limits = controller.limits
    with Dataset(tmp_path).open(summary.episode_id) as ep:
        pos = ep.action_pose[:, :3]
        assert np.all(pos <= np.array(limits.workspace_high) + 1e-6)
        assert np.all(pos >= np.array(limits.workspace_low) - 1e-6)
        counts = ep.timing["safety_interventions"]
        assert counts["workspace"] >= 1 and counts["empty"] == 1  # clipped, then held once commands stopped
        held = ep.action_source == ep.sources.index("hold")
        assert held[-5:].all()  # after the source went quiet, samples are attributed to the hold
        assert np.ptp(pos[-5:], axis=0).max() < 1e-6  # ... and the arm is held still
        command, action, t = ep.command(), ep.action(), ep.time
        np.testing.assert_allclose(command[0], action[0])  # nothing was asked before the first tick
        asked = (t > 0.05) & (t < 1.05)  # targets decided at ticks t < 1.0 are due one tick later
        np.testing.assert_allclose(command[asked], np.tile([*LUNGE, 1.0], (int(asked.sum()), 1)), atol=1e-6)
        assert np.abs(action[asked, :3] - LUNGE[:3]).min() > 0.5  # the filter kept the arm in the workspace
        quiet = t > 1.4  # the source asks nothing: the request is the hold the controller applies
        np.testing.assert_allclose(command[quiet], action[quiet], atol=1e-6)
    # Per episode: a second episode starts counting from zero.
    second = session.record_episode(seed=1, end=StationEnd(station, end_on_task=False))
    assert second.timing["safety_interventions"]["empty"] == 1
    station.disconnect()


def test_a_dataset_written_before_commands_were_stored_still_reads_and_validates(tmp_path):
    import h5py

    from recorder import format as fmt

    settings = StationRecordingSettings(out=str(tmp_path / "ds"), episodes=1, seed=1, cameras=("scene",),
                                        image_size=32, fsync=False)
    record_station(settings)
    path = tmp_path / "ds" / "episodes" / "ep_000000.h5"
    with h5py.File(path, "a") as f:  # what the recorder wrote before commands were stored
        del f["command"]
    with Dataset(tmp_path / "ds").open("ep_000000") as ep:
        assert not ep.has_command and ep.command() is None and ep.action().shape == (len(ep), 8)
    assert validate_dataset(tmp_path / "ds").ok
    with h5py.File(path, "a") as f:  # one half of the pair alone is a broken file
        f.create_dataset(fmt.COMMAND_POSE, data=np.zeros((len(f["time"]), 7), dtype=np.float32))
    report = validate_dataset(tmp_path / "ds")
    assert any(p.kind == "missing" and "command/gripper" in p.message for p in report.problems)
