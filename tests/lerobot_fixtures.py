"""A small curated dataset for the LeRobot/Zarr export tests, and the LeRobot environment to read
exports with.

Each frame shows a bright square whose position encodes the frame's index in its episode, on a
background that differs per episode: a frame decoded at the wrong timestamp (or from the wrong
episode) differs from the right one by far more than the codec's error.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np

from curation.workspace import open_workspace
from tests.curation_fixtures import still_then_move, write_episode

H, W = 32, 48
ROOT = Path(__file__).resolve().parents[1]


def frames(n: int, episode: int) -> np.ndarray:
    """(n, H, W, 3) uint8: per-episode gradient background, an 8x8 square that walks with the index."""
    yy, xx = np.mgrid[0:H, 0:W]
    bg = np.stack([xx * 4 + 20 * episode, yy * 6, np.full_like(xx, 60 + 30 * episode)], -1).clip(0, 255)
    out = np.repeat(bg[None].astype(np.uint8), n, 0)
    for k in range(n):
        r, c = (k // 5) % 3 * 10 + 2, k % 5 * 9 + 2
        out[k, r:r + 8, c:c + 8] = (250, 250, 30)
    return out


def make_dataset(root: Path, episodes: int = 4) -> Path:
    """``episodes`` episodes (scene + wrist cameras, command labels), curated: pauses trimmed, episode 1
    deleted, episode 2 a failure with a recovery range, episode 3 tagged."""
    for i in range(episodes):
        pose, grip = still_then_move(6, 8, 5 + i, 8, 6, noise=0.002, rng=np.random.default_rng(i))
        n = len(pose)
        grip = (np.arange(n) > n // 2).astype(np.float32)
        command = np.concatenate([pose, grip[:, None]], 1) + np.array([0.01, 0, 0, 0, 0, 0, 0, 0])
        write_episode(root, i, pose, grip, success=i != 2, command=command,
                      cameras={"scene": frames(n, i), "wrist": frames(n, i + 5)[:, ::-1].copy()})
    with open_workspace(root) as ws:
        for eid in ws.live_ids():
            ws.add_trim(eid, 0.0, 0.5)  # the still start: kept frames must be re-timed from 0
        ws.add_trim("ep_000000", 2.0, 2.3)  # a hole in the middle
        ws.catalog.delete_episode("ep_000001")
        ws.catalog.set_outcome("ep_000002", "failure")
        ws.catalog.add_tag("ep_000002", "recovery", 1.0, 2.0)
        if episodes > 3:
            ws.catalog.add_tag("ep_000003", "smooth")
    return root


def lerobot_python() -> Path:
    """The LeRobot environment's python: built once by scripts/lerobot_venv.sh (scripts/test.sh runs it too)
    into ~/.cache/demostation/venvs/, reused while it is there."""
    out = subprocess.run([str(ROOT / "scripts" / "lerobot_venv.sh")], capture_output=True, text=True,
                         timeout=1800, env={**os.environ, "PYTHONPATH": ""})
    if out.returncode != 0:
        raise RuntimeError(f"could not build the LeRobot environment: {out.stderr.strip()[-2000:]}")
    return Path(out.stdout.strip().splitlines()[-1])


def read_with_lerobot(python: Path, dataset: Path, out: Path) -> tuple[dict, dict]:
    """What LeRobot's LeRobotDataset gives for every frame of ``dataset`` (tests/lerobot_reader.py)."""
    import json

    env = {**os.environ, "PYTHONPATH": "", "HF_HUB_OFFLINE": "1", "HF_HOME": str(out.parent / "hf"),
           "HF_LEROBOT_HOME": str(out.parent / "hf" / "lerobot")}
    r = subprocess.run([str(python), str(ROOT / "tests" / "lerobot_reader.py"), str(dataset), str(out)],
                       capture_output=True, text=True, timeout=600, env=env)
    if r.returncode != 0:
        raise AssertionError(f"LeRobot could not read the export:\n{r.stderr[-4000:]}")
    with np.load(out) as z:
        arrays = {k: z[k] for k in z.files}
    return arrays, json.loads(Path(str(out) + ".json").read_text())
