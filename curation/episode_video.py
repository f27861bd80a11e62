"""One episode's camera frames as an MP4 a browser plays (H.264 yuv420p through `recorder.video`).

For showing a demonstration to someone: the cameras side by side in one video (a shorter image is
padded with black at the bottom, odd sides with their edge), the episode's trims applied as in every
export, the kept frames played back at the recording rate. Written to a temporary file beside the
destination and renamed at the end, so a failed or cancelled export leaves the old file (or none).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from curation.export_plan import kept_indices, refuse_inside_dataset
from curation.workspace import Workspace
from devices.userfiles import atomic_path
from recorder.jobs import Progress, ShouldStop, check_stop, never_stop, no_progress

_BLOCK = 64  # frames read per camera at a time (bounds memory for long episodes)


@dataclass
class EpisodeVideoReport:
    out: Path
    episode: str
    cameras: list[str] = field(default_factory=list)
    frames: int = 0
    trimmed_frames: int = 0
    fps: float = 0.0
    codec: str = ""
    width: int = 0
    height: int = 0

    def summary(self) -> dict:
        return {"out": str(self.out), "format": "mp4", "episode": self.episode, "cameras": self.cameras,
                "frames": self.frames, "trimmed_frames": self.trimmed_frames, "fps": self.fps, "codec": self.codec,
                "width": self.width, "height": self.height}


def tile(frames: list[np.ndarray], height: int) -> np.ndarray:
    """Images (h, w, 3) side by side, each padded with black at the bottom to ``height``."""
    padded = [np.pad(f, ((0, height - f.shape[0]), (0, 0), (0, 0))) if f.shape[0] < height else f for f in frames]
    return np.concatenate(padded, axis=1)


def export_episode_video(ws: Workspace, eid: str, out: str | Path, cameras: list[str] | None = None,
                         overwrite: bool = False, progress: Progress = no_progress,
                         should_stop: ShouldStop = never_stop) -> EpisodeVideoReport:
    """Write episode ``eid`` of ``ws`` (``cameras``, default all, side by side) to the MP4 file ``out``."""
    from recorder.video import Mp4Writer, even_size, pad_even

    out = Path(out)
    refuse_inside_dataset(ws.root, out)
    if out.suffix.lower() != ".mp4":
        raise ValueError(f"{out}: the video file name must end in .mp4")
    if out.is_dir():
        raise IsADirectoryError(f"{out} is a folder; give a file name such as episode.mp4")
    if out.exists() and not overwrite:
        raise ValueError(f"{out} exists; choose another file or allow replacing it")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"folder {out.parent} does not exist")
    ws.require(eid)
    with ws.dataset.open(eid) as ep:
        names = list(ep.camera_names)
        chosen = names if cameras is None else list(cameras)
        missing = [c for c in chosen if c not in names]
        if missing or not chosen:
            raise ValueError(f"{eid} has no camera {missing[0]!r} (it has {', '.join(names) or 'none'})" if missing
                             else f"{eid} has no camera images to make a video of")
        recorded = len(ep.time)
        idx = kept_indices(ws, eid, recorded)
        if len(idx) == 0:
            raise ValueError(f"{eid}: every frame is trimmed; nothing to put in a video")
        shapes = [ep.image_shape(c) for c in chosen]
        height = max(s[0] for s in shapes)
        width, height = even_size(sum(s[1] for s in shapes), height)
        report = EpisodeVideoReport(out, eid, chosen, trimmed_frames=recorded - len(idx), fps=float(ep.rate_hz),
                                    width=width, height=height)
        tmp = out.with_name(f".{out.stem}.{os.getpid()}.tmp.mp4")  # PyAV picks the container by the suffix
        with atomic_path(out, tmp=tmp) as path, Mp4Writer(path, width, height, report.fps) as writer:
            report.codec = writer.codec
            for a in range(0, len(idx), _BLOCK):
                check_stop(should_stop)
                progress(a, len(idx), f"{eid}: frame {a}")
                block = idx[a:a + _BLOCK]
                images = [ep.images(c, block) for c in chosen]
                for k in range(len(block)):
                    writer.write(pad_even(tile([im[k] for im in images], height)))
            report.frames = writer.frames
    progress(len(idx), len(idx), "done")
    return report
