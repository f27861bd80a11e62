"""Take-over: operator grabs control from the policy, a recovery episode is recorded, control returns."""

import numpy as np
import pytest
from runtime_fakes import GoToPredictor, KinematicRobot

from devices.control import LatestTargetSource, SafetyController
from devices.robot import Action
from policy.runtime.observation import observe
from policy.runtime.runner import ChunkRunner, RuntimeSettings
from policy.runtime.takeover import POLICY, TELEOP, ControlArbiter

DT = 0.01


class FakeRecorder:
    def __init__(self, fail_on_start: bool = False) -> None:
        self.calls: list[tuple[str, dict | None]] = []
        self.fail_on_start = fail_on_start

    def start(self, attrs):
        if self.fail_on_start:
            raise OSError("disk full")
        self.calls.append(("start", dict(attrs)))

    def stop(self):
        self.calls.append(("stop", None))


class FakeTeleop(LatestTargetSource):
    """A teleop device that pushes the operator's hand pose every tick while 'moving'."""

    def __init__(self) -> None:
        super().__init__(max_age_s=0.1)
        self.engaged_at: Action | None = None

    def engage(self, current, now):
        self.engaged_at = current
        super().engage(current, now)


def station_loop(arbiter, runner, robot, ctrl, t0, t1, button, teleop=None, operator_target=None):
    for k in range(int(round(t0 / DT)), int(round(t1 / DT))):
        now = k * DT
        if k % 10 == 0:
            runner.observe(observe(robot, {}, now, ctrl.last_applied))
            if runner.wants_request(now):
                runner.request(now)
        runner.deliver(now, ctrl.last_applied)
        arbiter.update(now, button)
        if teleop is not None and operator_target is not None and button:
            teleop.push(operator_target, now)
        ctrl.tick(now)


@pytest.fixture
def rig():
    robot = KinematicRobot()
    policy = GoToPredictor(goal=(0.6, 0.1, 0.2), speed=0.15)
    runner = ChunkRunner(policy, RuntimeSettings(n_execute=4, latency_ms=100))
    teleop = FakeTeleop()
    recorder = FakeRecorder()
    ctrl = SafetyController(robot, limits=None)
    arbiter = ControlArbiter(runner, teleop, current_command=lambda: ctrl.last_applied, recorder=recorder,
                             on_hand_back=lambda now: runner.restart(),
                             episode_attrs={"task": "pick_place", "device": "spacemouse", "tags": ["teleop"]})
    ctrl.source = arbiter
    ctrl.reset()
    runner.reset()
    return robot, policy, runner, teleop, recorder, ctrl, arbiter


def test_take_over_records_a_recovery_episode_from_where_the_policy_left(rig):
    robot, policy, runner, teleop, recorder, ctrl, arbiter = rig
    station_loop(arbiter, runner, robot, ctrl, 0.0, 1.0, button=False)
    assert arbiter.active == POLICY and not recorder.calls
    left_at = ctrl.last_applied
    assert left_at.position[0] > 0.5  # the policy moved the arm

    operator = Action(np.concatenate([[0.40, -0.10, 0.15], left_at.quat]), 1.0)
    station_loop(arbiter, runner, robot, ctrl, 1.0, 3.0, button=True, teleop=teleop, operator_target=operator)
    assert arbiter.active == TELEOP and arbiter.recording
    kind, attrs = recorder.calls[0]
    assert kind == "start" and attrs["tags"] == ["recovery", "teleop"]
    assert attrs["task"] == "pick_place" and attrs["device"] == "spacemouse"
    np.testing.assert_allclose(attrs["start_command"], left_at.as_vector(), atol=0.01)  # the state the policy left
    assert teleop.engaged_at is not None
    np.testing.assert_allclose(ctrl.last_applied.position, operator.position, atol=1e-6)  # operator in control
    assert ctrl.last_applied.gripper == 1.0

    calls_before = len(policy.calls)
    station_loop(arbiter, runner, robot, ctrl, 3.0, 6.0, button=False)
    assert recorder.calls[-1] == ("stop", None) and len(recorder.calls) == 2
    assert arbiter.active == POLICY and not arbiter.recording
    assert len(policy.calls) > calls_before  # the policy replanned from the operator's pose ...
    np.testing.assert_allclose(ctrl.last_applied.position, [0.6, 0.1, 0.2], atol=1e-3)  # ... and finished
    assert [e.to for e in arbiter.events] == [TELEOP, POLICY]


def test_both_sources_pass_the_same_safety_limits_and_switching_never_jumps(rig):
    robot, policy, runner, teleop, recorder, ctrl, arbiter = rig
    station_loop(arbiter, runner, robot, ctrl, 0.0, 1.0, button=False)
    far = Action(np.array([0.8, -0.3, 0.4, 0, 1, 0, 0]), 0.0)  # an operator's sudden lunge
    station_loop(arbiter, runner, robot, ctrl, 1.0, 2.0, button=True, teleop=teleop, operator_target=far)
    station_loop(arbiter, runner, robot, ctrl, 2.0, 3.0, button=False)
    p = np.array([a.position for a in robot.sent])
    v = np.diff(p, axis=0) / DT
    lim = ctrl.limits
    assert np.linalg.norm(v, axis=1).max() <= lim.max_speed + 1e-9
    assert np.linalg.norm(np.diff(v, axis=0), axis=1).max() <= lim.max_accel * DT + 1e-9
    # and no hold was counted at the switches: the arbiter bridges until the new source speaks
    assert not {"empty", "stale", "source_lost"} & set(ctrl.interventions)


def test_a_lost_teleop_device_holds_the_arm(rig):
    robot, policy, runner, teleop, recorder, ctrl, arbiter = rig
    station_loop(arbiter, runner, robot, ctrl, 0.0, 0.5, button=False)
    station_loop(arbiter, runner, robot, ctrl, 0.5, 0.7, button=True, teleop=teleop,
                 operator_target=Action(np.array([0.4, 0.0, 0.2, 0, 1, 0, 0]), 0.0))
    teleop.mark_lost()
    station_loop(arbiter, runner, robot, ctrl, 0.7, 1.5, button=True)
    assert ctrl.interventions["source_lost"] == 1
    assert np.allclose(robot.sent[-1].position, robot.sent[-2].position)


def test_a_failing_recorder_never_blocks_the_take_over():
    robot = KinematicRobot()
    runner = ChunkRunner(GoToPredictor(), RuntimeSettings())
    teleop = FakeTeleop()
    ctrl = SafetyController(robot)
    arbiter = ControlArbiter(runner, teleop, current_command=lambda: ctrl.last_applied,
                             recorder=FakeRecorder(fail_on_start=True))
    ctrl.source = arbiter
    ctrl.reset()
    arbiter.update(0.0, True)
    assert arbiter.active == TELEOP and not arbiter.recording
    assert arbiter.recorder_errors == ["start: OSError: disk full"]
    arbiter.update(0.1, False)
    assert arbiter.active == POLICY
