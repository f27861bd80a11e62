"""Exponential moving average of the weights, with Diffusion Policy's warm-up of the decay.

decay(step) = 1 − (1 + step)^−power, capped at ``max_decay``: the average follows the weights
closely early on (when they change fast) and ever more slowly later. Evaluating with the average
gives smoother, better policies than the raw weights at no training cost.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    def __init__(self, model: nn.Module, power: float = 0.75, max_decay: float = 0.9999) -> None:
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.power, self.max_decay = power, max_decay
        self.updates = 0

    def decay(self) -> float:
        if self.updates <= 0:
            return 0.0
        return float(min(self.max_decay, max(0.0, 1 - (1 + self.updates) ** -self.power)))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = self.decay()
        ema_params = dict(self.model.named_parameters())
        for name, p in model.named_parameters():
            e = ema_params[name]
            e.mul_(d).add_(p.detach().to(e.dtype), alpha=1 - d)
        ema_bufs = dict(self.model.named_buffers())
        for name, b in model.named_buffers():
            ema_bufs[name].copy_(b)  # normaliser stats and the like are copied, not averaged
