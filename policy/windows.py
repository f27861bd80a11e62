"""Training samples: (observation history, action chunk) windows over the kept samples of episodes.

For kept sample k of an episode (k indexes the samples that survive curation's trims), the
window is

- observations at k − obs_steps + 1 … k, repeated from the first sample of its segment before it;
- actions at k … k + horizon − 1, repeated from the last sample of its segment after it

— edge padding, never crossing into another episode. A segment is a run of kept samples that
the robot could actually have executed in a row: a cut over an idle span (a trimmed pause: the
hand is where it was) is joined, so the policy learns to go on without pausing; a cut across
which the hand moved (> 1 cm or the gripper changed) splits the episode, so no window ever
teaches a jump. The action at k is the setpoint due at observation k's instant, so chunk step j
is meant for ``j / rate_hz`` seconds after the newest observation (the timestamps `predict_chunk`
returns). Which setpoint is `PolicyConfig.action_label`'s choice: the command source's own request
(``command/*``) — what the policy replaces — or the command the safety filter applied.

Frames are decoded once into RAM when they fit ``cache_budget_gb`` (100 episodes × 60 frames × 2
cameras at 96×96 is ~330 MB), and a batch is then one gather per tensor — the loader is never
the bottleneck (see bench/policy_speed.py). Larger datasets are read lazily from the HDF5 files,
in DataLoader worker processes. Augmentation runs on the model's device, on whole batches.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from policy.config import PolicyConfig
from policy.features import action_to_vector, lowdim_vector
from policy.selection import DatasetLike, SelectedEpisode, resolve_action_label
from recorder.jobs import Progress, ShouldStop, check_stop, never_stop, no_progress

DatasetFactory = Callable[[], DatasetLike]


def _resize(frames: np.ndarray, size: int) -> np.ndarray:
    if frames.shape[1] == size and frames.shape[2] == size:
        return frames
    import cv2

    return np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in frames])


def read_frames(episode, camera: str, indices: np.ndarray, size: int) -> np.ndarray:
    """uint8 (len(indices), size, size, 3) frames of one camera; a contiguous read when that is cheaper."""
    indices = np.asarray(indices, dtype=np.int64)
    if len(indices) == 0:
        raise ValueError(f"episode {episode.id}: no frames requested from {camera!r}")
    lo, hi = int(indices.min()), int(indices.max()) + 1
    if hi - lo <= 2 * len(indices):
        frames = np.asarray(episode.images(camera, slice(lo, hi)))[indices - lo]
    else:
        uniq, inverse = np.unique(indices, return_inverse=True)
        frames = np.asarray(episode.images(camera, uniq))[inverse]
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"episode {episode.id}: camera {camera!r} frames are {frames.dtype} {frames.shape}, "
                         "expected uint8 (T, H, W, 3)")
    return _resize(frames, size)


def _check_finite(name: str, episode_id: str, values: torch.Tensor) -> None:
    if not torch.isfinite(values).all():
        bad = int((~torch.isfinite(values)).any(-1).nonzero()[0, 0]) if values.ndim > 1 else 0
        raise ValueError(f"episode {episode_id}: {name} holds NaN/inf (kept sample {bad}); "
                         "trim those samples or soft-delete the episode")


@dataclass(frozen=True)
class WindowStats:
    episodes: int
    samples: int
    cached: bool
    image_bytes: int


class Windows(torch.utils.data.Dataset):
    """All windows of a list of selected episodes (a map-style torch Dataset, plus a fast `batch`)."""

    def __init__(self, open_dataset: DatasetFactory, episodes: list[SelectedEpisode], cfg: PolicyConfig,
                 cache_images: bool = True, progress: Progress = no_progress,
                 should_stop: ShouldStop = never_stop) -> None:
        if not episodes:
            raise ValueError("no episodes to train on (all deleted, filtered out or empty)")
        self.cfg = cfg
        self.episodes = list(episodes)
        self.action_label = resolve_action_label(cfg.action_label, self.episodes)
        self.cached = cache_images
        self._open_dataset = open_dataset
        self._handles: dict[str, object] = {}
        self._pid = os.getpid()
        cams = self.image_cameras
        task_ids = {t: i for i, t in enumerate(cfg.tasks)}
        lowdims, actions, tasks, goals = [], [], [], []
        images: dict[str, list[np.ndarray]] = {c: [] for c in cams}
        frame_episode, frame_source = [], []
        self.segments: list[tuple[int, int]] = []  # (first flat sample, length)
        flat_start = 0
        dataset = open_dataset()
        for n, sel in enumerate(self.episodes):
            check_stop(should_stop)
            with dataset.open(sel.id) as ep:
                missing = [c for c in [*cams, *self._goal_cameras] if c not in ep.camera_names]
                if missing:
                    raise ValueError(f"episode {sel.id} has no camera {missing[0]!r} (it has "
                                     f"{', '.join(ep.camera_names) or 'none'}); train with the cameras it has")
                fields = {}
                for k in cfg.lowdim_keys:
                    try:
                        fields[k] = torch.from_numpy(np.asarray(ep.obs(k), dtype=np.float32)[sel.kept])
                    except KeyError:
                        raise ValueError(f"episode {sel.id} has no obs/{k}") from None
                low = lowdim_vector(fields, cfg.lowdim_keys)
                act = action_to_vector(torch.from_numpy(np.asarray(self._labels(ep), dtype=np.float32)[sel.kept]))
                _check_finite("an observation", sel.id, low)
                _check_finite("an action", sel.id, act)
                lowdims.append(low)
                actions.append(act)
                for a, b in kept_segments(sel.kept, np.asarray(ep.obs("ee_pose"))[:, :3], np.asarray(ep.obs("gripper"))):
                    self.segments.append((flat_start + a, b - a))
                flat_start += sel.n_kept
                if cfg.conditioning == "task":
                    if sel.task not in task_ids:
                        raise ValueError(f"episode {sel.id}: task {sel.task!r} is not in the policy's tasks {list(cfg.tasks)}")
                    tasks.append(task_ids[sel.task])
                if cfg.conditioning == "goal":  # hindsight goal: the last kept frame of the goal camera
                    goals.append(read_frames(ep, cfg.goal_camera, sel.kept[-1:], cfg.image_size)[0])
                if cache_images:
                    for c in cams:
                        images[c].append(read_frames(ep, c, sel.kept, cfg.image_size))
            frame_episode.append(np.full(sel.n_kept, n))
            frame_source.append(sel.kept)
            progress(n + 1, len(self.episodes), f"loading episode {sel.id}")
        self.lowdim = torch.cat(lowdims)
        self.action = torch.cat(actions)
        self.frame_episode = np.concatenate(frame_episode)
        self.frame_source = np.concatenate(frame_source)
        self.images = {c: torch.from_numpy(np.concatenate(v)) for c, v in images.items()} if cache_images else {}
        self.goal_images = torch.from_numpy(np.stack(goals)) if goals else None
        self.episode_task = torch.tensor(tasks, dtype=torch.long) if tasks else None
        self._build_index()

    def _labels(self, ep) -> np.ndarray:
        """(T, 8) action labels of one episode: the source's request or the applied command."""
        if self.action_label == "applied":
            return ep.action()
        command = ep.command() if hasattr(ep, "command") else None
        if command is None:
            raise ValueError(f"episode {ep.id} stores no command (recorded before commands were stored); "
                             "train with action_label \"applied\" or \"auto\"")
        return command

    # -- index -------------------------------------------------------------------------------------
    @property
    def image_cameras(self) -> tuple[str, ...]:
        return self.cfg.cameras if self.cfg.image_obs_steps > 0 else ()

    @property
    def _goal_cameras(self) -> tuple[str, ...]:
        return (self.cfg.goal_camera,) if self.cfg.conditioning == "goal" else ()

    def _build_index(self) -> None:
        cfg = self.cfg
        obs_off = torch.arange(-cfg.obs_steps + 1, 1)
        act_off = torch.arange(cfg.horizon)
        obs_idx, act_idx = [], []
        for start, length in self.segments:
            k = torch.arange(length)[:, None]
            obs_idx.append(start + (k + obs_off).clamp(0, length - 1))
            act_idx.append(start + (k + act_off).clamp(0, length - 1))
        self.obs_index = torch.cat(obs_idx)
        self.act_index = torch.cat(act_idx)
        self.sample_episode = torch.from_numpy(self.frame_episode[self.obs_index[:, -1].numpy()])

    def __len__(self) -> int:
        return int(self.obs_index.shape[0])

    def stats(self) -> WindowStats:
        nbytes = sum(int(t.numel()) for t in self.images.values())
        return WindowStats(len(self.episodes), len(self), self.cached, nbytes)

    # -- samples -----------------------------------------------------------------------------------
    def batch(self, indices: torch.Tensor) -> dict:
        """A batch of windows by sample index: one gather per tensor (RAM cache only)."""
        if not self.cached:
            raise ValueError("batch() needs the frames cached in RAM; use a DataLoader over the windows")
        indices = torch.as_tensor(indices, dtype=torch.long)
        obs = self.obs_index[indices]
        img = obs[:, obs.shape[1] - self.cfg.image_obs_steps:]
        out = {"images": {c: t[img] for c, t in self.images.items()},
               "lowdim": self.lowdim[obs], "action": self.action[self.act_index[indices]]}
        self._add_conditioning(out, self.sample_episode[indices])
        return out

    def __getitem__(self, i: int) -> dict:
        if self.cached:
            b = self.batch(torch.tensor([i]))
            return _squeeze(b)
        obs = self.obs_index[i]
        img = obs[len(obs) - self.cfg.image_obs_steps:].numpy()
        out = {"images": {c: torch.from_numpy(self._read(c, img)) for c in self.image_cameras},
               "lowdim": self.lowdim[obs], "action": self.action[self.act_index[i]]}
        self._add_conditioning(out, self.sample_episode[i])
        return out

    def _add_conditioning(self, out: dict, episode: torch.Tensor) -> None:
        if self.episode_task is not None:
            out["task"] = self.episode_task[episode]
        if self.goal_images is not None:
            out["goal"] = self.goal_images[episode]

    def _read(self, camera: str, flat: np.ndarray) -> np.ndarray:
        """Frames at flat indices, from the HDF5 files (lazy mode; each worker has its own handles)."""
        if os.getpid() != self._pid:  # a forked DataLoader worker: never share h5py handles
            self._handles, self._pid = {}, os.getpid()
        if "_dataset" not in self._handles:
            self._handles["_dataset"] = self._open_dataset()
        out = []
        for f in flat:
            sel = self.episodes[int(self.frame_episode[f])]
            ep = self._handles.get(sel.id)
            if ep is None:
                ep = self._handles[sel.id] = self._handles["_dataset"].open(sel.id)
            out.append(read_frames(ep, camera, np.array([self.frame_source[f]]), self.cfg.image_size)[0])
        return np.stack(out)

    def close(self) -> None:
        for k, h in self._handles.items():
            if k != "_dataset":
                h.close()
        self._handles = {}

    # -- normaliser data ---------------------------------------------------------------------------
    def normalizer_data(self) -> dict[str, torch.Tensor]:
        return {"action": self.action, "lowdim": self.lowdim}


