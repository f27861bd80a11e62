"""Export a curated dataset as a LeRobotDataset (format v3.0), trims applied, deleted episodes left out.

The layout is in ``curation/lerobot_format.py``. What Demo Station adds to LeRobot's own fields:

- ``observation.state`` is the low-dim observations side by side, named ``ee_pose.x ... ee_pose.qz,
  gripper.gripper, ee_wrench.fx ...`` (quaternion w first); ``action`` is ``[x, y, z, qw, qx, qy, qz,
  gripper]``: the source's request when every episode stores it, else the applied command (the
  trainer's ``action_label: auto``; ``info.json``'s ``demostation.actions`` says which).
- The kept frames of a trimmed episode are re-timed onto the fps grid (frame k at k / fps): LeRobot
  finds video frames by timestamp, and the cut idle pauses would otherwise leave holes it refuses.
- Per frame: ``next.reward`` (1 on the last frame of a success), ``next.done`` and ``recovery`` (the
  frame lies in a range tagged ``recovery``, e.g. an operator's take-over). Per episode (columns of
  the episodes parquet): ``outcome``, ``tags`` (whole-episode tags), ``subset`` (train/valid),
  ``source_episode`` (our episode id) and ``source_index`` (the kept samples' indices in it).
- Episodes are ordered train first, then valid, so ``splits`` can name both as index ranges.

Everything is written into a temporary folder beside ``--out`` and renamed at the end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from curation import lerobot_format as lf
from curation.catalog import RECOVERY_TAG
from curation.export_formats import DEFAULT_CRF, DEFAULT_GOP
from curation.export_plan import ExportPlan, kept_indices, plan_export, refuse_inside_dataset
from curation.workspace import Workspace
from devices.userfiles import atomic_dir
from recorder.jobs import Progress, ShouldStop, check_stop, never_stop, no_progress

_IMAGE_BLOCK = 128  # frames read and encoded at a time (bounds memory for long episodes)


@dataclass
class LeRobotReport:
    out: Path
    episodes: int = 0
    frames: int = 0
    trimmed_frames: int = 0
    fps: int = 0
    cameras: list[str] = field(default_factory=list)
    codec: str = ""
    actions: str = "applied"
    split_source: str = "catalog"
    train: int = 0
    valid: int = 0
    episode_ids: list[str] = field(default_factory=list)  # LeRobot episode index -> our episode id
    problems: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {"out": str(self.out), "format": "lerobot", "codebase_version": lf.CODEBASE_VERSION,
                "episodes": self.episodes, "frames": self.frames, "trimmed_frames": self.trimmed_frames,
                "fps": self.fps, "cameras": self.cameras, "codec": self.codec, "actions": self.actions,
                "split_source": self.split_source, "train": self.train, "valid": self.valid,
                "episode_ids": self.episode_ids, "problems": self.problems}


@dataclass
class _Layout:
    fps: int
    widths: dict[str, int]  # low-dim key -> width
    image_shapes: dict[str, tuple[int, int, int]]  # camera -> (H, W, 3)


def dataset_fps(rates: dict[str, float]) -> int:
    """The one integer frame rate of the episodes (LeRobot's ``fps`` is an int); a clear line otherwise."""
    distinct = sorted(set(rates.values()))
    if len(distinct) > 1:
        eid = next(e for e, r in rates.items() if r != distinct[0])
        raise ValueError(f"episodes are recorded at different rates ({', '.join(f'{r:g}' for r in distinct)} Hz, "
                         f"e.g. {eid}); LeRobot needs one fps: delete or export them separately")
    rate = distinct[0]
    if not np.isfinite(rate) or rate <= 0 or abs(rate - round(rate)) > 1e-6 or round(rate) > 1000:
        raise ValueError(f"the episodes' rate {rate:g} Hz is not a whole number of frames per second; "
                         f"LeRobot's fps is an integer")
    return int(round(rate))


def _layout(ws: Workspace, plan: ExportPlan) -> _Layout:
    rates: dict[str, float] = {}
    widths: dict[str, int] = {}
    shapes: dict[str, tuple[int, int, int]] = {}
    for eid in plan.ids:
        with ws.dataset.open(eid) as ep:
            rates[eid] = float(ep.rate_hz)
            for key in plan.lowdim:
                w = int(np.prod(np.asarray(ep.obs(key)).shape[1:], dtype=int))
                if widths.setdefault(key, w) != w:
                    raise ValueError(f"obs/{key} is {w} wide in {eid} but {widths[key]} in {plan.ids[0]}")
            for cam in plan.cameras:
                shape = tuple(int(s) for s in ep.image_shape(cam))
                if shapes.setdefault(cam, shape) != shape:
                    raise ValueError(f"camera {cam} is {shape} in {eid} but {shapes[cam]} in {plan.ids[0]}; "
                                     f"one video per camera needs one size")
    for cam, (h, w, c) in shapes.items():
        if c != 3 or h % 2 or w % 2:
            raise ValueError(f"camera {cam} frames are {h}x{w}x{c}; the H.264 yuv420p video needs RGB with even "
                             f"height and width")
    return _Layout(dataset_fps(rates), widths, shapes)


def _features(plan: ExportPlan, layout: _Layout, video_info: dict[str, dict]) -> dict:
    names = [n for key in plan.lowdim for n in lf.component_names(key, layout.widths[key])]
    feats: dict[str, dict] = {
        lf.STATE: {"dtype": "float32", "shape": [len(names)], "names": names},
        lf.ACTION: {"dtype": "float32", "shape": [8], "names": list(lf.ACTION_NAMES)},
    }
    for cam in plan.cameras:
        h, w, c = layout.image_shapes[cam]
        feats[lf.IMAGE_PREFIX + cam] = {"dtype": "video", "shape": [h, w, c], "names": ["height", "width", "channels"],
                                        "info": video_info.get(cam, {})}
    feats["next.reward"] = {"dtype": "float32", "shape": [1], "names": None}
    feats["next.done"] = {"dtype": "bool", "shape": [1], "names": None}
    feats["recovery"] = {"dtype": "bool", "shape": [1], "names": None}
    for key, dtype in (("timestamp", "float32"), ("frame_index", "int64"), ("episode_index", "int64"),
                       ("index", "int64"), ("task_index", "int64")):
        feats[key] = {"dtype": dtype, "shape": [1], "names": None}
    return feats


def _video_info(path: Path, fps: int) -> dict:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return {"video.height": s.height, "video.width": s.width, "video.codec": s.codec_context.codec.canonical_name,
                "video.pix_fmt": s.codec_context.pix_fmt, "video.is_depth_map": False, "video.fps": fps,
                "video.channels": 3, "has_audio": False}


def _recovery_mask(ws: Workspace, eid: str, times: np.ndarray) -> np.ndarray:
    mask = np.zeros(len(times), bool)
    for tag in ws.catalog.tags(eid):
        if tag.tag == RECOVERY_TAG and tag.start is not None:
            mask |= (times >= tag.start) & (times < tag.end)
    return mask


def export_lerobot(ws: Workspace, out: str | Path, overwrite: bool = False, crf: int = DEFAULT_CRF,
                   gop: int = DEFAULT_GOP, progress: Progress = no_progress,
                   should_stop: ShouldStop = never_stop) -> LeRobotReport:
    """Write the curated dataset of ``ws`` as a LeRobot v3.0 dataset folder ``out``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from recorder.video import Mp4Writer

    out = Path(out)
    refuse_inside_dataset(ws.root, out)
    plan = plan_export(ws)
    layout = _layout(ws, plan)
    order = [e for e in plan.ids if plan.subsets[e] != "valid"] + [e for e in plan.ids if plan.subsets[e] == "valid"]
    report = LeRobotReport(out, fps=layout.fps, cameras=[lf.IMAGE_PREFIX + c for c in plan.cameras],
                           actions=plan.actions, split_source=plan.split_source, problems=plan.problems)
    fps = layout.fps
    state_dim = sum(layout.widths.values())
    vec = {lf.STATE: pa.list_(pa.float32(), state_dim), lf.ACTION: pa.list_(pa.float32(), 8)}
    schema = pa.schema([(lf.STATE, vec[lf.STATE]), (lf.ACTION, vec[lf.ACTION]), ("next.reward", pa.float32()),
                        ("next.done", pa.bool_()), ("recovery", pa.bool_()), ("timestamp", pa.float32()),
                        ("frame_index", pa.int64()), ("episode_index", pa.int64()), ("index", pa.int64()),
                        ("task_index", pa.int64())])
    with atomic_dir(out, overwrite) as tmp:
        data_path = tmp / lf.DATA_PATH.format(chunk_index=0, file_index=0)
        data_path.parent.mkdir(parents=True)
        video_paths = {c: tmp / lf.VIDEO_PATH.format(video_key=lf.IMAGE_PREFIX + c, chunk_index=0, file_index=0)
                       for c in plan.cameras}
        writers = {}
        for cam, path in video_paths.items():
            path.parent.mkdir(parents=True)
            h, w, _ = layout.image_shapes[cam]
            writers[cam] = Mp4Writer(path, w, h, fps, crf=crf, gop=gop)
        report.codec = next(iter(writers.values())).codec if writers else ""
        tasks: dict[str, int] = {}
        columns: dict[str, list[np.ndarray]] = {k: [] for k in (lf.STATE, lf.ACTION, "next.reward", "next.done",
                                                                "recovery", "timestamp", "frame_index",
                                                                "episode_index", "index", "task_index")}
        image_stats = {c: lf.ImageStats() for c in plan.cameras}
        rows = []
        total = 0
        try:
            with pq.ParquetWriter(data_path, schema, compression="snappy") as data_file:
                for e, eid in enumerate(order):
                    check_stop(should_stop)
                    progress(e, len(order), f"exporting {eid}")
                    row, frame_cols, n, recorded = _episode(ws, eid, e, total, plan, fps, tasks, writers,
                                                            image_stats, should_stop)
                    arrays = [pa.FixedSizeListArray.from_arrays(pa.array(frame_cols[k].ravel(), pa.float32()),
                                                                  vec[k].list_size) if k in vec
                              else pa.array(frame_cols[k], type=schema.field(k).type) for k in schema.names]
                    data_file.write_table(pa.Table.from_arrays(arrays, schema=schema))
                    for k in columns:
                        columns[k].append(frame_cols[k])
                    rows.append(row)
                    report.episode_ids.append(eid)
                    report.trimmed_frames += recorded - n
                    total += n
        finally:
            for w in writers.values():
                w.close()
        video_info = {c: _video_info(p, fps) for c, p in video_paths.items()}
        for cam, w in writers.items():
            if w.frames != total:
                raise RuntimeError(f"video {cam} has {w.frames} frames, the data {total}")
        report.episodes, report.frames = len(rows), total
        report.train = sum(plan.subsets[e] != "valid" for e in order)
        report.valid = len(order) - report.train
        features = _features(plan, layout, video_info)
        episodes_path = tmp / lf.EPISODES_PATH.format(chunk_index=0, file_index=0)
        episodes_path.parent.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows), episodes_path)
        task_table = pa.table({"task_index": pa.array(list(tasks.values()), pa.int64()),
                               "__index_level_0__": pa.array(list(tasks), pa.string())})
        task_table = task_table.replace_schema_metadata({b"pandas": lf.tasks_pandas_metadata(pa.__version__)})
        pq.write_table(task_table, tmp / lf.TASKS_PATH)
        stats = {k: lf.vector_stats(np.concatenate(v)) for k, v in columns.items()}
        for cam, s in image_stats.items():
            stats[lf.IMAGE_PREFIX + cam] = s.result()
        (tmp / lf.STATS_PATH).write_text(json.dumps(stats, indent=2))
        splits = {"train": f"0:{report.train}"}
        if report.valid:
            splits["valid"] = f"{report.train}:{len(order)}"
        info = {"codebase_version": lf.CODEBASE_VERSION, "robot_type": _robot_type(ws, order[0]),
                "total_episodes": len(rows), "total_frames": total, "total_tasks": len(tasks),
                "chunks_size": lf.CHUNKS_SIZE, "data_files_size_in_mb": lf.DATA_FILE_MB,
                "video_files_size_in_mb": lf.VIDEO_FILE_MB, "fps": fps, "splits": splits,
                "data_path": lf.DATA_PATH, "video_path": lf.VIDEO_PATH if plan.cameras else None,
                "features": features,
                "demostation": {"actions": plan.actions, "source": str(Path(ws.root).resolve()),
                                "split_source": plan.split_source, "episode_ids": report.episode_ids}}
        (tmp / lf.INFO_PATH).write_text(json.dumps(info, indent=4))
    progress(len(order), len(order), "done")
    return report


def _robot_type(ws: Workspace, eid: str) -> str:
    with ws.dataset.open(eid) as ep:
        station = ep.attrs.get("station") or {}
    kind = station.get("kind") if isinstance(station, dict) else None
    return f"demostation_{kind}" if kind else "demostation"


def _episode(ws: Workspace, eid: str, e: int, start: int, plan: ExportPlan, fps: int, tasks: dict[str, int],
             writers: dict, image_stats: dict, should_stop: ShouldStop) -> tuple[dict, dict, int, int]:
    """One episode: its frame columns and episodes-parquet row; its frames go to the camera videos."""
    record = ws.catalog.record(eid)
    with ws.dataset.open(eid) as ep:
        recorded = len(ep.time)
        idx = kept_indices(ws, eid, recorded)
        n = len(idx)
        state = np.concatenate([np.asarray(ep.obs(k), np.float32).reshape(recorded, -1)[idx] for k in plan.lowdim],
                               axis=1) if plan.lowdim else np.zeros((n, 0), np.float32)
        labels = (ep.command() if plan.actions == "command" else ep.action())[idx].astype(np.float32)
        times = np.asarray(ep.time, float)[idx]
        task = ep.task
        for cam, w in writers.items():
            for a in range(0, n, _IMAGE_BLOCK):
                check_stop(should_stop)
                frames = ep.images(cam, idx[a:a + _IMAGE_BLOCK])
                image_stats[cam].add(frames)
                for frame in frames:
                    w.write(frame)
    task_index = tasks.setdefault(task, len(tasks))
    reward = np.zeros(n, np.float32)
    reward[-1] = 1.0 if record.outcome == "success" else 0.0
    done = np.zeros(n, bool)
    done[-1] = True
    cols = {lf.STATE: state, lf.ACTION: labels, "next.reward": reward, "next.done": done,
            "recovery": _recovery_mask(ws, eid, times),
            "timestamp": (np.arange(n) / fps).astype(np.float32), "frame_index": np.arange(n, dtype=np.int64),
            "episode_index": np.full(n, e, np.int64), "index": np.arange(start, start + n, dtype=np.int64),
            "task_index": np.full(n, task_index, np.int64)}
    row: dict = {"episode_index": e, "tasks": [task], "length": n, "data/chunk_index": 0, "data/file_index": 0,
                 "dataset_from_index": start, "dataset_to_index": start + n}
    for cam in plan.cameras:
        key = lf.IMAGE_PREFIX + cam
        row.update({f"videos/{key}/chunk_index": 0, f"videos/{key}/file_index": 0,
                    f"videos/{key}/from_timestamp": start / fps, f"videos/{key}/to_timestamp": (start + n) / fps})
    row.update({"meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0})
    for key, values in cols.items():
        for stat, v in lf.vector_stats(values).items():
            row[f"stats/{key}/{stat}"] = v
    row.update({"outcome": record.outcome, "tags": sorted({t.tag for t in record.tags if t.start is None}),
                "subset": plan.subsets[eid], "source_episode": eid, "source_index": idx.astype(np.int64).tolist()})
    return row, cols, n, recorded
