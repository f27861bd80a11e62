"""Turn another ecosystem's dataset into a Demo Station dataset that curates like any recording.

Sources: a LeRobot v3.0 dataset folder (``curation/lerobot_format.py``) and a robomimic HDF5 file
(``curation/export_robomimic.py``'s layout, which is robomimic's). Each source episode becomes one
episode file in our format (docs/dataset-format.md, ``format_version`` 1) with a ``provenance``
attribute; the catalog gets the same provenance, the outcome, the whole-episode tags and the
``recovery`` ranges. Pause detection, trims and tags then work on it as on a recording.

Everything is checked before it is trusted: a LeRobot dataset of another codebase version, a
feature type we do not know, a missing or short video, a video whose rate is not the dataset's
fps, sizes out of bounds — each is one ValueError line naming the problem. The dataset is built in
a temporary folder beside ``--out`` and renamed at the end, so a failed import leaves nothing.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import h5py
import numpy as np

from curation import lerobot_format as lf
from devices.userfiles import atomic_dir
from recorder import format as fmt
from recorder.disk_space import require_free_space
from recorder.jobs import Progress, ShouldStop, check_stop, never_stop, no_progress

MAX_EPISODES = 1_000_000
MAX_FRAMES = 10_000_000  # per episode
MAX_SIDE = 8192
_OBS_KEYS = tuple(lf.COMPONENT_NAMES)  # ee_pose, gripper, ee_wrench: what a state's names can map back to


@dataclass
class SourceEpisode:
    """One episode read from a source, in our terms."""

    time: np.ndarray  # (n,) seconds
    action: np.ndarray  # (n, 8) [x, y, z, qw, qx, qy, qz, gripper]
    obs: dict[str, np.ndarray]  # key -> (n, ...) float32
    images: dict[str, np.ndarray]  # camera -> (n, H, W, 3) uint8
    task: str
    rate_hz: float
    outcome: str = "unknown"
    tags: list[str] = field(default_factory=list)
    recovery: list[tuple[float, float]] = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    command: np.ndarray | None = None  # (n, 8) the request, where the source tells it apart


@dataclass
class ImportReport:
    out: Path
    source: str
    kind: str
    episodes: int = 0
    frames: int = 0
    cameras: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {"out": str(self.out), "from": self.kind, "source": self.source, "episodes": self.episodes,
                "frames": self.frames, "cameras": self.cameras}


# -- writing ---------------------------------------------------------------------------------------

def write_episode_file(path: Path, ep: SourceEpisode) -> None:
    """One episode file laid out as docs/dataset-format.md says (an imported one: ``device`` "import")."""
    n = len(ep.time)
    with h5py.File(path, "w") as f:
        f["time"] = np.asarray(ep.time, np.float64)
        f["timing/tick_error"] = np.zeros(n, np.float64)
        f["action/ee_pose"] = ep.action[:, :7].astype(np.float32)
        f["action/gripper"] = ep.action[:, 7:8].astype(np.float32)
        f["action/source"] = np.zeros(n, np.uint8)
        if ep.command is not None:
            f["command/ee_pose"] = ep.command[:, :7].astype(np.float32)
            f["command/gripper"] = ep.command[:, 7:8].astype(np.float32)
        for key, values in ep.obs.items():
            f[f"obs/{key}"] = np.asarray(values, np.float32)
        cameras = []
        for cam, frames in ep.images.items():
            f.create_dataset(fmt.IMAGES_PREFIX + cam, data=frames, chunks=(1,) + frames.shape[1:],
                             compression="gzip", compression_opts=4)
            f[f"obs/image_time/{cam}"] = np.asarray(ep.time, np.float64)
            cameras.append({"name": cam, "width": int(frames.shape[2]), "height": int(frames.shape[1]),
                            "mount": "wrist" if "wrist" in cam else "scene", "serial": None, "fx": None, "fy": None,
                            "cx": None, "cy": None, "model": "imported", "extra": {}})
        attrs = {"format": fmt.FORMAT_NAME, "format_version": fmt.FORMAT_VERSION, "rate_hz": float(ep.rate_hz),
                 "task": ep.task, "device": "import", "operator": "", "station": json.dumps({"kind": "imported"}),
                 "cameras": json.dumps(cameras), "sources": json.dumps(["import"]), "events": json.dumps([]),
                 "timing": json.dumps({"rate_hz": float(ep.rate_hz), "ticks": n, "missed_ticks": 0}),
                 "software_version": fmt.software_version(), "start_time": "", "clock": "imported",
                 "image_codec": "gzip-4", "complete": np.bool_(True), "provenance": json.dumps(ep.provenance)}
        if ep.outcome in ("success", "failure"):
            attrs["success"] = np.bool_(ep.outcome == "success")
        for key, value in attrs.items():
            f.attrs[key] = value


def import_episodes(episodes: Iterator[SourceEpisode], out: str | Path, kind: str, source: str,
                    overwrite: bool = False, progress: Progress = no_progress,
                    should_stop: ShouldStop = never_stop) -> ImportReport:
    """Write the episodes as a new dataset ``out`` and curate them (outcome, tags, recovery, provenance)."""
    from curation.workspace import open_workspace

    out = Path(out)
    report = ImportReport(out, source, kind)
    with atomic_dir(out, overwrite) as tmp:
        (tmp / "episodes").mkdir()
        written: list[tuple[str, SourceEpisode]] = []
        for i, ep in enumerate(episodes):
            check_stop(should_stop)
            progress(i, i + 1, f"importing episode {i}")
            eid = fmt.episode_id(i)
            # checked before HDF5 writes (it cannot recover from ENOSPC); the frames' raw size bounds
            # what gzip writes
            size = sum(int(np.asarray(v).nbytes) for v in (ep.time, ep.action, *ep.obs.values(), *ep.images.values()))
            require_free_space(out.parent, size, f"importing episode {i} of {source} into {out}")
            write_episode_file(tmp / "episodes" / f"{eid}.h5", ep)
            report.cameras = sorted(ep.images)
            report.episodes += 1
            report.frames += len(ep.time)
            # keep only what curation needs, not the frames
            written.append((eid, SourceEpisode(ep.time[:0], ep.action[:0], {}, {}, ep.task, ep.rate_hz, ep.outcome,
                                               ep.tags, ep.recovery, ep.provenance)))
        if not written:
            raise ValueError(f"{source} has no episodes to import")
        with open_workspace(tmp) as ws:
            for eid, ep in written:
                ws.catalog.set_provenance(eid, ep.provenance)
                if ep.outcome in ("success", "failure"):
                    ws.catalog.set_outcome(eid, ep.outcome)
                for tag in ep.tags:
                    ws.catalog.add_tag(eid, tag)
                for start, end in ep.recovery:
                    ws.catalog.add_tag(eid, "recovery", start, end)
    return report


# -- LeRobot v3.0 ----------------------------------------------------------------------------------

def _json(path: Path) -> dict:
    if not path.is_file():
        raise ValueError(f"{path} is missing; this is not a LeRobot v3.0 dataset folder")
    try:
        value = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not readable JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path} is not a JSON object")
    return value


def check_lerobot_info(info: dict, where: Path) -> int:
    """The checks before anything else is read; returns fps."""
    version = info.get("codebase_version")
    if version != lf.CODEBASE_VERSION:
        raise ValueError(f"{where} is LeRobot format {version!r}; this reads {lf.CODEBASE_VERSION} only "
                         f"(convert older datasets with lerobot's convert_dataset_v21_to_v30)")
    fps = info.get("fps")
    if not isinstance(fps, (int, float)) or isinstance(fps, bool) or not 0 < fps <= 1000 or fps != int(fps):
        raise ValueError(f"{where}: fps {fps!r} is not a whole number in 1..1000")
    features = info.get("features")
    if not isinstance(features, dict) or not features:
        raise ValueError(f"{where}: no features")
    for key, ft in features.items():
        dtype = ft.get("dtype") if isinstance(ft, dict) else None
        if dtype not in lf.KNOWN_DTYPES:
            raise ValueError(f"{where}: feature {key!r} has unknown type {dtype!r} (known: {', '.join(lf.KNOWN_DTYPES)})")
        shape = ft.get("shape")
        if not isinstance(shape, list) or not shape or not all(isinstance(s, int) and 0 <= s <= MAX_SIDE
                                                               for s in shape):
            raise ValueError(f"{where}: feature {key!r} has a bad shape {shape!r}")
        if dtype == "image":
            raise ValueError(f"{where}: feature {key!r} stores images inside the parquet; only video features "
                             f"are imported")
    action = features.get(lf.ACTION)
    if action is None or action["shape"] != [8]:
        raise ValueError(f"{where}: action is {action['shape'] if action else 'missing'}; Demo Station's action "
                         f"is 8 wide [x, y, z, qw, qx, qy, qz, gripper] (end-effector pose + gripper)")
    totals = info.get("total_episodes"), info.get("total_frames")
    if not all(isinstance(t, int) and 0 <= t <= MAX_EPISODES * 1000 for t in totals):
        raise ValueError(f"{where}: totals {totals} out of bounds")
    return int(fps)


def _state_to_obs(state: np.ndarray, names: list[str] | None) -> dict[str, np.ndarray]:
    """Split ``observation.state`` back into our keys where its names say ``<key>.<component>``."""
    if names and len(names) == state.shape[1]:
        keys = [n.split(".", 1)[0] if "." in n else "" for n in names]
        out, col = {}, 0
        for key in dict.fromkeys(keys):
            width = keys.count(key)
            if key not in _OBS_KEYS or keys[col:col + width] != [key] * width:
                break
            out[key] = state[:, col:col + width]
            col += width
        else:
            return out
    return {"state": state}


class _VideoFrames:
    """Frames of one camera's video in order, taken an episode at a time by timestamp."""

    def __init__(self, path: Path, fps: int, key: str) -> None:
        import av

        if not path.is_file():
            raise ValueError(f"video {path} of {key} is missing")
        try:
            self._container = av.open(str(path))
        except Exception as exc:  # noqa: BLE001 - PyAV's errors are many; any means the file is not a video
            raise ValueError(f"video {path} of {key} cannot be opened ({type(exc).__name__}: {exc})") from None
        if not self._container.streams.video:
            raise ValueError(f"{path} has no video stream")
        stream = self._container.streams.video[0]
        rate = stream.average_rate or stream.base_rate
        if rate is None or abs(float(rate) - fps) > 1e-3:
            self._container.close()
            raise ValueError(f"video {path} of {key} runs at {float(rate or 0):g} fps, the dataset at {fps}")
        if not (0 < stream.width <= MAX_SIDE and 0 < stream.height <= MAX_SIDE):
            raise ValueError(f"video {path} is {stream.width}x{stream.height}")
        self.path, self.key, self.fps = path, key, fps
        self._frames = self._container.decode(stream)
        self._pending = None

    def take(self, start: float, n: int) -> np.ndarray:
        """The ``n`` frames at ``start + k / fps`` (a frame within half a period of it)."""
        out = []
        half = 0.5 / self.fps
        while len(out) < n:
            frame = self._pending if self._pending is not None else next(self._frames, None)
            self._pending = None
            if frame is None:
                raise ValueError(f"video {self.path} of {self.key} ends after {len(out)} of the {n} frames of the "
                                 f"episode starting at {start:g} s (a short or truncated video)")
            t = float(frame.pts * frame.time_base)
            target = start + len(out) / self.fps
            if t < target - half:
                continue  # a frame of an earlier, left-out stretch
            if t > target + half:
                raise ValueError(f"video {self.path} of {self.key} has no frame at {target:g} s (next at {t:g} s)")
            out.append(frame.to_ndarray(format="rgb24"))
        return np.stack(out)

    def close(self) -> None:
        self._container.close()


