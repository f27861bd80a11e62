"""Export a curated dataset in robomimic's HDF5 layout, trims applied, deleted episodes left out.

Layout (what ``robomimic.utils.dataset.SequenceDataset`` and ``FileUtils`` read):

    data                      attrs: total (sum of num_samples), env_args (JSON: env_name, type, env_kwargs)
    data/demo_N               attrs: num_samples (+ episode_id, outcome, device, task for provenance)
    data/demo_N/actions       (n, 8) float32  [x, y, z, qw, qx, qy, qz, gripper]: the command source's
                              request (``command/*``) when every exported episode stores it, else the
                              applied command (``action/*``) — the same choice as our trainer's
                              ``action_label: auto``; ``data`` attr ``actions`` names it
    data/demo_N/rewards       (n,) float32    1 on the last sample of a success, else 0
    data/demo_N/dones         (n,) uint8      1 on the last sample
    data/demo_N/obs/<key>     low-dim observations (ee_pose, gripper, ee_wrench, ...) and
                              <camera>_image (n, H, W, 3) uint8, robomimic's image-key convention
    data/demo_N/next_obs/<key>  the same, one kept sample later (last repeated); SequenceDataset
                              loads it by default (load_next_obs=True)
    data/demo_N/source_index  (n,) int64      sample index in the raw episode (provenance)
    mask/train, mask/valid    byte strings of demo names (filter keys)

Demo names are ``demo_<int>`` because SequenceDataset sorts them by ``int(name[5:])``. A trimmed
episode becomes one demo of its kept samples in order: the commanded pose is the same at both
sides of a cut idle pause, so the sequence stays continuous. The file is written beside its
destination and renamed over it only when complete, so a cancelled export leaves nothing behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from curation.export_plan import kept_indices, plan_export, refuse_inside_dataset
from curation.source import READ_ERRORS
from curation.workspace import Workspace
from devices.userfiles import atomic_path
from recorder.disk_space import require_free_space
from recorder.jobs import Progress, ShouldStop, check_stop, never_stop, no_progress

# robomimic.envs.env_base.EnvType: ROBOSUITE_TYPE = 1, GYM_TYPE = 2, IG_MOMART_TYPE = 3. The station is
# not any of them; GYM_TYPE is the closest (a gym-style step/reset environment). robomimic only reads
# it to create an environment for rollouts, which needs a wrapper of the station either way.
ROBOMIMIC_GYM_TYPE = 2
_IMAGE_BLOCK = 256  # frames read and written at a time (bounds memory for long episodes)


@dataclass
class ExportReport:
    out: Path
    demos: int = 0
    samples: int = 0
    trimmed_samples: int = 0
    train: list[str] = field(default_factory=list)
    valid: list[str] = field(default_factory=list)
    episodes: dict[str, str] = field(default_factory=dict)  # demo name → episode id
    split_source: str = "catalog"
    obs_keys: list[str] = field(default_factory=list)
    actions: str = "applied"  # "command" (the source's request) or "applied" (after the safety filter)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {"out": str(self.out), "format": "robomimic", "demos": self.demos, "samples": self.samples,
                "trimmed_samples": self.trimmed_samples, "train": len(self.train), "valid": len(self.valid),
                "split_source": self.split_source, "obs_keys": self.obs_keys, "actions": self.actions,
                "episodes": self.episodes,
                "problems": self.problems}


def _env_args(ws: Workspace, first_id: str, cameras: list[str]) -> str:
    with ws.dataset.open(first_id) as ep:
        station = ep.attrs.get("station") or {}
        return json.dumps({"env_name": f"demostation/{ep.task}", "type": ROBOMIMIC_GYM_TYPE,
                           "env_kwargs": {"task": ep.task, "rate_hz": float(ep.rate_hz), "station": station,
                                          "cameras": cameras, "action": "ee_pose[7] xyz+quat(wxyz), gripper[1]"}})


def export_robomimic(ws: Workspace, out: str | Path, next_obs: bool = True, overwrite: bool = False,
                     progress: Progress = no_progress, should_stop: ShouldStop = never_stop) -> ExportReport:
    """Write ``out`` in robomimic's layout from the curated dataset of ``ws``."""
    out = Path(out)
    refuse_inside_dataset(ws.root, out)
    if out.exists() and not overwrite:
        raise ValueError(f"{out} exists; choose another --out or pass --force to replace it")
    if out.exists() and out.is_dir():
        raise IsADirectoryError(f"{out} is a folder; --out needs a file name such as demos.h5")
    if not out.parent.exists():
        raise FileNotFoundError(f"folder {out.parent} does not exist")
    plan = plan_export(ws)
    report = ExportReport(out, split_source=plan.split_source, actions=plan.actions, problems=plan.problems)
    ids, subsets, lowdim, cameras = plan.ids, plan.subsets, plan.lowdim, plan.cameras
    report.obs_keys = lowdim + [f"{c}_image" for c in cameras]
    with atomic_path(out, tmp=out.with_name(out.name + ".tmp")) as tmp, h5py.File(tmp, "w") as f:
        data = f.create_group("data")
        total = 0
        for k, eid in enumerate(ids):
            check_stop(should_stop)
            progress(k, len(ids), f"exporting {eid}")
            name = f"demo_{report.demos}"
            # about what the episode's own file holds (images are gzip-compressed in both), twice
            # with next_obs; checked before writing, since HDF5 cannot recover from ENOSPC
            size = ws.dataset.path(eid).stat().st_size * (2 if next_obs else 1)
            require_free_space(tmp.parent, size, f"exporting {eid} to {out}")
            try:
                n, trimmed = _write_demo(ws, eid, data, name, lowdim, cameras, next_obs, report.actions,
                                         should_stop)
            except READ_ERRORS as exc:
                if name in data:
                    del data[name]
                report.problems.append(f"{eid}: skipped ({type(exc).__name__}: {exc})")
                continue
            (report.valid if subsets[eid] == "valid" else report.train).append(name)
            report.episodes[name] = eid
            report.demos += 1
            report.samples += n
            report.trimmed_samples += trimmed
            total += n
        if report.demos == 0:
            raise ValueError("no episode could be exported: " + "; ".join(report.problems[-3:]))
        data.attrs["total"] = total
        data.attrs["actions"] = report.actions
        data.attrs["env_args"] = _env_args(ws, report.episodes["demo_0"], cameras)
        f.create_dataset("mask/train", data=np.array(report.train, dtype="S"))
        f.create_dataset("mask/valid", data=np.array(report.valid, dtype="S"))
    progress(len(ids), len(ids), "done")
    return report


