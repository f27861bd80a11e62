"""Merge datasets (e.g. recorded with different teleop devices) into one training dataset.

Actions are already in one representation (end-effector pose + gripper) whatever the device, so
merging is about the observations: every episode must carry the same cameras, under the same names,
at the same image size and mount — the camera layout, compared with the project's one check
(`devices.cameras.layout.check_compatible`, the same one a policy is checked with before it runs).
Names can be mapped (``--camera-map front=scene``); anything still different is a clear error
before a single file is written.

The sources are never modified. Each episode lands in ``OUT/episodes`` under a new id: hard-linked
when nothing changes (episode files are immutable, so sharing the bytes is safe and costs no
space), or rewritten with renamed camera groups when a mapping applies (HDF5 object copies, so
compressed image chunks are copied as they are). Curation carries over: outcomes, soft deletes,
tags, notes and applied trims come with each episode, and the new catalog records where every
episode came from (``provenance``). The split does not: split the merged dataset afresh.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import h5py

from curation.source import READ_ERRORS
from curation.workspace import Workspace, open_workspace
from devices.camera import CameraInfo
from devices.cameras.layout import MOUNTS, CameraLayout, check_compatible
from devices.userfiles import atomic_path
from recorder.disk_space import require_free_space
from recorder.errors import NoSpaceError
from recorder.jobs import Progress, ShouldStop, check_stop, never_stop, no_progress
from recorder.journal import is_disk_full


def parse_camera_map(items: list[str] | None) -> dict[str, str]:
    """``["front=scene", "hand=wrist"]`` → {"front": "scene", "hand": "wrist"}."""
    mapping: dict[str, str] = {}
    for item in items or []:
        old, sep, new = item.partition("=")
        old, new = old.strip(), new.strip()
        if not sep or not old or not new or "/" in old + new:
            raise ValueError(f"bad camera mapping {item!r}: use OLD=NEW, e.g. front=scene")
        if old in mapping and mapping[old] != new:
            raise ValueError(f"camera {old!r} is mapped twice ({mapping[old]!r} and {new!r})")
        mapping[old] = new
    return mapping


@dataclass(frozen=True)
class _Planned:
    source: Workspace
    episode_id: str
    cameras: dict[str, str]  # source camera name → merged name
    shapes: dict[str, tuple[int, ...]]  # merged name → image shape
    task: str
    mounts: dict[str, str | None]  # merged name → mount from the episode's `cameras` attribute (None: unknown)

    def layout(self, comparable_mounts: set[str]) -> CameraLayout:
        """The episode's camera layout after mapping; a mount is compared only where every episode knows it."""
        return CameraLayout(tuple(
            CameraInfo(name, width=int(shape[1]), height=int(shape[0]),
                       mount=self.mounts[name] if name in comparable_mounts else "scene")  # type: ignore[arg-type]
            for name, shape in sorted(self.shapes.items())))


@dataclass
class MergeReport:
    out: Path
    episodes: list[dict] = field(default_factory=list)  # {id, source, source_episode, renamed}
    problems: list[str] = field(default_factory=list)
    cameras: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {"out": str(self.out), "episodes": len(self.episodes), "cameras": self.cameras,
                "renamed": sum(bool(e["renamed"]) for e in self.episodes), "mapping": self.episodes,
                "problems": self.problems}


def _plan(sources: list[Workspace], camera_map: dict[str, str], report: MergeReport) -> list[_Planned]:
    planned: list[_Planned] = []
    seen_names: set[str] = set()
    for ws in sources:
        report.problems.extend(f"{ws.root}: {p}" for p in ws.problems)
        for eid in ws.readable:
            try:
                with ws.dataset.open(eid) as ep:
                    names = {c: camera_map.get(c, c) for c in ep.camera_names}
                    shapes = {names[c]: tuple(ep.images(c, slice(0, 0)).shape[1:]) for c in ep.camera_names}
                    stored = {d.get("name"): d.get("mount") for d in ep.cameras if isinstance(d, dict)}
                    mounts = {names[c]: stored.get(c) if stored.get(c) in MOUNTS else None for c in ep.camera_names}
                    task = ep.task
            except READ_ERRORS as exc:
                report.problems.append(f"{ws.root}/{eid}: skipped ({type(exc).__name__}: {exc})")
                continue
            if len(set(names.values())) != len(names):
                raise ValueError(f"--camera-map gives two cameras of {ws.root}/{eid} the same name: {names}")
            seen_names.update(names)
            planned.append(_Planned(ws, eid, names, shapes, task, mounts))
    if not planned:
        raise ValueError("the source datasets have no readable episodes to merge")
    unused = sorted(set(camera_map) - seen_names)
    if unused:
        raise ValueError(f"--camera-map names camera(s) no source has: {', '.join(unused)}")
    ref = planned[0]
    all_names = {n for p in planned for n in p.shapes}
    comparable = {n for n in all_names if all(p.mounts.get(n) is not None for p in planned if n in p.mounts)}
    ref_layout = ref.layout(comparable)
    for p in planned[1:]:
        if p.task != ref.task:
            raise ValueError(f"datasets record different tasks: {ref.source.root}/{ref.episode_id} is {ref.task!r}, "
                             f"{p.source.root}/{p.episode_id} is {p.task!r}; merge one task at a time")
        problems = check_compatible(ref_layout, p.layout(comparable))
        if not problems:
            continue
        here, there = f"{ref.source.root}/{ref.episode_id}", f"{p.source.root}/{p.episode_id}"
        if set(p.shapes) != set(ref.shapes):
            raise ValueError(f"camera sets differ: {here} has {sorted(ref.shapes) or 'none'}, {there} has "
                             f"{sorted(p.shapes) or 'none'} (after mapping); map names with --camera-map OLD=NEW")
        bad = [c for c in sorted(p.shapes) if p.shapes[c] != ref.shapes[c]]
        if bad:
            c = bad[0]
            raise ValueError(f"camera {c!r} has images of {ref.shapes[c]} in {here} but {p.shapes[c]} in {there}; "
                             "record at one image size")
        raise ValueError(f"camera layouts differ between {here} and {there}: {'; '.join(problems)}; "
                         "a policy trained on one viewpoint fails on another: merge datasets with the same mounts")
    report.cameras = sorted(ref.shapes)
    return planned