def read_lerobot(src: str | Path) -> Iterator[SourceEpisode]:
    """The episodes of a LeRobot v3.0 dataset folder, checked as they are read."""
    import pyarrow.parquet as pq

    src = Path(src)
    if not src.is_dir():
        raise ValueError(f"{src} is not a folder (a LeRobot dataset is a folder with meta/info.json)")
    info = _json(src / lf.INFO_PATH)
    fps = check_lerobot_info(info, src)
    features = info["features"]
    cameras = [k for k, ft in features.items() if ft["dtype"] == "video"]
    episodes_dir = src / "meta" / "episodes"
    ep_files = sorted(episodes_dir.glob("chunk-*/file-*.parquet")) if episodes_dir.is_dir() else []
    if not ep_files:
        raise ValueError(f"{src}: no meta/episodes/chunk-*/file-*.parquet")
    try:
        rows = [r for p in ep_files for r in pq.read_table(p).to_pylist()]
        task_table = pq.read_table(src / lf.TASKS_PATH)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{src}: metadata parquet unreadable ({exc})") from None
    tasks = dict(zip(task_table.column("task_index").to_pylist(),
                     task_table.column(task_table.column_names[-1]).to_pylist(), strict=True))
    if len(rows) != info["total_episodes"]:
        raise ValueError(f"{src}: info.json says {info['total_episodes']} episodes, meta/episodes has {len(rows)}")
    data_cache: dict[str, object] = {}
    videos: dict[tuple[str, str], _VideoFrames] = {}
    names = features.get(lf.STATE, {}).get("names")
    try:
        for row in sorted(rows, key=lambda r: r["episode_index"]):
            n = int(row["length"])
            if not 0 < n <= MAX_FRAMES:
                raise ValueError(f"{src}: episode {row['episode_index']} has length {n}")
            data_file = info["data_path"].format(chunk_index=row["data/chunk_index"], file_index=row["data/file_index"])
            if data_file not in data_cache:
                path = src / data_file
                if not path.is_file():
                    raise ValueError(f"data file {path} is missing")
                data_cache.clear()  # one data file in memory at a time
                data_cache[data_file] = pq.read_table(path)
            table = data_cache[data_file]
            ep_rows = table.filter(_eq(table, "episode_index", row["episode_index"]))
            if ep_rows.num_rows != n:
                raise ValueError(f"{src}: episode {row['episode_index']} has {ep_rows.num_rows} data rows, length {n}")
            col = {k: ep_rows.column(k).to_pylist() for k in ep_rows.column_names}
            order = np.argsort(col["frame_index"])
            action = np.asarray(col[lf.ACTION], np.float32)[order]
            state = np.asarray(col[lf.STATE], np.float32)[order] if lf.STATE in col else np.zeros((n, 0), np.float32)
            timestamp = np.asarray(col["timestamp"], np.float64)[order]
            images = {}
            for key in cameras:
                vfile = info["video_path"].format(video_key=key, chunk_index=row[f"videos/{key}/chunk_index"],
                                                  file_index=row[f"videos/{key}/file_index"])
                if (key, vfile) not in videos:
                    videos[(key, vfile)] = _VideoFrames(src / vfile, fps, key)
                frames = videos[(key, vfile)].take(float(row[f"videos/{key}/from_timestamp"]), n)
                want = tuple(features[key]["shape"])
                if frames.shape[1:] != want:
                    raise ValueError(f"video {vfile} frames are {frames.shape[1:]}, info.json says {want}")
                images[key[len(lf.IMAGE_PREFIX):] if key.startswith(lf.IMAGE_PREFIX) else key] = frames
            recovery = []
            if "recovery" in col:
                flags = np.asarray(col["recovery"], bool)[order]
                edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(int), [0]])))
                recovery = [(float(timestamp[a]), float(timestamp[b - 1] + 1.0 / fps))
                            for a, b in zip(edges[::2], edges[1::2], strict=False)]
            task_idx = int(col["task_index"][0]) if "task_index" in col else 0
            outcome = row.get("outcome") if row.get("outcome") in ("success", "failure") else "unknown"
            yield SourceEpisode(time=timestamp, action=action, obs=_state_to_obs(state, names), images=images,
                                task=str(tasks.get(task_idx, (row.get("tasks") or [""])[0])), rate_hz=float(fps),
                                outcome=outcome, tags=list(row.get("tags") or []), recovery=recovery,
                                provenance={"from": "lerobot", "source": str(src.resolve()),
                                            "codebase_version": info["codebase_version"],
                                            "episode_index": int(row["episode_index"]),
                                            "source_episode": row.get("source_episode")})
    finally:
        for v in videos.values():
            v.close()