def _write_demo(ws: Workspace, eid: str, data: h5py.Group, name: str, lowdim: list[str], cameras: list[str],
                next_obs: bool, actions: str, should_stop: ShouldStop) -> tuple[int, int]:
    with ws.dataset.open(eid) as ep:
        recorded = len(ep.time)
        idx = kept_indices(ws, eid, recorded)
        nxt = np.append(idx[1:], idx[-1])
        g = data.create_group(name)
        n = len(idx)
        g.attrs["num_samples"] = n
        g.attrs["episode_id"] = eid
        g.attrs["outcome"] = ws.catalog.record(eid).outcome
        g.attrs["device"] = ep.device
        g.attrs["task"] = ep.task
        labels = ep.command() if actions == "command" else ep.action()
        g.create_dataset("actions", data=labels[idx].astype(np.float32))
        rewards = np.zeros(n, np.float32)
        rewards[-1] = 1.0 if g.attrs["outcome"] == "success" else 0.0
        g.create_dataset("rewards", data=rewards)
        dones = np.zeros(n, np.uint8)
        dones[-1] = 1
        g.create_dataset("dones", data=dones)
        g.create_dataset("source_index", data=idx.astype(np.int64))
        groups = [("obs", idx)] + ([("next_obs", nxt)] if next_obs else [])
        for group, rows in groups:
            for key in lowdim:
                g.create_dataset(f"{group}/{key}", data=np.asarray(ep.obs(key))[rows].astype(np.float32))
            for cam in cameras:
                first = ep.images(cam, rows[:1])
                ds = g.create_dataset(f"{group}/{cam}_image", shape=(n,) + first.shape[1:], dtype=np.uint8,
                                      chunks=(1,) + first.shape[1:], compression="gzip", compression_opts=4)
                for a in range(0, n, _IMAGE_BLOCK):
                    check_stop(should_stop)
                    ds[a:a + _IMAGE_BLOCK] = ep.images(cam, rows[a:a + _IMAGE_BLOCK])
    return n, recorded - n

