"""Denoising heads: networks mapping (noisy action chunk, noise level, observation tokens) to a
chunk-shaped output (noise, or velocity — the objective decides what it means).

Every head has the same call: ``head(x (B, T, A), t (B,), cond (B, N, F)) → (B, T, A)``, where
``cond`` holds N observation tokens of width F (one per observation step, plus a task or goal
token when conditioned). Heads are picked by registered name.
"""

from __future__ import annotations

from typing import Callable

from torch import nn

from policy.config import PolicyConfig
from policy.heads.transformer import TransformerHead
from policy.heads.unet1d import ConditionalUnet1D

HeadFactory = Callable[[PolicyConfig, int, int, int], nn.Module]

HEADS: dict[str, HeadFactory] = {
    "unet": lambda cfg, action_dim, n_tokens, token_dim: ConditionalUnet1D(
        action_dim, cond_dim=n_tokens * token_dim, dims=cfg.unet_dims, kernel=cfg.unet_kernel,
        groups=cfg.unet_groups, time_dim=cfg.time_embed_dim),
    "transformer": lambda cfg, action_dim, n_tokens, token_dim: TransformerHead(
        action_dim, horizon=cfg.horizon, n_tokens=n_tokens, token_dim=token_dim, dim=cfg.transformer_dim,
        layers=cfg.transformer_layers, heads=cfg.transformer_heads, dropout=cfg.dropout),
}


def make_head(cfg: PolicyConfig, action_dim: int, n_tokens: int, token_dim: int) -> nn.Module:
    try:
        factory = HEADS[cfg.head]
    except KeyError:
        raise ValueError(f"unknown head {cfg.head!r}; known: {', '.join(sorted(HEADS))}") from None
    return factory(cfg, action_dim, n_tokens, token_dim)
