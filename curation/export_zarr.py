"""Export a curated dataset as diffusion_policy's replay buffer: a Zarr (format 2) store that its
``ReplayBuffer.create_from_path`` / ``copy_from_path`` open.

    data/action           (N, 8) float32  [x, y, z, qw, qx, qy, qz, gripper] (request or applied, as the
                          trainer chooses; root attribute ``demostation.actions`` says which)
    data/<obs key>        (N, ...) float32 low-dim observations (ee_pose, gripper, ee_wrench, ...)
    data/<camera>         (N, H, W, 3) uint8, chunked one frame at a time
    meta/episode_ends     (E,) int64: cumulative end index of each episode (diffusion_policy's only meta key)

Trims applied (an episode's kept samples back to back), deleted episodes left out; the root's
attributes keep the provenance (source episode ids, outcomes, subsets). Written into a temporary
folder beside ``--out`` and renamed at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from curation.export_plan import kept_indices, plan_export, refuse_inside_dataset
from curation.workspace import Workspace
from devices.userfiles import atomic_dir
from recorder.jobs import Progress, ShouldStop, check_stop, never_stop, no_progress

_IMAGE_BLOCK = 256


@dataclass
class ZarrReport:
    out: Path
    episodes: int = 0
    frames: int = 0
    trimmed_frames: int = 0
    keys: list[str] = field(default_factory=list)
    actions: str = "applied"
    episode_ids: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {"out": str(self.out), "format": "zarr", "zarr_format": 2, "episodes": self.episodes,
                "frames": self.frames, "trimmed_frames": self.trimmed_frames, "keys": self.keys,
                "actions": self.actions, "episode_ids": self.episode_ids, "problems": self.problems}


def export_zarr(ws: Workspace, out: str | Path, overwrite: bool = False, progress: Progress = no_progress,
                should_stop: ShouldStop = never_stop) -> ZarrReport:
    """Write ``out`` (a folder store) in diffusion_policy's replay-buffer layout."""
    import zarr

    out = Path(out)
    refuse_inside_dataset(ws.root, out)
    plan = plan_export(ws)
    report = ZarrReport(out, actions=plan.actions, problems=plan.problems,
                        keys=["action"] + plan.lowdim + plan.cameras)
    with atomic_dir(out, overwrite) as tmp:
        root = zarr.group(store=zarr.DirectoryStore(str(tmp)), overwrite=True)
        data = root.require_group("data")
        meta = root.require_group("meta")
        arrays: dict[str, zarr.Array] = {}
        ends, outcomes, subsets = [], [], []
        total = 0

        def append(key: str, values: np.ndarray, chunks: tuple) -> None:
            if key not in arrays:
                arrays[key] = data.zeros(key, shape=(0,) + values.shape[1:], chunks=chunks, dtype=values.dtype)
            elif arrays[key].shape[1:] != values.shape[1:]:
                raise ValueError(f"{key} is {values.shape[1:]} in {eid} but {arrays[key].shape[1:]} before")
            arrays[key].append(values)

        for e, eid in enumerate(plan.ids):
            check_stop(should_stop)
            progress(e, len(plan.ids), f"exporting {eid}")
            with ws.dataset.open(eid) as ep:
                recorded = len(ep.time)
                idx = kept_indices(ws, eid, recorded)
                labels = ep.command() if plan.actions == "command" else ep.action()
                append("action", np.asarray(labels, np.float32)[idx], (1024, 8))
                for key in plan.lowdim:
                    v = np.asarray(ep.obs(key), np.float32)[idx]
                    append(key, v, (1024,) + v.shape[1:])
                for cam in plan.cameras:
                    for a in range(0, len(idx), _IMAGE_BLOCK):
                        check_stop(should_stop)
                        frames = ep.images(cam, idx[a:a + _IMAGE_BLOCK])
                        append(cam, frames, (1,) + frames.shape[1:])
            total += len(idx)
            ends.append(total)
            outcomes.append(ws.catalog.record(eid).outcome)
            subsets.append(plan.subsets[eid])
            report.episode_ids.append(eid)
            report.trimmed_frames += recorded - len(idx)
        meta.array("episode_ends", np.asarray(ends, np.int64), chunks=(max(1, len(ends)),))
        root.attrs["demostation"] = {"actions": plan.actions, "source": str(Path(ws.root).resolve()),
                                     "episode_ids": report.episode_ids, "outcomes": outcomes, "subsets": subsets,
                                     "action_names": ["x", "y", "z", "qw", "qx", "qy", "qz", "gripper"]}
        report.episodes, report.frames = len(ends), total
    progress(len(plan.ids), len(plan.ids), "done")
    return report
