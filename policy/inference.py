"""The policy API the station, the evaluator and the runtime's asynchronous runner call.

    policy = DiffusionPolicyRunner.from_checkpoint("runs/pick", device="auto")
    policy.reset(seed=0)
    chunk = policy.predict_chunk([obs_prev, obs_now])    # oldest first
    chunk.actions   # (horizon, 8) float64: [x, y, z, qw, qx, qy, qz, gripper] per step
    chunk.times     # (horizon,) seconds after the newest observation each action is meant for

Each camera frame is encoded once: features are cached by (camera, capture time), so when the
next plan's history repeats frames it has seen, only the new ones go through the encoder.
`observe(obs)` encodes a frame ahead of time (the evaluation agent calls it for frames that will
be in the next plan's history, so a re-plan encodes only its newest frame).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from policy.checkpoint import Checkpoint, load_policy
from policy.compute_device import pick_device
from policy.config import SIZE_BOUNDS, PolicyConfig
from policy.features import lowdim_vector, vector_to_action
from policy.model import DiffusionPolicy
from policy.runtime.observation import Observation
from recorder.jobs import ShouldStop, never_stop


@dataclass
class ActionChunk:
    actions: np.ndarray  # (T, 8) pose + gripper, for times ``times`` after the newest observation
    times: np.ndarray  # (T,) seconds
    latency_s: float  # wall time predict_chunk took


class DiffusionPolicyRunner:
    def __init__(self, model: DiffusionPolicy, device: torch.device | str = "cpu", sample_steps: int | None = None,
                 seed: int = 0, checkpoint: Checkpoint | None = None, cache_size: int = 64,
                 should_stop: ShouldStop = never_stop) -> None:
        self.model = model.eval()
        self.should_stop = should_stop  # polled per denoising step: a stop request ends a long chunk
        self.device = torch.device(device)
        self.cfg: PolicyConfig = model.cfg
        self.sample_steps = sample_steps or self.cfg.sample_steps
        low, high = SIZE_BOUNDS["sample_steps"]  # an override is bounded like the configuration's own
        if not low <= self.sample_steps <= high:
            raise ValueError(f"sample_steps must be between {low} and {high}, got {self.sample_steps}")
        self.checkpoint = checkpoint
        self._cache: OrderedDict[tuple[str, float], torch.Tensor] = OrderedDict()
        self._cache_size = cache_size
        self._generator = torch.Generator(device=self.device)
        self.reset(seed)

    @classmethod
    def from_checkpoint(cls, source: str | Path, device: str = "auto", sample_steps: int | None = None,
                        seed: int = 0, should_stop: ShouldStop = never_stop) -> "DiffusionPolicyRunner":
        dev = pick_device(device)
        model, ckpt = load_policy(source, dev)
        return cls(model, dev, sample_steps, seed, ckpt, should_stop=should_stop)

    # -- the API -----------------------------------------------------------------------------------
    @property
    def cameras(self) -> tuple[str, ...]:
        return self.cfg.cameras if self.cfg.image_obs_steps > 0 else ()

    @property
    def obs_steps(self) -> int:
        return self.cfg.obs_steps

    @property
    def action_steps(self) -> int:
        return self.cfg.action_steps

    @property
    def rate_hz(self) -> float:
        return self.cfg.rate_hz

    def reset(self, seed: int | None = None) -> None:
        """Forget cached frames (a new episode); reseed the sampler for reproducible rollouts."""
        self._cache.clear()
        if seed is not None:
            self._generator.manual_seed(int(seed))

    @torch.inference_mode()
    def observe(self, obs: Observation) -> None:
        """Encode this observation's frames now, so a later plan whose history holds it reuses them."""
        self._features([obs])

    @torch.inference_mode()
    def predict_chunk(self, history: Sequence[Observation], task: str | None = None,
                      goal_image: np.ndarray | None = None) -> ActionChunk:
        """A (horizon, 8) chunk of actions from the newest observations (oldest first).

        A history shorter than ``obs_steps`` is padded with its oldest observation (as training
        pads an episode's start); a longer one is cut to the newest ``obs_steps``.
        """
        t0 = time.perf_counter()
        if not history:
            raise ValueError("predict_chunk needs at least one observation")
        hist = list(history)[-self.cfg.obs_steps:]
        hist = [hist[0]] * (self.cfg.obs_steps - len(hist)) + hist
        lowdim = lowdim_vector({k: torch.from_numpy(np.stack([o.field(k) for o in hist]))
                                for k in self.cfg.lowdim_keys}, self.cfg.lowdim_keys)[None].to(self.device)
        feats = self._features(hist[len(hist) - self.cfg.image_obs_steps:])[None] if self.cameras else None
        cond = self.model.condition(feats, lowdim, self._task_index(task), self._goal_features(goal_image))
        vec = self.model.sample(cond, self.sample_steps, self._generator, self.should_stop)[0]
        actions = vector_to_action(vec.float().cpu()).double().numpy()
        times = np.arange(self.cfg.horizon) / self.cfg.rate_hz
        return ActionChunk(actions, times, time.perf_counter() - t0)

    # -- internals ---------------------------------------------------------------------------------
    def _frame_key(self, obs: Observation, camera: str) -> tuple[str, float]:
        return camera, float(obs.image_times.get(camera, obs.time))

    def _features(self, observations: Sequence[Observation]) -> torch.Tensor:
        """(len(observations), cameras·F), encoding only frames not seen before, in one batch."""
        missing: dict[tuple[str, float], np.ndarray] = {}
        for obs in observations:
            for cam in self.cameras:
                key = self._frame_key(obs, cam)
                if key not in self._cache and key not in missing:
                    if cam not in obs.images:
                        raise ValueError(f"the policy needs camera {cam!r}, which this observation lacks")
                    missing[key] = obs.images[cam]
        if missing:
            frames = torch.from_numpy(np.stack([_as_frame(f) for f in missing.values()])).to(self.device)
            encoded = self.model.encode_frames(frames, train=False)
            for key, f in zip(missing, encoded, strict=True):
                self._cache[key] = f
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return torch.stack([torch.cat([self._cache[self._frame_key(o, c)] for c in self.cameras])
                            for o in observations])

    def _task_index(self, task: str | None) -> torch.Tensor | None:
        if self.cfg.conditioning != "task":
            return None
        if task not in self.cfg.tasks:
            raise ValueError(f"this policy is conditioned on a task, one of {list(self.cfg.tasks)}; got {task!r}")
        return torch.tensor([self.cfg.tasks.index(task)], device=self.device)

    def _goal_features(self, goal_image: np.ndarray | None) -> torch.Tensor | None:
        if self.cfg.conditioning != "goal":
            return None
        if goal_image is None:
            raise ValueError("this policy is conditioned on a goal image: pass goal_image")
        return self.model.encode_frames(torch.from_numpy(_as_frame(goal_image))[None].to(self.device), train=False)


def _as_frame(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[-1] != 3 or a.dtype != np.uint8:
        raise ValueError(f"camera frames must be uint8 (H, W, 3), got {a.dtype} {a.shape}")
    return a
