"""Test helpers: episode files written by the dataset contract (docs/dataset-format.md) with h5py.

Used by the curation tests to build small datasets from synthetic action streams with known
pauses (real expert episodes are recorded through the recorder itself, `recorder.record`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import h5py
import numpy as np

HOME_QUAT = np.array([0.0, 1.0, 0.0, 0.0])  # hand pointing down


def episode_path(root: Path, number: int) -> Path:
    return Path(root) / "episodes" / f"ep_{number:06d}.h5"


def write_episode(root: Path, number: int, pose: np.ndarray, gripper: np.ndarray, *, rate_hz: float = 10.0,
                  events: list[dict] | None = None, success: bool | None = None, device: str = "spacemouse",
                  task: str = "pick_place", cameras: dict[str, np.ndarray] | None = None,
                  obs_pose: np.ndarray | None = None, complete: bool = True, sources: list[str] | None = None,
                  source_index: np.ndarray | None = None, seed: int | None = None,
                  command: np.ndarray | None = None) -> Path:
    """One episode file laid out as the contract says (``command``: (n, 8) requests, stored when given)."""
    path = episode_path(root, number)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = len(pose)
    pose = np.asarray(pose, dtype=np.float32)
    gripper = np.asarray(gripper, dtype=np.float32).reshape(n, 1)
    cameras = cameras or {}
    sources = sources or [device]
    with h5py.File(path, "w") as f:
        f["time"] = np.arange(n, dtype=np.float64) / rate_hz
        f["action/ee_pose"] = pose
        f["action/gripper"] = gripper
        f["action/source"] = np.zeros(n, np.uint8) if source_index is None else np.asarray(source_index, np.uint8)
        if command is not None:
            f["command/ee_pose"] = np.asarray(command, np.float32)[:, :7]
            f["command/gripper"] = np.asarray(command, np.float32)[:, 7:]
        f["obs/ee_pose"] = pose if obs_pose is None else np.asarray(obs_pose, np.float32)
        f["obs/gripper"] = gripper
        f["obs/ee_wrench"] = np.zeros((n, 6), np.float32)
        for name, images in cameras.items():
            f.create_dataset(f"obs/images/{name}", data=images, chunks=(1,) + images.shape[1:], compression="gzip")
            f[f"obs/image_time/{name}"] = np.arange(n, dtype=np.float64) / rate_hz
        f.attrs["format"] = "demostation-episode"
        f.attrs["format_version"] = 1
        f.attrs["rate_hz"] = rate_hz
        f.attrs["task"] = task
        f.attrs["device"] = device
        f.attrs["operator"] = "test"
        f.attrs["station"] = json.dumps({"kind": "sim"})
        f.attrs["cameras"] = json.dumps([{"name": c, "width": int(im.shape[2]), "height": int(im.shape[1]),
                                          "mount": "fixed"} for c, im in cameras.items()])
        f.attrs["software_version"] = "test"
        f.attrs["start_time"] = "2025-01-01T00:00:00Z"
        f.attrs["complete"] = np.bool_(complete)
        f.attrs["sources"] = json.dumps(sources)
        f.attrs["events"] = json.dumps(events or [])
        f.attrs["timing"] = json.dumps({"missed": 0})
        if success is not None:
            f.attrs["success"] = np.bool_(success)
        if seed is not None:
            f.attrs["seed"] = seed
    return path


def still_then_move(n_still_start: int, n_move: int, n_still_mid: int, n_move2: int, n_still_end: int,
                    speed: float = 0.2, rate_hz: float = 10.0, noise: float = 0.0,
                    rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic commanded stream: idle, move along x, idle, move along y, idle (gripper open)."""
    step = speed / rate_hz
    pos = [np.array([0.5, 0.0, 0.2])]
    for count, direction in ((n_still_start, None), (n_move, (1, 0, 0)), (n_still_mid, None),
                             (n_move2, (0, 1, 0)), (n_still_end, None)):
        for _ in range(count):
            pos.append(pos[-1] + (0 if direction is None else step * np.array(direction, float)))
    p = np.array(pos[1:])
    if noise > 0:
        p = p + smooth_noise(len(p), noise, rng or np.random.default_rng(0))
    pose = np.concatenate([p, np.tile(HOME_QUAT, (len(p), 1))], axis=1)
    return pose, np.zeros(len(p))


def smooth_noise(n: int, std: float, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) hand-tremor-like noise of stationary std ``std``: the scripted expert's own AR(1) model."""
    out = np.zeros((n, 3))
    state = np.zeros(3)
    for i in range(n):
        state = 0.8 * state + rng.normal(0.0, std, 3) * 0.6
        out[i] = state
    return out


def write_corrupt(root: Path, number: int) -> Path:
    """Garbage where an episode should be (a disk error, a copy gone wrong)."""
    path = episode_path(root, number)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00garbage" * 64)
    return path


def write_half(root: Path, number: int, source: Path) -> Path:
    """A half-written copy of a good episode (its first half of bytes)."""
    path = episode_path(root, number)
    data = Path(source).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def file_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under DATASET/episodes (to prove curation never modifies them)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((Path(root) / "episodes").iterdir()) if p.is_file()}