def kept_segments(kept: np.ndarray, position: np.ndarray, gripper: np.ndarray, max_jump_m: float = 0.01,
                  max_gripper_jump: float = 0.1) -> list[tuple[int, int]]:
    """[a, b) ranges of ``kept`` (positions in the kept list) that windows may span.

    A cut (non-adjacent kept samples) splits only if the hand moved across it; ``position``
    (T, 3) and ``gripper`` (T, 1) are the observed values of the whole episode.
    """
    if len(kept) == 0:
        return []
    cuts = np.flatnonzero(np.diff(kept) > 1)
    if len(cuts) == 0:
        return [(0, len(kept))]
    before, after = kept[cuts], kept[cuts + 1]
    moved = (np.linalg.norm(position[after] - position[before], axis=-1) > max_jump_m) | \
            (np.abs(gripper[after] - gripper[before]).reshape(len(cuts), -1).max(-1) > max_gripper_jump)
    bounds = [0, *(cuts[moved] + 1).tolist(), len(kept)]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def _squeeze(batch: dict) -> dict:
    return {k: (_squeeze(v) if isinstance(v, dict) else v[0]) for k, v in batch.items()}


def image_bytes(episodes: list[SelectedEpisode], cfg: PolicyConfig) -> int:
    """RAM the decoded frames would take."""
    cams = len(cfg.cameras) if cfg.image_obs_steps > 0 else 0
    return sum(e.n_kept for e in episodes) * cams * cfg.image_size * cfg.image_size * 3


