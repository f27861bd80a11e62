"""Small synthetic episode files that follow docs/dataset-format.md, written with h5py (so policy
tests control every value), read back through the recorder's own reader, `recorder.dataset`.

The scene is a bright square on a dark background whose position the "expert" moves towards, so
actions depend on the images and the low-dim state, and a policy can learn something from them.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

HOME_QUAT = np.array([0.0, 1.0, 0.0, 0.0], dtype=np.float32)


def _square(size: int, xy: np.ndarray) -> np.ndarray:
    img = np.full((size, size, 3), 30, np.uint8)
    c = ((xy + 1) / 2 * (size - 12)).astype(int) + 6
    img[c[1] - 5:c[1] + 5, c[0] - 5:c[0] + 5] = (230, 40, 40)
    return img


def write_episode(root: str | Path, number: int, length: int = 20, cameras: tuple[str, ...] = ("scene", "wrist"),
                  image_size: int = 32, task: str = "pick_place", success: bool | None = True, seed: int = 0,
                  nan_at: int | None = None, command_offset: float | None = None) -> Path:
    """An episode; with ``command_offset`` it also stores ``command/*`` (the source's request): the
    applied action shifted by that much in x, so the two labels tell apart."""
    rng = np.random.default_rng(seed + number)
    goal = rng.uniform(-0.8, 0.8, 2).astype(np.float32)
    pos = np.zeros((length, 3), np.float32)
    p = np.array([0.0, 0.0, 0.2], np.float32)
    for t in range(length):
        pos[t] = p
        p = p + np.array([*(goal - p[:2]) * 0.3, -0.005], np.float32)
    yaw = rng.uniform(-0.5, 0.5)
    quat = np.array([0.0, np.cos(yaw / 2), np.sin(yaw / 2), 0.0], np.float32)
    obs_pose = np.concatenate([pos, np.tile(quat, (length, 1))], 1)
    act_pose = np.concatenate([np.vstack([pos[1:], pos[-1:]]), np.tile(quat, (length, 1))], 1)
    grip = (np.arange(length) > length // 2).astype(np.float32)[:, None]
    if nan_at is not None:
        obs_pose[nan_at, 0] = np.nan
    path = Path(root) / "episodes" / f"ep_{number:06d}.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f["time"] = np.arange(length) / 10.0
        f["action/ee_pose"] = act_pose
        f["action/gripper"] = grip
        f["action/source"] = np.zeros(length, np.uint8)
        if command_offset is not None:
            f["command/ee_pose"] = act_pose + np.array([command_offset, 0, 0, 0, 0, 0, 0], np.float32)
            f["command/gripper"] = grip
        f["obs/ee_pose"] = obs_pose
        f["obs/gripper"] = grip
        f["obs/ee_wrench"] = np.zeros((length, 6), np.float32)
        for cam in cameras:
            frames = np.stack([_square(image_size, goal if cam == "scene" else goal - pos[t, :2])
                               for t in range(length)])
            f.create_dataset(f"obs/images/{cam}", data=frames, chunks=(1, image_size, image_size, 3),
                             compression="gzip", compression_opts=4)
            f[f"obs/image_time/{cam}"] = np.arange(length) / 10.0
        attrs = {"format": "demostation-episode", "format_version": 1, "rate_hz": 10.0, "task": task,
                 "device": "synthetic", "operator": "test", "station": json.dumps({}),
                 "cameras": json.dumps([{"name": c, "width": image_size, "height": image_size} for c in cameras]),
                 "software_version": "test", "start_time": f"2025-01-01T00:00:{number:02d}Z", "complete": True,
                 "sources": json.dumps(["synthetic"]), "events": json.dumps([]), "timing": json.dumps({})}
        if success is not None:
            attrs["success"] = success
        f.attrs.update(attrs)
    return path


def write_dataset(root: str | Path, episodes: int = 4, **kw) -> Path:
    for i in range(episodes):
        write_episode(root, i, **kw)
    return Path(root)


def tiny_run_config(**policy):
    """A policy small enough to train for a few steps in a test (32 px frames, narrow layers)."""
    from policy.config import RunConfig

    cfg = RunConfig()
    p = cfg.policy
    p.image_size, p.crop_size = 32, 28
    p.encoder_channels, p.keypoints, p.image_features = 8, 8, 16
    p.unet_dims, p.time_embed_dim = (16, 32), 16
    p.transformer_dim, p.transformer_layers, p.transformer_heads = 32, 1, 2
    p.horizon, p.action_steps = 8, 4
    p.sample_steps = 3
    for k, v in policy.items():
        setattr(p, k, v)
    t = cfg.train
    t.steps, t.batch_size, t.lr = 6, 8, 1e-3
    t.val_every, t.log_every, t.save_every, t.val_batches = 3, 2, 3, 1
    t.threads = 1
    return cfg


def count_h5_opens(monkeypatch) -> list[str]:
    """Record the base name of every HDF5 file opened by name from now on (for tests that a reader
    opens only what it must; h5py also wraps already open file ids, which are not opens)."""
    import os

    opened: list[str] = []
    real_init = h5py.File.__init__

    def counting_init(self, name, *args, **kwargs):
        if isinstance(name, (str, os.PathLike)):
            opened.append(os.path.basename(str(name)))
        real_init(self, name, *args, **kwargs)

    monkeypatch.setattr(h5py.File, "__init__", counting_init)
    return opened
