"""Min-max normalisation to [-1, 1], as an `nn.Module` whose statistics are buffers.

The statistics live in the state dict, so they are saved with the weights and a checkpoint can
never be run with another dataset's ranges. A dimension that never varies (a constant gripper, a
fixed orientation) is centred but not scaled, so it cannot blow up to ±inf.
"""

from __future__ import annotations

import torch
from torch import nn

_EPS = 1e-4


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

    def fit(self, name: str, data: torch.Tensor) -> None:
        """Set the range of ``name`` from samples (N, D) (or any (..., D))."""
        flat = data.reshape(-1, data.shape[-1]).float()
        if flat.shape[0] == 0:
            raise ValueError(f"cannot fit normaliser field {name!r} on no samples")
        if not torch.isfinite(flat).all():
            raise ValueError(f"normaliser field {name!r}: the data holds NaN or inf values")
        r = self.fields[name]
        r.low.copy_(flat.min(0).values)
        r.high.copy_(flat.max(0).values)

    def normalize(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return self.fields[name].normalize(x)

    def unnormalize(self, name: str, y: torch.Tensor) -> torch.Tensor:
        return self.fields[name].unnormalize(y)

    def stats(self) -> dict[str, dict[str, list[float]]]:
        """Plain numbers, for humans and JSON reports."""
        return {n: {"low": r.low.tolist(), "high": r.high.tolist()} for n, r in self.fields.items()}
