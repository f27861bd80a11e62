"""1-D temporal U-Net with FiLM conditioning (Diffusion Policy's CNN head), sized by ``dims``.

The action chunk is a 1-D signal over time (channels = action dimensions). Every residual block
is modulated by FiLM — a per-channel scale and bias computed from the noise-level embedding and
the observation features — which is how the observation steers the denoising.
"""

from __future__ import annotations

import torch
from torch import nn

from policy.heads.embedding import time_mlp


class _ConvBlock(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int, groups: int) -> None:
        super().__init__(nn.Conv1d(cin, cout, kernel, padding=kernel // 2), nn.GroupNorm(groups, cout), nn.Mish())


class FiLMResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, cond_dim: int, kernel: int, groups: int) -> None:
        super().__init__()
        self.block1 = _ConvBlock(cin, cout, kernel, groups)
        self.block2 = _ConvBlock(cout, cout, kernel, groups)
        self.film = nn.Sequential(nn.Mish(), nn.Linear(cond_dim, 2 * cout))
        self.skip = nn.Conv1d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        y = self.block1(x)
        scale, bias = self.film(cond)[..., None].chunk(2, dim=1)
        y = self.block2(y * (1 + scale) + bias)
        return y + self.skip(x)


class ConditionalUnet1D(nn.Module):
    def __init__(self, action_dim: int, cond_dim: int, dims: tuple[int, ...] = (64, 128, 256), kernel: int = 5,
                 groups: int = 8, time_dim: int = 64) -> None:
        super().__init__()
        self.time = time_mlp(time_dim)
        c = time_dim + cond_dim
        widths = [action_dim, *dims]
        self.down = nn.ModuleList()
        for i, (cin, cout) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            last = i == len(dims) - 1
            self.down.append(nn.ModuleList([
                FiLMResBlock(cin, cout, c, kernel, groups), FiLMResBlock(cout, cout, c, kernel, groups),
                nn.Conv1d(cout, cout, 3, 2, 1) if not last else nn.Identity()]))
        mid = dims[-1]
        self.mid = nn.ModuleList([FiLMResBlock(mid, mid, c, kernel, groups), FiLMResBlock(mid, mid, c, kernel, groups)])
        self.up = nn.ModuleList()
        for cout, cin in reversed(list(zip(dims[:-1], dims[1:], strict=True))):
            self.up.append(nn.ModuleList([
                FiLMResBlock(cin * 2, cout, c, kernel, groups), FiLMResBlock(cout, cout, c, kernel, groups),
                nn.ConvTranspose1d(cout, cout, 4, 2, 1)]))
        self.final = nn.Sequential(_ConvBlock(dims[0], dims[0], kernel, groups), nn.Conv1d(dims[0], action_dim, 1))
        self._levels = len(dims)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        horizon = x.shape[1]
        stride = 2 ** (self._levels - 1)
        pad = (-horizon) % stride  # the U-Net halves the length; pad so any horizon works
        h = x.transpose(1, 2)
        if pad:
            h = nn.functional.pad(h, (0, pad), mode="replicate")
        g = torch.cat([self.time(t), cond.flatten(1)], dim=-1)
        skips = []
        for res1, res2, down in self.down:
            h = res2(res1(h, g), g)
            skips.append(h)
            h = down(h)
        for res in self.mid:
            h = res(h, g)
        for res1, res2, up in self.up:
            h = torch.cat([h, skips.pop()], dim=1)
            h = res2(res1(h, g), g)
            h = up(h)
        return self.final(h)[..., :horizon].transpose(1, 2)
