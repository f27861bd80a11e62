"""What every export reads from a curated dataset, decided once: which episodes (live, readable,
something kept), their train/valid subsets, the low-dim keys and cameras they share, and which
action label to write (the source's request when every episode stores it, as the trainer's
``action_label: auto`` chooses). The robomimic, LeRobot and Zarr exporters all start here, so a
trim, a delete or the action choice means the same in every format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from curation.split import make_split
from curation.workspace import Workspace
from recorder.validate import unusable_reason

DEFAULT_VAL_FRACTION = 0.1
DEFAULT_SPLIT_SEED = 0
LOWDIM_ORDER = ("ee_pose", "gripper", "ee_wrench", "joint_pos")


@dataclass
class ExportPlan:
    ids: list[str]
    subsets: dict[str, str]  # episode id -> "train" | "valid"
    lowdim: list[str]
    cameras: list[str]
    actions: str  # "command" (the source's request) or "applied" (after the safety filter)
    split_source: str = "catalog"
    problems: list[str] = field(default_factory=list)


def refuse_inside_dataset(root: Path, out: Path) -> None:
    """An export never writes into the dataset it reads: with ``--force`` a path there could name
    a raw episode or the catalog, and the recording would be gone."""
    dataset = Path(root).resolve()
    target = Path(out).resolve()
    if target == dataset or dataset in target.parents:
        raise ValueError(f"{out} is inside the dataset {root}; write the export outside the dataset folder")


def _episodes(ws: Workspace, problems: list[str]) -> tuple[list[str], dict[str, str], str]:
    """Live episodes with something kept. An episode validate finds unusable (NaN, missing datasets,
    image counts that differ from time, ...; `recorder.validate.unusable_reason`) is left out with
    one problem line naming it and why, so a damaged recording can neither write NaN actions nor
    shrink the common observation keys in any format."""
    ids = []
    for eid in ws.live_ids():
        why = unusable_reason(ws.dataset, eid)
        if why is not None:
            problems.append(f"{eid}: left out: {why}")
            continue
        if not ws.catalog.kept_mask(eid).any():
            problems.append(f"{eid}: every sample is trimmed; left out")
            continue
        ids.append(eid)
    if not ids:
        raise ValueError(f"{ws.root} has no episodes to export (none readable, or all deleted or trimmed)")
    split = ws.catalog.split()
    if split is None:
        source = f"default (valid {DEFAULT_VAL_FRACTION:g}, seed {DEFAULT_SPLIT_SEED}; none stored)"
        return ids, make_split(ids, DEFAULT_VAL_FRACTION, DEFAULT_SPLIT_SEED), source
    subsets = {}
    unsplit = []
    for eid in ids:
        subsets[eid] = split.assignment.get(eid, "train")
        if eid not in split.assignment:
            unsplit.append(eid)
    if unsplit:
        problems.append(f"{len(unsplit)} episodes recorded after the stored split went to train "
                        f"({', '.join(unsplit[:3])}{'...' if len(unsplit) > 3 else ''}); rerun --split")
    return ids, subsets, "catalog"


def plan_export(ws: Workspace) -> ExportPlan:
    """The plan for exporting ``ws``; raises ValueError (one line) where nothing can be exported or
    the episodes disagree on their cameras."""
    problems = list(ws.problems)
    ids, subsets, split_source = _episodes(ws, problems)
    common: set[str] | None = None
    cameras: dict[str, tuple[str, ...]] = {}
    with_command = 0
    for eid in ids:
        with ws.dataset.open(eid) as ep:
            with_command += bool(ep.has_command)
            keys = set(ep.obs_keys)
            common = keys if common is None else common & keys
            cameras[eid] = tuple(sorted(ep.camera_names))
    first = cameras[ids[0]]
    odd = [eid for eid in ids if cameras[eid] != first]
    if odd:
        raise ValueError(f"episodes have different cameras: {ids[0]} has {list(first) or 'none'}, {odd[0]} has "
                         f"{list(cameras[odd[0]]) or 'none'}; merge with --camera-map to unify names, or delete one")
    common = common or set()
    lowdim = [k for k in LOWDIM_ORDER if k in common] + sorted(common - set(LOWDIM_ORDER))
    return ExportPlan(ids, subsets, lowdim, list(first), "command" if with_command == len(ids) else "applied",
                      split_source, problems)


def kept_indices(ws: Workspace, eid: str, samples_in_file: int) -> np.ndarray:
    """Sample indices of ``eid`` that survive its trims, in order; the catalog and the file must agree."""
    kept = ws.catalog.kept_mask(eid)
    if samples_in_file != len(kept):
        raise ValueError(f"catalog says {len(kept)} samples, file has {samples_in_file}")
    return np.flatnonzero(kept)
