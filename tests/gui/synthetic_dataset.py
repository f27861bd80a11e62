"""Small episode files written straight to the dataset contract (docs/dataset-format.md), for GUI tests.

Writing through the recorder would take a real-time second per second of episode; these files have
the same layout and attributes, with tiny images, and are written in a few milliseconds each.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np


def write_episode(root: Path, number: int, samples: int = 40, image: int = 8, pause: tuple[int, int] | None = None,
                  success: bool | None = True, device: str = "expert", rate_hz: float = 10.0,
                  seed: int = 0) -> Path:
    """One complete episode; the commanded hand moves steadily except during ``pause`` (sample indices)."""
    rng = np.random.default_rng(seed + number)
    folder = root / "episodes"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"ep_{number:06d}.h5"
    t = np.arange(samples) / rate_hz
    speed = np.full(samples, 0.12 / rate_hz)
    if pause is not None:
        speed[pause[0]:pause[1]] = 0.0
    x = 0.3 + np.cumsum(speed)
    pose = np.zeros((samples, 7), np.float32)
    pose[:, 0] = x
    pose[:, 1] = 0.05 * np.sin(t)
    pose[:, 2] = 0.15
    pose[:, 4] = 1.0  # qx = 1: pointing down
    gripper = (t > t[-1] / 2).astype(np.float32).reshape(-1, 1)
    cams = ["scene", "wrist"]
    with h5py.File(path, "w") as f:
        f["time"] = t
        f["action/ee_pose"] = pose
        f["action/gripper"] = gripper
        f["action/source"] = np.zeros(samples, np.uint8)
        f["obs/ee_pose"] = pose + rng.normal(0, 1e-4, pose.shape).astype(np.float32)
        f["obs/gripper"] = gripper
        f["obs/ee_wrench"] = np.zeros((samples, 6), np.float32)
        f["timing/tick_error"] = np.zeros(samples)
        for k, cam in enumerate(cams):
            imgs = np.zeros((samples, image, image, 3), np.uint8)
            imgs[..., k] = (np.arange(samples) * 255 // max(1, samples - 1)).astype(np.uint8)[:, None, None]
            f.create_dataset(f"obs/images/{cam}", data=imgs, chunks=(1, image, image, 3), compression="gzip")
            f[f"obs/image_time/{cam}"] = t
        attrs = {
            "format": "demostation-episode", "format_version": 1, "rate_hz": rate_hz, "task": "pick_place",
            "device": device, "operator": "test", "station": json.dumps({"robot": "sim"}),
            "cameras": json.dumps([{"name": c, "width": image, "height": image, "mount": c} for c in cams]),
            "software_version": "test", "start_time": "2025-01-01T00:00:00.000+00:00", "complete": True,
            "sources": json.dumps([device]), "timing": json.dumps({"ticks": samples, "missed_ticks": 0}),
            "events": json.dumps([] if pause is None else [{"kind": "pause", "start": pause[0] / rate_hz,
                                                            "end": pause[1] / rate_hz, "label": ""}]),
        }
        if success is not None:
            attrs["success"] = bool(success)
        for k, v in attrs.items():
            f.attrs[k] = v
    return path


def write_dataset(root: Path, episodes: int, **kwargs) -> Path:
    for i in range(episodes):
        write_episode(root, i, **kwargs)
    return root


def write_known_dataset(root: Path, episodes: int, samples: int = 60) -> Path:
    """``episodes`` copies of one small episode, already listed in the curation catalog.

    Stands for a dataset the catalog has seen before (the GUI adds each recorded episode to it), so
    opening it needs no episode file to be read. The facts are the catalog's own `EpisodeFacts`,
    stamped with each copy's real size and modification time.
    """
    import shutil

    from curation.catalog import Catalog, EpisodeFacts
    from recorder.identity import file_fingerprint

    template = write_episode(root, 0, samples=samples, image=4)
    folder = template.parent
    for i in range(1, episodes):
        shutil.copyfile(template, folder / f"ep_{i:06d}.h5")
    facts = []
    for p in sorted(folder.glob("ep_*.h5")):
        st = p.stat()
        facts.append(EpisodeFacts(id=p.stem, samples=samples, rate_hz=10.0, task="pick_place", device="expert",
                                  complete=True, station_success=True, file_size=int(st.st_size),
                                  file_mtime=float(st.st_mtime), duration=samples / 10.0,
                                  fingerprint=file_fingerprint(p)))
    with Catalog.open(root) as catalog:
        catalog.sync(facts)
    return root
