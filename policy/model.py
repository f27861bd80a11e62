"""The diffusion policy network: normaliser + shared image encoder + denoising head + objective.

``forward(batch)`` is the training loss (so DistributedDataParallel wraps the whole thing);
inference goes through `encode_frames` (once per new camera frame — the runner caches the
features) then `condition` and `sample`. Batches are dictionaries:

- ``images``: {camera: uint8 (B, Ti, H, W, 3)} — the newest ``image_obs_steps`` frames per camera
- ``lowdim``: float (B, To, D) — low-dim observation vectors (`policy.features.lowdim_vector`)
- ``action``: float (B, horizon, 10) — learning-space action chunk (training only)
- ``task``: long (B,) — index into ``config.tasks`` (task conditioning only)
- ``goal``: uint8 (B, H, W, 3) — goal image (goal conditioning only)
"""

from __future__ import annotations

import torch
from torch import nn

from policy.config import PolicyConfig
from policy.encoders import ImagePreprocess, make_encoder
from policy.features import ACTION_DIM
from policy.heads import make_head
from policy.normalizer import MinMaxNormalizer
from policy.objectives import make_objective
from recorder.jobs import ShouldStop, never_stop


class DiffusionPolicy(nn.Module):
    def __init__(self, cfg: PolicyConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.normalizer = MinMaxNormalizer({"action": ACTION_DIM, "lowdim": cfg.lowdim_dim})
        self.preprocess = ImagePreprocess(cfg.image_size, cfg.crop_size, cfg.color_jitter, hue=cfg.hue_jitter,
                                          random_conv=cfg.random_conv, random_crop=cfg.random_crop)
        uses_images = bool(cfg.cameras) and cfg.image_obs_steps > 0 or cfg.conditioning == "goal"
        self.encoder = (make_encoder(cfg.encoder, cfg.image_features, cfg.encoder_channels, cfg.keypoints)
                        if uses_images else None)
        self.token_dim = len(cfg.cameras) * cfg.image_features * (cfg.image_obs_steps > 0) + cfg.lowdim_dim
        self.task_embedding = (nn.Embedding(max(1, len(cfg.tasks)), self.token_dim)
                               if cfg.conditioning == "task" else None)
        self.goal_projection = (nn.Linear(cfg.image_features, self.token_dim) if cfg.conditioning == "goal" else None)
        self.n_tokens = cfg.obs_steps + (cfg.conditioning != "none")
        self.head = make_head(cfg, ACTION_DIM, self.n_tokens, self.token_dim)
        self.objective = make_objective(cfg.objective, cfg.train_timesteps)

    # -- observation → condition tokens ------------------------------------------------------------
    def encode_frames(self, frames: torch.Tensor, train: bool = False,
                      jitter: torch.Tensor | None = None) -> torch.Tensor:
        """uint8 (N, H, W, 3) → (N, image_features). Each camera goes through the same encoder.

        ``jitter``: (N,) colour-jitter strength per frame while training (its camera's)."""
        if self.encoder is None:
            raise ValueError("this policy uses no images")
        return self.encoder(self.preprocess(frames, train, jitter=jitter))

    def encode_images(self, images: dict[str, torch.Tensor], train: bool) -> torch.Tensor:
        """{camera: (B, Ti, H, W, 3)} → (B, Ti, cameras·F), all cameras in one encoder batch."""
        cams = self.cfg.cameras
        stacked = torch.stack([images[c] for c in cams], dim=2)  # (B, Ti, C, H, W, 3)
        b, ti, c = stacked.shape[:3]
        jitter = None
        if train:  # frames are ordered (step, camera) within each sample: camera index = i mod C
            jitter = torch.tensor([self.cfg.jitter_for(cam) for cam in cams]).repeat(b * ti)
        feats = self.encode_frames(stacked.flatten(0, 2), train, jitter)
        return feats.view(b, ti, c * feats.shape[-1])

    def condition(self, image_features: torch.Tensor | None, lowdim: torch.Tensor,
                  task: torch.Tensor | None = None, goal_features: torch.Tensor | None = None) -> torch.Tensor:
        """Observation tokens (B, N, token_dim) from per-step image features and raw low-dim vectors.

        Steps older than ``image_obs_steps`` carry zeros where the image features would be.
        """
        cfg = self.cfg
        low = self.normalizer.normalize("lowdim", lowdim.float())
        if image_features is not None and cfg.image_obs_steps > 0:
            b, to = low.shape[:2]
            img = image_features.new_zeros(b, to, image_features.shape[-1])
            img[:, to - image_features.shape[1]:] = image_features
            tokens = torch.cat([img.to(low.dtype), low], dim=-1)
        else:
            tokens = low
        if self.task_embedding is not None:
            if task is None:
                raise ValueError("this policy is task-conditioned: give the task")
            tokens = torch.cat([tokens, self.task_embedding(task)[:, None, :]], dim=1)
        if self.goal_projection is not None:
            if goal_features is None:
                raise ValueError("this policy is goal-conditioned: give a goal image")
            tokens = torch.cat([tokens, self.goal_projection(goal_features)[:, None, :]], dim=1)
        return tokens

    def condition_from_batch(self, batch: dict, train: bool) -> torch.Tensor:
        feats = self.encode_images(batch["images"], train) if self.cfg.cameras and self.cfg.image_obs_steps else None
        goal = None
        if self.goal_projection is not None:
            strength = torch.full((batch["goal"].shape[0],), self.cfg.jitter_for(self.cfg.goal_camera))
            goal = self.encode_frames(batch["goal"], train, strength if train else None)
        return self.condition(feats, batch["lowdim"], batch.get("task"), goal)

    # -- training and sampling ---------------------------------------------------------------------
    def forward(self, batch: dict, generator: torch.Generator | None = None) -> torch.Tensor:
        """The training loss of one batch (``generator`` fixes the noise, for comparable validation)."""
        cond = self.condition_from_batch(batch, train=self.training)
        x0 = self.normalizer.normalize("action", batch["action"].float())
        return self.objective.loss(self.head, x0, cond, generator)

    @torch.no_grad()
    def sample(self, cond: torch.Tensor, steps: int | None = None,
               generator: torch.Generator | None = None, should_stop: ShouldStop = never_stop) -> torch.Tensor:
        """(B, horizon, 10) actions in learning space (denormalised), from observation tokens.

        ``should_stop`` is polled before every denoising step (`Cancelled` when it turns true).
        """
        shape = (cond.shape[0], self.cfg.horizon, ACTION_DIM)
        x = self.objective.sample(self.head, cond, shape, steps or self.cfg.sample_steps, generator, should_stop)
        return self.normalizer.unnormalize("action", x)
