"""Transformer head: noisy action tokens self-attend, and cross-attend to observation tokens.

One token per action step; the memory holds one token for the noise level and one per
observation token (observation step, task or goal), each with a learned position embedding.
Cross-attention lets every action step pick what it needs from every observation step, which
scales better than the U-Net's single flattened FiLM vector when there are many streams.
"""

from __future__ import annotations

import torch
from torch import nn

from policy.heads.embedding import time_mlp


class TransformerHead(nn.Module):
    def __init__(self, action_dim: int, horizon: int, n_tokens: int, token_dim: int, dim: int = 128,
                 layers: int = 4, heads: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        self.action_in = nn.Linear(action_dim, dim)
        self.action_pos = nn.Parameter(torch.zeros(1, horizon, dim))
        self.obs_in = nn.Linear(token_dim, dim)
        self.memory_pos = nn.Parameter(torch.zeros(1, n_tokens + 1, dim))
        self.time = time_mlp(dim)
        # ReLU, not GELU: erf-based GELU costs as much as the feed-forward matmuls on a CPU.
        layer = nn.TransformerDecoderLayer(dim, heads, dim_feedforward=4 * dim, dropout=dropout, activation="relu",
                                           batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, layers)
        self.out = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, action_dim))
        nn.init.normal_(self.action_pos, std=0.02)
        nn.init.normal_(self.memory_pos, std=0.02)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        horizon = x.shape[1]
        if horizon > self.action_pos.shape[1]:
            raise ValueError(f"chunk of {horizon} steps is longer than the head's horizon {self.action_pos.shape[1]}")
        tokens = self.action_in(x) + self.action_pos[:, :horizon]
        memory = torch.cat([self.time(t)[:, None, :], self.obs_in(cond)], dim=1) + self.memory_pos
        return self.out(self.decoder(tokens, memory))
