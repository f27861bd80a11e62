"""The runner on the wall clock: inference on its own thread, the robot never waits for it."""

import time

import numpy as np
import pytest

from devices.control import SafetyController
from policy.runtime.realtime import RealtimeRunner
from policy.runtime.runner import ChunkRunner, RuntimeSettings
from runtime_fakes import FailingPredictor, GoToPredictor, KinematicRobot


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