def _link_or_copy(src: Path, dst: Path) -> None:
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copy2(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a copy that did not fit leaves nothing taking the space
        raise


def _copy_renamed(src: Path, dst: Path, names: dict[str, str]) -> None:
    """Rewrite an episode with its camera groups renamed (everything else copied as it is)."""
    with (atomic_path(dst, tmp=dst.with_name(dst.name + ".tmp")) as tmp,
          h5py.File(src, "r") as fin, h5py.File(tmp, "w") as fout):
        for key, value in fin.attrs.items():
            fout.attrs[key] = value
        if "cameras" in fin.attrs:
            raw = fin.attrs["cameras"]
            infos = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
            for info in infos:
                info["name"] = names.get(info.get("name"), info.get("name"))
            fout.attrs["cameras"] = json.dumps(infos)
        for key in fin:
            if key != "obs":
                fin.copy(fin[key], fout, name=key)
        obs = fin.get("obs")
        if obs is not None:
            out_obs = fout.create_group("obs")
            for key in obs:
                if key in ("images", "image_time"):
                    group = out_obs.create_group(key)
                    for cam in obs[key]:
                        obs.copy(obs[key][cam], group, name=names.get(cam, cam))
                else:
                    obs.copy(obs[key], out_obs, name=key)


def merge_datasets(sources: list[str | Path], out: str | Path, camera_map: dict[str, str] | None = None,
                   progress: Progress = no_progress, should_stop: ShouldStop = never_stop) -> MergeReport:
    """Merge ``sources`` into a new dataset at ``out`` (which must not exist or be empty)."""
    out = Path(out)
    camera_map = camera_map or {}
    if not sources:
        raise ValueError("name at least one dataset to merge")
    resolved = [Path(s).resolve() for s in sources]
    if len(set(resolved)) != len(resolved):
        raise ValueError("a dataset is named twice in --merge")
    if out.resolve() in resolved:
        raise ValueError("the merged dataset must be a new folder, not one of the sources")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} exists and is not empty; merge into a new folder")
    report = MergeReport(out)
    workspaces = [open_workspace(s) for s in sources]
    try:
        planned = _plan(workspaces, camera_map, report)
        episodes_dir = out / "episodes"
        episodes_dir.mkdir(parents=True, exist_ok=True)
        for k, p in enumerate(planned):
            check_stop(should_stop)
            progress(k, len(planned), f"merging {p.source.root.name}/{p.episode_id}")
            new_id = f"ep_{k:06d}"
            src = p.source.root / "episodes" / f"{p.episode_id}.h5"
            renamed = {a: b for a, b in p.cameras.items() if a != b}
            try:
                if renamed:  # rewritten through HDF5, which cannot recover from ENOSPC: checked first
                    require_free_space(episodes_dir, src.stat().st_size, f"merging {src} into {out}")
                    _copy_renamed(src, episodes_dir / f"{new_id}.h5", renamed)
                else:
                    _link_or_copy(src, episodes_dir / f"{new_id}.h5")
            except OSError as exc:
                if not is_disk_full(exc) or isinstance(exc, NoSpaceError):
                    raise
                raise NoSpaceError(f"disk full while merging into {out} ({k} of {len(planned)} episodes "
                                   "copied); the sources are untouched: free space, remove that folder and run "
                                   "again") from None
            report.episodes.append({"id": new_id, "source": str(p.source.root), "source_episode": p.episode_id,
                                    "renamed": renamed})
        with open_workspace(out) as merged:
            for p, entry in zip(planned, report.episodes, strict=True):
                merged.catalog.carry_over(entry["id"], p.source.catalog, p.episode_id,
                                          {"source": entry["source"], "source_episode": p.episode_id,
                                           "camera_map": entry["renamed"]})
        progress(len(planned), len(planned), "done")
        return report
    finally:
        for ws in workspaces:
            ws.close()
