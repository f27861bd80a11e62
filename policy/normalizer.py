"""Min-max normalisation to [-1, 1], as an `nn.Module` whose statistics are buffers.

The statistics live in the state dict, so they are saved with the weights and a checkpoint can
never be run with another dataset's ranges.

A dimension that hardly varied in the demos (the hand's tilt, a 6-D rotation component that stays
within ±0.002) is fitted to a range of at least ``MIN_SPAN`` around its middle. Scaled to its own
tiny span, the few millimetres of tilt a closed-loop rollout produces (a nudge against the cube)
become an input of ±50 that the network never saw, and the policy flails: a `pick_place` policy
trained on 100 demos whose spans happened to be 0.002–0.003 scored 0 %, the same demos with one
0.02 span 88 % (bench/README.md). Every dimension that matters spans far more than 0.1 (workspace
positions ~0.3 m, rotation components ~1, the gripper 1), so their scaling is unchanged. The widened
range is what is stored, so a checkpoint normalises exactly as it was trained.
"""

from __future__ import annotations

import torch
from torch import nn

_EPS = 1e-4
MIN_SPAN = 0.1


class _Range(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("low", torch.full((dim,), -1.0))
        self.register_buffer("high", torch.full((dim,), 1.0))

    def _scale_offset(self) -> tuple[torch.Tensor, torch.Tensor]:
        span = self.high - self.low
        mid = (self.high + self.low) / 2
        scale = torch.where(span > _EPS, 2.0 / span.clamp_min(_EPS), torch.ones_like(span))
        return scale, -mid * scale

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        scale, offset = self._scale_offset()
        return x * scale.to(x.dtype) + offset.to(x.dtype)

    def unnormalize(self, y: torch.Tensor) -> torch.Tensor:
        scale, offset = self._scale_offset()
        return (y - offset.to(y.dtype)) / scale.to(y.dtype)


class MinMaxNormalizer(nn.Module):
    """One range per named field (``action``, ``lowdim``), each of a fixed dimension."""

    def __init__(self, dims: dict[str, int]) -> None:
        super().__init__()
        self.fields = nn.ModuleDict({name: _Range(d) for name, d in dims.items()})

    def fit(self, name: str, data: torch.Tensor, min_span: float = MIN_SPAN) -> None:
        """Set the range of ``name`` from samples (N, D) (or any (..., D)); narrower ranges are
        widened to ``min_span`` around their middle (see the module docstring)."""
        flat = data.reshape(-1, data.shape[-1]).float()
        if flat.shape[0] == 0:
            raise ValueError(f"cannot fit normaliser field {name!r} on no samples")
        if not torch.isfinite(flat).all():
            raise ValueError(f"normaliser field {name!r}: the data holds NaN or inf values")
        low, high = flat.min(0).values, flat.max(0).values
        half = torch.clamp((high - low) / 2, min=min_span / 2)
        mid = (high + low) / 2
        r = self.fields[name]
        r.low.copy_(torch.minimum(low, mid - half))
        r.high.copy_(torch.maximum(high, mid + half))

    def normalize(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return self.fields[name].normalize(x)

    def unnormalize(self, name: str, y: torch.Tensor) -> torch.Tensor:
        return self.fields[name].unnormalize(y)

    def stats(self) -> dict[str, dict[str, list[float]]]:
        """Plain numbers, for humans and JSON reports."""
        return {n: {"low": r.low.tolist(), "high": r.high.tolist()} for n, r in self.fields.items()}
