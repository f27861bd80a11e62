"""Learning-rate schedule: linear warm-up over steps, then cosine decay over the run."""

from __future__ import annotations

import math


def lr_factor(step: int, fraction_done: float, warmup_steps: int) -> float:
    """LR multiplier at optimiser step ``step`` (0-based) when ``fraction_done`` ∈ [0, 1] of the run
    is behind us (of its steps, or of its time budget, whichever is further).

    Warm-up counts steps, so a time-limited run warms up exactly as a step-limited one; the cosine
    follows the run's progress, so a time-limited run still ends at zero.
    """
    warm = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
    f = min(max(fraction_done, 0.0), 1.0)
    return warm * 0.5 * (1.0 + math.cos(math.pi * f))


def warmup_steps(requested: int, total_steps: int) -> int:
    """Warm-up capped at a tenth of the run, so short runs still train at full rate."""
    return min(requested, max(1, total_steps // 10))
