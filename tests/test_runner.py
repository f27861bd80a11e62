"""The receding-horizon runner in simulated time: schedule, latency, stale drops, full rollouts."""

import numpy as np
import pytest
from runtime_fakes import GoToPredictor, KinematicRobot, TimeStampPredictor

from devices.control import SafetyController
from devices.safety import limits_for
from policy.runtime.observation import observe
from policy.runtime.predictors import ScriptedExpertPredictor
from policy.runtime.rollout import run_rollout
from policy.runtime.runner import ChunkRunner, RuntimeSettings, parse_latency


def drive(runner: ChunkRunner, seconds: float, robot=None) -> SafetyController:
    """The rollout loop of policy.runtime.rollout, on a robot that follows commands exactly."""
    robot = robot or KinematicRobot()
    ctrl = SafetyController(robot, runner, rate_hz=runner.settings.control_hz)
    ctrl.reset()
    runner.reset()
    per = runner.settings.ticks_per_period
    for k in range(int(round(seconds * runner.settings.control_hz))):
        now = k / runner.settings.control_hz
        if k % per == 0:
            runner.observe(observe(robot, {}, now, ctrl.last_applied))
            if runner.wants_request(now):
                runner.request(now)
        runner.deliver(now, ctrl.last_applied)
        ctrl.tick(now)
    return ctrl


def test_parse_latency():
    assert parse_latency("auto") is None and parse_latency("0") == 0.0 and parse_latency("120") == 120.0
    for bad in ("-5", "nan", "soon"):
        with pytest.raises(ValueError):
            parse_latency(bad)


def test_requests_every_n_execute_periods_while_the_robot_keeps_moving():
    pred = GoToPredictor(goal=(0.6, 0.1, 0.2))
    runner = ChunkRunner(pred, RuntimeSettings(n_execute=4, latency_ms=250))
    ctrl = drive(runner, 3.0)
    assert np.allclose(pred.calls, np.arange(0, 3.0, 0.4)[: len(pred.calls)]) and len(pred.calls) == 8
    assert runner.stats.latency_ms == [250.0] * 8
    # the robot reached the goal through the buffer, and never waited for a chunk: no holds counted
    np.testing.assert_allclose(ctrl.last_applied.position, [0.6, 0.1, 0.2], atol=1e-3)
    assert not {"empty", "stale"} & set(ctrl.interventions)


def test_a_slow_policy_is_asked_again_at_the_first_tick_after_its_chunk_arrived():
    pred = GoToPredictor()
    runner = ChunkRunner(pred, RuntimeSettings(n_execute=4, latency_ms=650))
    drive(runner, 3.0)
    np.testing.assert_allclose(pred.calls, [0.0, 0.7, 1.4, 2.1, 2.8])


def test_waypoints_that_went_stale_during_inference_are_dropped():
    runner = ChunkRunner(TimeStampPredictor(), RuntimeSettings(n_execute=8, latency_ms=250))
    robot = KinematicRobot()
    drive(runner, 2.0, robot)
    # each chunk arrives 0.25 s after its observation: waypoints 0, 1, 2 were due before that
    assert runner.stats.chunks == 3 and runner.stats.dropped_waypoints == 3 * 3
    times, values = runner.buffer.waypoints()
    # after the last arrival (t=1.85): an anchor at 1.85, then waypoint 3 of the chunk from t=1.6
    assert times[0] == pytest.approx(1.85) and times[1] == pytest.approx(1.9)
    assert values[1, 0] == pytest.approx(0.3 + 1.6) and values[1, 1] == pytest.approx(0.03)
    assert runner.buffer.setpoint(1.95).position[1] == pytest.approx(0.035)  # between its waypoints 3 and 4


def test_auto_latency_is_the_measured_prediction_time():
    ticks = iter(np.arange(0, 100, 0.5))
    readings = []

    def wall():  # each prediction "takes" 123 ms of wall time
        t = next(ticks)
        readings.append(t)
        return t if len(readings) % 2 else t - 0.5 + 0.123

    runner = ChunkRunner(GoToPredictor(), RuntimeSettings(n_execute=8, latency_ms=None), wall_clock=wall)
    drive(runner, 1.0)
    assert runner.stats.latency_ms == pytest.approx([123.0, 123.0])
    assert runner.stats.predict_ms == pytest.approx([123.0, 123.0])


def test_settings_are_validated():
    with pytest.raises(ValueError):
        RuntimeSettings(control_hz=50)
    with pytest.raises(ValueError):
        RuntimeSettings(control_hz=105)  # not a whole multiple of 10 Hz
    with pytest.raises(ValueError):
        RuntimeSettings(n_execute=0)
    with pytest.raises(ValueError, match="shape"):
        runner = ChunkRunner(type("Bad", (), {"reset": lambda s: None, "predict_chunk": lambda s, h: np.zeros(8)})())
        drive(runner, 0.1)


def _expert_rollout(seed: int, latency_ms: float, cameras=()):
    from devices.sim.station import make_station

    station = make_station("pick_place", cameras=cameras)
    station.connect()
    station.reset(seed)
    pred = ScriptedExpertPredictor()
    runner = ChunkRunner(pred, RuntimeSettings(n_obs_steps=1, latency_ms=latency_ms, due_offset=1))
    runner.reset()
    pred.attach(station, seed)
    try:
        return run_rollout(station, runner, limits_for(station)), station.get_state().ee_pose
    finally:
        station.disconnect()


def test_rollout_with_a_fixed_latency_succeeds_and_is_reproducible():
    a, pose_a = _expert_rollout(seed=3, latency_ms=300)
    b, pose_b = _expert_rollout(seed=3, latency_ms=300)
    assert a.success and a.score == 1.0
    assert a.periods == b.periods and a.interventions == b.interventions
    np.testing.assert_array_equal(pose_a, pose_b)
    # waypoint i is due 0.1·(i+1) s after its observation: at 300 ms, waypoints 0 and 1 are late
    assert a.stats.dropped_waypoints == 2 * a.stats.chunks


def test_images_are_rendered_only_for_observations_a_request_uses():
    from devices.sim.station import make_station

    class Seeing(GoToPredictor):
        def predict_chunk(self, obs_history):
            assert all(set(o.images) == {"scene"} for o in obs_history)
            return super().predict_chunk(obs_history)

    station = make_station("pick_place", cameras=("scene",), image_size=32)
    station.connect()
    station.reset(0)
    station.task.time_limit_s = 2.0
    renders = []
    cam = station.cameras["scene"]
    original = cam.read_latest
    cam.read_latest = lambda *a: renders.append(1) or original(*a)
    runner = ChunkRunner(Seeing(), RuntimeSettings(n_obs_steps=2, n_execute=8))
    runner.reset()
    try:
        res = run_rollout(station, runner, limits_for(station), cameras=("scene",))
    finally:
        station.disconnect()
    assert res.stats.chunks == 3 and res.periods >= 20
    assert len(renders) == 1 + 2 * (res.stats.chunks - 1)  # not one per period
