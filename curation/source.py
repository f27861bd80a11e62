"""How curation reads episodes: the dataset contract's reader, never opened for writing.

Curation only ever reads the raw episodes, through the contract's ``Dataset`` / ``Episode`` API
(docs/dataset-format.md). It opens datasets with ``recover=False``: finishing a crashed recording
is the recorder's job, and curating while another process records must not race it for a journal.
The few arrays curation needs per episode are gathered into an `EpisodeActions` value so the
pause detector, the statistics and the exporter share one read path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recorder.dataset import Dataset, Episode, require_dataset

# What a damaged or half-written episode raises while being read; reported, never fatal.
READ_ERRORS: tuple[type[BaseException], ...] = (OSError, KeyError, ValueError, TypeError, IndexError, RuntimeError)


def open_dataset(root: str | Path) -> Dataset:
    """The dataset at ``root`` for reading; a clear error if it is not one."""
    return Dataset(require_dataset(root), recover=False)



@dataclass(frozen=True)
class EpisodeActions:
    """One episode's commanded actions and the facts curation needs about it."""

    id: str
    time: np.ndarray  # (T,) seconds since start
    pose: np.ndarray  # (T, 7) commanded ee pose
    gripper: np.ndarray  # (T, 1) commanded gripper
    rate_hz: float
    task: str
    device: str
    complete: bool
    success: bool | None
    events: list[dict] = field(default_factory=list)
    source_names: list[str] = field(default_factory=list)  # device per sample, via action/source
    source_index: np.ndarray | None = None  # (T,) uint8

    def __len__(self) -> int:
        return len(self.time)

    @property
    def duration(self) -> float:
        """Seconds covered: the last tick time plus one period (gaps from missed ticks count)."""
        if len(self.time) == 0:
            return 0.0
        return float(self.time[-1]) + (1.0 / self.rate_hz if self.rate_hz > 0 else 0.0)

    @property
    def sample_seconds(self) -> np.ndarray:
        """(T,) how long each sample stood: until the next tick, the last one period."""
        if len(self.time) == 0:
            return np.zeros(0)
        return np.diff(np.append(self.time, self.duration))

    @property
    def action(self) -> np.ndarray:
        return np.concatenate([self.pose, self.gripper.reshape(len(self.time), -1)], axis=1)


def read_actions(episode: Episode) -> EpisodeActions:
    """Gather what curation needs from an open episode (raises one of READ_ERRORS if damaged)."""
    time = np.asarray(episode.time, dtype=float)
    pose = np.asarray(episode.action_pose, dtype=float)
    gripper = np.asarray(episode.action_gripper, dtype=float).reshape(len(time), -1)
    if pose.shape != (len(time), 7):
        raise ValueError(f"episode {episode.id}: action/ee_pose has shape {pose.shape}, expected ({len(time)}, 7)")
    source_index = episode.action_source
    # One attribute at a time (`Episode.attr`): reading all fifteen would double the cost of a scan.
    return EpisodeActions(
        id=episode.id, time=time, pose=pose, gripper=gripper, rate_hz=float(episode.rate_hz),
        task=str(episode.task), device=str(episode.device), complete=bool(episode.complete),
        success=episode.success, events=list(episode.events or []),
        source_names=[str(s) for s in episode.sources],
        source_index=None if source_index is None else np.asarray(source_index),
    )


def load_actions(dataset: Dataset, episode_id: str) -> EpisodeActions:
    with dataset.open(episode_id) as ep:
        return read_actions(ep)
