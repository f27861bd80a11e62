"""Take-over end to end in simulated time: a policy drives the station through the safety controller,
the operator takes over with a (replayed) SpaceMouse, a `recovery` episode is recorded from the state
the policy left, curation sees the tag, and on release the policy drives again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from curation.workspace import open_workspace
from devices.control import SafetyController
from devices.sim.station import make_station
from devices.sim.station_clock import StationClock
from policy.runtime.observation import observe
from policy.runtime.predictors import ScriptedExpertPredictor
from policy.runtime.runner import ChunkRunner, RuntimeSettings
from policy.runtime.takeover import POLICY, TELEOP, ControlArbiter
from recorder.command_path import SafetyPath
from recorder.dataset import Dataset
from recorder.session import RecordingSession, SessionSettings
from recorder.station import station_description
from recorder.takeover_recording import SessionRecoveryRecorder, TakeoverRecordingSource
from recorder.teleop import TeleopSource
from recorder.validate import validate_dataset

DEMO = Path(__file__).resolve().parents[1] / "assets" / "teleop" / "spacemouse_demo.jsonl"
TAKE_OVER, HAND_BACK, END = 2.0, 6.5, 9.0


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("takeover") / "ds"
    station = make_station("pick_place", image_size=32, cameras=("scene",))
    station.connect()
    station.reset(4)
    predictor = ScriptedExpertPredictor()  # the "policy": the expert's plan served as chunks
    predictor.attach(station, 4)
    runner = ChunkRunner(predictor, RuntimeSettings(n_obs_steps=1, due_offset=1))
    runner.reset()
    teleop = TeleopSource.from_spec(f"replay:{DEMO}")
    teleop.open(station)
    controller = SafetyController(station)
    arbiter = ControlArbiter(runner, teleop, current_command=lambda: controller.last_applied,
                             on_hand_back=lambda now: runner.restart(),
                             episode_attrs={"policy": "expert-chunks", "device": "spacemouse"})
    controller.source = arbiter
    controller.reset()
    session = RecordingSession(out, station, station.cameras,
                               TakeoverRecordingSource.for_arbiter(arbiter, "spacemouse", "expert-chunks", teleop.paused_reason),
                               clock=StationClock(station), control=SafetyPath(controller, drive=False),
                               settings=SessionSettings(task="pick_place", station=station_description(station)))
    recorder = SessionRecoveryRecorder(session, threaded=False)
    arbiter.recorder = recorder
    log = []
    dt = controller.dt
    for k in range(int(round(END / dt))):  # the runtime's simulated-time loop, plus the recorder's poll
        now = k * dt
        if k % 10 == 0:
            runner.observe(observe(station, {}, now, controller.last_applied))
            if runner.wants_request(now):
                runner.request(now)
        runner.deliver(now, controller.last_applied)
        arbiter.update(now, TAKE_OVER <= now < HAND_BACK)
        applied = controller.tick(now)
        session.poll()
        log.append((now, arbiter.active, applied.as_vector()))
        station.step(dt)
    station.disconnect()
    return out, arbiter, recorder, log


def test_take_over_records_a_recovery_episode_from_where_the_policy_left(run):
    out, arbiter, recorder, log = run
    assert [e.to for e in arbiter.events] == [TELEOP, POLICY] and not arbiter.recorder_errors
    assert len(recorder.summaries) == 1
    ds = Dataset(out)
    assert ds.episode_ids() == ["ep_000000"]
    at_switch = next(v for t, side, v in log if t >= TAKE_OVER - 1e-9)
    with ds.open("ep_000000") as ep:
        a = ep.attrs
        assert a["tags"] == ["recovery"] and a["policy"] == "expert-chunks" and a["device"] == "spacemouse"
        assert a["takeover_time"] == pytest.approx(TAKE_OVER)
        # It starts from the state the policy left: the command executed at the switch.
        policy_left = np.array(a["start_command"])
        assert np.linalg.norm(policy_left[:3] - log[0][2][:3]) > 0.02  # the policy had moved the arm
        np.testing.assert_allclose(ep.action()[0], at_switch, atol=1e-6)
        np.testing.assert_allclose(ep.action()[0, :3], policy_left[:3], atol=0.005)
        # The operator's device commanded it, through the filter, until the hand-back.
        assert ep.sources == ["spacemouse"]
        assert ep.time[-1] == pytest.approx(HAND_BACK - TAKE_OVER - 0.1, abs=0.11)
        assert np.linalg.norm(ep.action_pose[-1, :3] - ep.action_pose[0, :3]) > 0.05
        assert ep.action_gripper.max() == pytest.approx(1.0)  # the demo closes the gripper at 1.7 s
        assert ep.images("scene", 0).shape == (32, 32, 3)
    assert validate_dataset(out).ok
    with open_workspace(out) as ws:  # curation pre-fills the tag from the file
        assert [t.tag for t in ws.catalog.tags("ep_000000")] == ["recovery"]
        assert ws.catalog.tags("ep_000000")[0].start is None


def test_on_release_the_policy_drives_again(run):
    _, _, _, log = run
    after = [(t, side, v) for t, side, v in log if t >= HAND_BACK]
    assert all(side == POLICY for _, side, _ in after)
    released = after[0][2]
    final = after[-1][2]
    assert np.linalg.norm(final[:3] - released[:3]) > 0.02  # the policy moved the arm again
    speeds = np.linalg.norm(np.diff(np.array([v[:3] for _, _, v in log]), axis=0), axis=1) / 0.01
    assert speeds.max() <= 0.5 + 1e-6  # both switches went through the same speed limit
