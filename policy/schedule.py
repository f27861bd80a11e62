"""Learning-rate schedule: linear warm-up, then cosine decay to zero."""

from __future__ import annotations

import math


def warmup_cosine(progress: float, warmup_fraction: float) -> float:
    """LR multiplier at ``progress`` ∈ [0, 1] of the run (time or steps, whichever is further)."""
    progress = min(max(progress, 0.0), 1.0)
    if warmup_fraction > 0 and progress < warmup_fraction:
        return progress / warmup_fraction
    rest = (progress - warmup_fraction) / max(1e-12, 1.0 - warmup_fraction)
    return 0.5 * (1.0 + math.cos(math.pi * rest))


def warmup_fraction(warmup_steps: int, total_steps: int) -> float:
    """Warm-up as a fraction of the run, capped at a tenth so short runs still train at full rate."""
    return min(0.1, warmup_steps / max(1, total_steps))
