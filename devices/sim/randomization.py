"""Randomised collection: each episode's scene drawn from ranges of the sweep's perturbations.

``object_color:0-0.5,table_color:0-0.5`` means: for every episode, draw an ``object_color``
severity uniformly in [0, 0.5] and a ``table_color`` severity in [0, 0.5], then build the scene
with exactly the perturbations the evaluation sweep uses (`devices.sim.perturbations`), so what a
policy was shown while collecting is on the same scale as what it is measured on.

The draw depends only on the episode seed (its own stream, never the station's), so recording
the same seeds twice gives the same scenes, and the drawn severities are stored with the episode.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from devices.sim.perturbations import validate_perturbations

_STREAM = zlib.crc32(b"randomize")
DECIMALS = 4  # drawn severities are rounded, so what is stored is exactly what was applied


@dataclass(frozen=True)
class SceneRanges:
    """Perturbation name → (low, high) severity; an empty one draws nothing (the training scene)."""

    ranges: tuple[tuple[str, float, float], ...] = ()

    def __post_init__(self) -> None:
        names = [n for n, _, _ in self.ranges]
        if len(set(names)) != len(names):
            raise ValueError(f"--randomize names a perturbation twice: {','.join(names)}")
        for name, low, high in self.ranges:
            validate_perturbations({name: low})
            validate_perturbations({name: high})
            if low > high:
                raise ValueError(f"--randomize {name}:{low:g}-{high:g}: the low end is above the high end")

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def as_dict(self) -> dict[str, list[float]]:
        return {name: [low, high] for name, low, high in self.ranges}

    def text(self) -> str:
        """The form `parse_ranges` reads (what the Record panel shows and stores)."""
        return ",".join(f"{n}:{lo:g}-{hi:g}" for n, lo, hi in self.ranges)

    def draw(self, seed: int) -> dict[str, float]:
        """The severities of the episode with ``seed``: one uniform draw per range, in name order."""
        rng = np.random.default_rng([int(seed), _STREAM])
        out: dict[str, float] = {}
        for name, low, high in sorted(self.ranges):
            out[name] = round(float(rng.uniform(low, high)), DECIMALS)
        return out


def parse_ranges(text: str | None) -> SceneRanges:
    """``"object_color:0-0.5,lighting:0.25"`` → `SceneRanges` (a single number is a fixed severity).

    ValueError with one line naming the bad item otherwise.
    """
    items = [s.strip() for s in (text or "").split(",") if s.strip()]
    out: list[tuple[str, float, float]] = []
    for item in items:
        name, sep, span = item.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"--randomize takes NAME:LOW-HIGH items separated by commas "
                             f"(e.g. object_color:0-0.5), got {item!r}")
        low_text, dash, high_text = span.strip().partition("-")
        try:
            low = float(low_text)
            high = float(high_text) if dash else low
        except ValueError:
            raise ValueError(f"--randomize {item!r}: the range must be LOW-HIGH numbers in [0, 1]") from None
        out.append((name.strip(), low, high))
    return SceneRanges(tuple(out))
