"""One seeding rule for the scripted expert: the recorder's source, the evaluator's agent and the
runtime's expert predictor draw the same expert for the same seed, so a recorded demonstration and
an evaluated rollout of one seed are one episode."""

import numpy as np

from devices.robot import RobotState
from devices.sim.station import make_station
from policy.evaluation import ExpertAgent
from recorder.sources import ExpertSource


def _first_targets(drive, seed: int, n: int = 25) -> np.ndarray:
    station = make_station("pick_place", cameras=())
    station.connect()
    state: RobotState = station.reset(seed)
    act = drive(station, seed)
    out = []
    for _ in range(n):
        action = act(state)
        out.append(np.concatenate([action.ee_pose, [action.gripper]]))
        station.send_action(action)
        state = station.get_state()
    station.disconnect()
    return np.array(out)


def _source(station, seed):
    source = ExpertSource(noise=0.01, pause_prob=0.5, mistake_prob=0.5)
    source.begin_episode(station, seed)
    return lambda state: source.next_command(state, float(station.time)).action


def _agent(station, seed):
    agent = ExpertAgent(noise=0.01, pause_prob=0.5, mistake_prob=0.5)
    agent.reset(station, seed)
    return lambda state: agent.act(station)


def test_recording_and_evaluation_draw_the_same_expert_for_a_seed():
    recorded, evaluated = _first_targets(_source, 11), _first_targets(_agent, 11)
    np.testing.assert_array_equal(recorded, evaluated)
    other = _first_targets(_agent, 12)
    assert not np.array_equal(evaluated, other), "the seed must change the expert's draws"
