"""Run inside the LeRobot virtual environment: write a dataset with LeRobot's own
``LeRobotDataset.create`` / ``add_frame`` / ``save_episode`` (its own video encoder), for the test
that imports a dataset Demo Station did not write.

    python tests/lerobot_writer.py OUT_DIR
"""

import json
import sys

import numpy as np

H, W, FPS = 32, 48, 10
LENGTHS = (12, 9, 15)


def frame_image(episode: int, k: int) -> np.ndarray:
    img = np.zeros((H, W, 3), np.uint8)
    img[..., 0] = 40 + 50 * episode
    img[..., 2] = np.arange(W)[None, :] * 4
    r, c = (k // 5) % 3 * 10 + 2, k % 5 * 9 + 2
    img[r:r + 8, c:c + 8] = (250, 250, 30)
    return img


def main(out: str) -> None:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset  # here: frame_image is imported by our tests

    features = {
        "observation.state": {"dtype": "float32", "shape": (8,),
                              "names": ["ee_pose.x", "ee_pose.y", "ee_pose.z", "ee_pose.qw", "ee_pose.qx",
                                        "ee_pose.qy", "ee_pose.qz", "gripper.gripper"]},
        "action": {"dtype": "float32", "shape": (8,), "names": ["x", "y", "z", "qw", "qx", "qy", "qz", "gripper"]},
        "observation.images.front": {"dtype": "video", "shape": (H, W, 3), "names": ["height", "width", "channels"]},
    }
    ds = LeRobotDataset.create("lab/foreign", fps=FPS, features=features, root=out, robot_type="franka",
                               use_videos=True)
    rng = np.random.default_rng(0)
    expected = []
    for e, n in enumerate(LENGTHS):
        state = rng.normal(size=(n, 8)).astype(np.float32)
        action = rng.normal(size=(n, 8)).astype(np.float32)
        for k in range(n):
            ds.add_frame({"observation.state": state[k], "action": action[k],
                          "observation.images.front": frame_image(e, k), "task": f"stack block {e % 2}"})
        ds.save_episode()
        expected.append({"state": state.tolist(), "action": action.tolist(), "task": f"stack block {e % 2}"})
    ds.finalize()
    with open(out + ".expected.json", "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main(sys.argv[1])
