"""Training objectives and their samplers behind one interface.

An objective owns how noise is added while training (``loss``) and how a chunk is drawn at
inference (``sample``). Both work in the normalised action space [-1, 1], and ``sample`` always
returns a clean normalised chunk, so the objective never changes what the actions mean: the
policy denormalises the result the same way whichever objective trained it.

- ``ddpm``: 100 noise levels on the squared-cosine schedule, epsilon prediction; sampled with
  deterministic DDIM in a few steps (trailing spacing, so the first step starts from pure noise).
- ``flow``: flow matching on the straight path from noise (t=0) to data (t=1), velocity target;
  sampled with Euler steps.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from recorder.jobs import ShouldStop, check_stop, never_stop

Denoiser = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""``model(x (B, T, A), t (B,), cond) → (B, T, A)``."""


def squared_cosine_alpha_bars(steps: int, max_beta: float = 0.999) -> torch.Tensor:
    """Cumulative signal fractions ᾱ_k of Nichol & Dhariwal's squared-cosine schedule."""
    def f(t: float) -> float:
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

    betas = torch.tensor([min(1 - f((i + 1) / steps) / f(i / steps), max_beta) for i in range(steps)],
                         dtype=torch.float64)
    return torch.cumprod(1 - betas, 0).float()


class DDPM(nn.Module):
    name = "ddpm"

    def __init__(self, train_timesteps: int = 100) -> None:
        super().__init__()
        self.steps = train_timesteps
        self.register_buffer("alpha_bars", squared_cosine_alpha_bars(train_timesteps), persistent=False)

    def loss(self, model: Denoiser, x0: torch.Tensor, cond: torch.Tensor,
             generator: torch.Generator | None = None) -> torch.Tensor:
        b = x0.shape[0]
        k = torch.randint(0, self.steps, (b,), device=x0.device, generator=generator)
        noise = torch.randn(x0.shape, device=x0.device, generator=generator, dtype=x0.dtype)
        ab = self.alpha_bars[k].view(b, 1, 1)
        xk = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
        return F.mse_loss(model(xk, k.float(), cond).float(), noise.float())

    def timesteps(self, steps: int) -> list[int]:
        """DDIM's visiting order, trailing spacing: starts at the last (pure-noise) level."""
        steps = min(steps, self.steps)
        return sorted({round(self.steps - i * self.steps / steps) - 1 for i in range(steps)}, reverse=True)

    @torch.no_grad()
    def sample(self, model: Denoiser, cond: torch.Tensor, shape: tuple[int, ...], steps: int,
               generator: torch.Generator | None = None, should_stop: ShouldStop = never_stop) -> torch.Tensor:
        x = torch.randn(shape, device=cond.device, generator=generator)
        ts = self.timesteps(steps)
        for i, t in enumerate(ts):
            check_stop(should_stop)  # per step: a big network's chunk can take minutes
            ab = self.alpha_bars[t]
            ab_prev = self.alpha_bars[ts[i + 1]] if i + 1 < len(ts) else torch.ones((), device=x.device)
            eps = model(x, torch.full((shape[0],), float(t), device=x.device), cond).float()
            x0 = ((x - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1.0, 1.0)
            eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt()
            x = ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps
        return x.clamp(-1.0, 1.0)


class FlowMatching(nn.Module):
    name = "flow"

    def __init__(self, train_timesteps: int = 100) -> None:
        super().__init__()
        self.time_scale = float(train_timesteps)  # the heads' time embedding sees the same range as DDPM's

    def loss(self, model: Denoiser, x0: torch.Tensor, cond: torch.Tensor,
             generator: torch.Generator | None = None) -> torch.Tensor:
        b = x0.shape[0]
        t = torch.rand((b,), device=x0.device, generator=generator)
        noise = torch.randn(x0.shape, device=x0.device, generator=generator, dtype=x0.dtype)
        tt = t.view(b, 1, 1)
        xt = (1 - tt) * noise + tt * x0
        return F.mse_loss(model(xt, t * self.time_scale, cond).float(), (x0 - noise).float())

    @torch.no_grad()
    def sample(self, model: Denoiser, cond: torch.Tensor, shape: tuple[int, ...], steps: int,
               generator: torch.Generator | None = None, should_stop: ShouldStop = never_stop) -> torch.Tensor:
        x = torch.randn(shape, device=cond.device, generator=generator)
        dt = 1.0 / steps
        for i in range(steps):
            check_stop(should_stop)
            t = torch.full((shape[0],), i * dt * self.time_scale, device=x.device)
            x = x + dt * model(x, t, cond).float()
        return x.clamp(-1.0, 1.0)


OBJECTIVES: dict[str, Callable[[int], nn.Module]] = {"ddpm": DDPM, "flow": FlowMatching}


def make_objective(name: str, train_timesteps: int) -> nn.Module:
    try:
        factory = OBJECTIVES[name]
    except KeyError:
        raise ValueError(f"unknown objective {name!r}; known: {', '.join(sorted(OBJECTIVES))}") from None
    return factory(train_timesteps)
