"""The runner on the wall clock: inference on its own thread, the robot never waits for it."""

import time

import numpy as np
import pytest
from runtime_fakes import FailingPredictor, GoToPredictor, KinematicRobot

from devices.control import SafetyController
from policy.runtime.realtime import RealtimeRunner
from policy.runtime.runner import ChunkRunner, RuntimeSettings


def test_chunks_arrive_asynchronously_while_the_controller_keeps_ticking():
    robot = KinematicRobot()
    pred = GoToPredictor(goal=(0.55, 0.05, 0.2), speed=0.2, sleep_s=0.12)  # slower than a control period
    runner = ChunkRunner(pred, RuntimeSettings(n_execute=2))
    runner.reset()
    rt = RealtimeRunner(runner, SafetyController(robot, runner))
    with rt:
        time.sleep(1.0)
    assert not rt.running
    # the control loop ran at ~100 Hz although every prediction took 120 ms
    assert rt.ticks >= 40
    # requests every 0.2 s (n_execute 2), each waited for the previous one: several chunks, all measured
    assert 3 <= runner.stats.chunks <= 9
    assert min(runner.stats.predict_ms) >= 100
    # latency = arrival - request on the wall clock; waypoints due meanwhile were dropped
    assert min(runner.stats.latency_ms) >= 100 and runner.stats.dropped_waypoints >= runner.stats.chunks
    assert robot.sent[-1].position[0] > robot.sent[0].position[0] + 0.05  # it moved towards the goal


def test_an_error_in_the_inference_thread_stops_both_threads_and_is_raised():
    robot = KinematicRobot()
    runner = ChunkRunner(FailingPredictor(), RuntimeSettings(n_execute=1))
    runner.reset()
    rt = RealtimeRunner(runner, SafetyController(robot, runner))
    rt.start()
    deadline = time.monotonic() + 3.0
    while rt.running and time.monotonic() < deadline:
        time.sleep(0.02)
    with pytest.raises(ArithmeticError, match="garbage"):
        rt.stop()
    assert not rt.running
    sent = len(robot.sent)
    time.sleep(0.05)
    assert len(robot.sent) == sent  # nothing commands the robot any more
    assert np.all(np.isfinite(robot.sent[-1].ee_pose))


def test_a_prediction_started_before_a_restart_is_thrown_away():
    from runtime_fakes import HOME

    from policy.runtime.observation import Observation

    runner = ChunkRunner(GoToPredictor(), RuntimeSettings())
    runner.reset()
    runner.observe(Observation(time=0.0, ee_pose=HOME.copy(), gripper=0.0, ee_wrench=np.zeros(6)))
    request = runner.begin_request(0.0)
    assert runner.in_flight and not runner.wants_request(0.1)
    chunk = runner.predictor.predict_chunk(request.history)
    runner.restart()  # the operator took over meanwhile
    assert not runner.finish_request(request, chunk, 0.05, now=0.2)
    assert runner.buffer.waypoints()[0].size == 0 and runner.stats.chunks == 0
    fresh = runner.begin_request(0.3)
    assert runner.finish_request(fresh, runner.predictor.predict_chunk(fresh.history), 0.05, now=0.35)
    assert runner.stats.chunks == 1 and runner.stats.latency_ms == [pytest.approx(50.0)]
