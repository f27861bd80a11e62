"""The station behind Gymnasium's API, checked by Gymnasium's own env checker (spaces, seeding,
determinism, the reset/step contract), and driven through that API by the scripted expert."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from devices.sim.experts import ExpertKnobs, episode_expert
from devices.sim.gym_env import ENV_IDS


@pytest.mark.filterwarnings("ignore::UserWarning")  # the checker's advice on unbounded Box spaces
@pytest.mark.parametrize("env_id", sorted(ENV_IDS.values()))
def test_gymnasiums_checker_passes_every_registered_id(env_id):
    env = gym.make(f"devices.sim.gym_env:{env_id}", image_size=32)
    try:
        check_env(env.unwrapped)
    finally:
        env.close()


def test_the_scripted_expert_succeeds_through_the_gym_api():
    """Actions mean what the contract says: the expert's targets, sent through `step`, do the task."""
    env = gym.make("devices.sim.gym_env:DemoStation/PickPlace-v0", cameras=())
    try:
        obs, info = env.reset(seed=4)
        station = env.unwrapped.station
        expert = episode_expert(station, ExpertKnobs(), seed=4)
        rewards, terminated, truncated = [], False, False
        while not (terminated or truncated):
            a = expert.act()
            obs, reward, terminated, truncated, info = env.step(np.concatenate([a.ee_pose, [a.gripper]]))
            rewards.append(reward)
        assert terminated and not truncated and info["success"]
        assert rewards[-1] == pytest.approx(1.0) and min(rewards) >= 0.0
        assert env.observation_space.contains(obs)
    finally:
        env.close()


def test_a_nan_action_is_held_by_the_safety_controller_and_a_wrong_shape_is_refused():
    env = gym.make("devices.sim.gym_env:DemoStation/PushT-v0", cameras=())
    try:
        obs, _ = env.reset(seed=0)
        obs2, _, _, _, info = env.step(np.full(8, np.nan))
        assert info["interventions"].get("nonfinite", 0) > 0
        assert np.all(np.isfinite(obs2["ee_pose"])) and np.allclose(obs2["ee_pose"][:3], obs["ee_pose"][:3], atol=1e-3)
        with pytest.raises(ValueError, match="8 numbers"):
            env.step(np.zeros(7))
    finally:
        env.close()
