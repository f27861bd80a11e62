"""One observation type for the policy side: the inference API and the runtime share it, and a
field the policy needs but the robot did not measure is an error, never NaNs fed to the network."""

import numpy as np
import pytest

from policy import inference
from policy.runtime import observation


def test_the_inference_api_and_the_runtime_share_one_observation_type():
    assert inference.Observation is observation.Observation


def test_an_unmeasured_wrench_is_refused_not_fed_as_nan():
    obs = observation.Observation(0.0, np.array([0.4, 0, 0.2, 1, 0, 0, 0.0]), 0.0)
    assert obs.field("gripper").tolist() == [0.0]
    with pytest.raises(ValueError, match="ee_wrench"):
        obs.field("ee_wrench")
    measured = observation.Observation(0.0, obs.ee_pose, 0.0, ee_wrench=np.zeros(6))
    assert measured.field("ee_wrench").dtype == np.float32