def split_episodes(episodes: list[SelectedEpisode], val_fraction: float,
                   seed: int) -> tuple[list[SelectedEpisode], list[SelectedEpisode]]:
    """Hold out whole episodes (windows of one episode are too alike to validate each other).

    The curator's split wins when there is one (every episode it assigns goes where it says;
    unassigned ones train); otherwise ``val_fraction`` of the episodes, drawn with ``seed``.
    """
    if any(e.subset is not None for e in episodes):
        train = [e for e in episodes if e.subset != "valid"]
        val = [e for e in episodes if e.subset == "valid"]
        if not train:
            raise ValueError("curation's split puts every selected episode in the validation subset")
        return train, val
    if val_fraction <= 0 or len(episodes) < 2:
        return list(episodes), []
    n_val = min(len(episodes) - 1, max(1, round(len(episodes) * val_fraction)))
    order = np.random.default_rng(seed).permutation(len(episodes))
    val = sorted(order[:n_val].tolist())
    train = sorted(order[n_val:].tolist())
    return [episodes[i] for i in train], [episodes[i] for i in val]


class EpochShards(torch.utils.data.Sampler):
    """Sample indices of one rank for successive epochs: a fresh permutation each time it is
    iterated, sharded by rank with equal shard sizes (so every DistributedDataParallel rank takes
    the same number of steps), repeated to fill one batch when the dataset is tiny."""

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world: int = 1) -> None:
        self.n, self.batch_size, self.seed, self.rank, self.world = n, batch_size, seed, rank, world
        self.epoch = 0

    def indices(self) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        perm = torch.randperm(self.n, generator=g)
        usable = self.n - self.n % self.world if self.n >= self.world else self.n
        shard = perm[:usable][self.rank::self.world] if usable else perm
        if len(shard) < self.batch_size:
            shard = shard.repeat(self.batch_size // max(1, len(shard)) + 1)[:self.batch_size]
        return shard[:len(shard) - len(shard) % self.batch_size]

    def __iter__(self):
        shard = self.indices()
        self.epoch += 1
        return iter(shard.tolist())

    def __len__(self) -> int:
        return len(self.indices())


def batch_stream(windows: Windows, batch_size: int, seed: int, rank: int = 0, world: int = 1,
                 num_workers: int = 0) -> Iterator[dict]:
    """Endless batches, epoch after epoch (see `EpochShards`). RAM-cached windows are gathered
    in this process; lazy ones are read by DataLoader workers that live as long as the stream."""
    sampler = EpochShards(len(windows), batch_size, seed, rank, world)
    if windows.cached:
        while True:
            shard = sampler.indices()
            sampler.epoch += 1
            for b in range(len(shard) // batch_size):
                yield windows.batch(shard[b * batch_size:(b + 1) * batch_size])
    loader = torch.utils.data.DataLoader(windows, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                                         drop_last=True, persistent_workers=num_workers > 0)
    while True:
        yield from loader


def move_batch(batch: dict, device: torch.device) -> dict:
    return {k: (move_batch(v, device) if isinstance(v, dict) else v.to(device, non_blocking=True))
            for k, v in batch.items()}