def _eq(table, column: str, value: int):
    import pyarrow.compute as pc

    return pc.equal(table.column(column), value)


# -- robomimic -------------------------------------------------------------------------------------

def read_robomimic(src: str | Path, rate_hz: float = 10.0) -> Iterator[SourceEpisode]:
    """The demos of a robomimic HDF5 file (``data/demo_N`` with ``actions`` and ``obs/*``)."""
    src = Path(src)
    if not src.is_file():
        raise ValueError(f"{src} is not a file (a robomimic dataset is one HDF5 file)")
    try:
        f = h5py.File(src, "r")
    except OSError as exc:
        raise ValueError(f"{src} is not an HDF5 file ({exc})") from None
    with f:
        if "data" not in f:
            raise ValueError(f"{src} has no data group; not a robomimic file")
        env = {}
        with contextlib.suppress(TypeError, json.JSONDecodeError):
            env = json.loads(f["data"].attrs.get("env_args", "{}"))
        kwargs = env.get("env_kwargs", {}) if isinstance(env, dict) else {}
        rate = float(kwargs.get("rate_hz", rate_hz))
        task = str(kwargs.get("task", env.get("env_name", "imported") if isinstance(env, dict) else "imported"))
        demos = sorted((k for k in f["data"] if k.startswith("demo_")), key=lambda k: int(k[5:]))
        for name in demos:
            g = f["data"][name]
            actions = g["actions"]
            if actions.ndim != 2 or actions.shape[1] != 8 or not 0 < actions.shape[0] <= MAX_FRAMES:
                raise ValueError(f"{src}: {name}/actions is {actions.shape}; Demo Station's action is (n, 8)")
            n = actions.shape[0]
            obs, images = {}, {}
            for key in g["obs"]:
                ds = g["obs"][key]
                if ds.shape[0] != n:
                    raise ValueError(f"{src}: {name}/obs/{key} has {ds.shape[0]} rows, actions {n}")
                if key.endswith("_image") and ds.dtype == np.uint8 and ds.ndim == 4:
                    images[key[:-len("_image")]] = ds[()]
                else:
                    obs[key] = np.asarray(ds[()], np.float32)
            outcome = str(g.attrs.get("outcome", ""))
            if outcome not in ("success", "failure"):
                rewards = g["rewards"][()] if "rewards" in g else np.zeros(0)
                outcome = "success" if rewards.size and rewards[-1] > 0 else "unknown"
            yield SourceEpisode(time=np.arange(n) / rate, action=np.asarray(actions[()], np.float32), obs=obs,
                                images=images, task=str(g.attrs.get("task", task)), rate_hz=rate, outcome=outcome,
                                provenance={"from": "robomimic", "source": str(src.resolve()), "demo": name,
                                            "source_episode": str(g.attrs.get("episode_id", ""))})
