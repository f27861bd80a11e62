"""Targeted re-collection: the cells of a sweep report, and the one to record more demos in.

A sweep (`policy.sweep`, ``RUN/sweep/sweep.json``) measures a policy under each perturbation and
severity. Where it fails, more demonstrations under that very condition are the remedy: this
module reads the report, picks a cell (named, or the worst) and names the tag the new episodes
carry (``sweep:object_color@0.5``), so curation and ``train --tag`` can find them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

TAG_PREFIX = "sweep:"


@dataclass(frozen=True)
class SweepCellRef:
    perturbation: str
    severity: float
    success_rate: float
    episodes: int

    @property
    def tag(self) -> str:
        return f"{TAG_PREFIX}{self.perturbation}@{self.severity:g}"

    @property
    def perturbations(self) -> dict[str, float]:
        return {self.perturbation: self.severity}


def load_sweep(path: str | Path) -> list[SweepCellRef]:
    """The perturbed cells of the sweep report at ``path`` (sweep.json, or the folder holding it)."""
    p = Path(path)
    if p.is_dir():
        p = p / "sweep.json"
    try:
        cells = cells_of(json.loads(p.read_text()))
    except FileNotFoundError:
        raise ValueError(f"--from-sweep: no sweep report at {p} (run `demostation eval RUN --sweep` first)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"--from-sweep: {p} is not a sweep report ({type(exc).__name__})") from None
    if not cells:
        raise ValueError(f"--from-sweep: {p} has no perturbed cells")
    return cells


def cells_of(summary: dict) -> list[SweepCellRef]:
    """The perturbed cells of a sweep report's JSON object (`SweepReport.summary`), worst first."""
    cells = [SweepCellRef(str(c["perturbation"]), float(c["severity"]), float(c["success_rate"]), int(c["episodes"]))
             for c in summary["cells"]]
    return sorted(cells, key=lambda c: (c.success_rate, c.severity, c.perturbation))


def pick_cell(cells: list[SweepCellRef], spec: str = "worst") -> SweepCellRef:
    """``"worst"``: the lowest success (the mildest such severity on a tie); ``"NAME:SEVERITY"``: that cell."""
    if spec.strip() == "worst":
        return min(cells, key=lambda c: (c.success_rate, c.severity, c.perturbation))
    name, sep, sev = spec.partition(":")
    try:
        severity = float(sev)
    except ValueError:
        severity = None
    if not sep or severity is None:
        raise ValueError(f"--cell takes worst or NAME:SEVERITY (e.g. object_color:0.5), got {spec!r}")
    for c in cells:
        if c.perturbation == name.strip() and abs(c.severity - severity) < 1e-9:
            return c
    have = ", ".join(f"{c.perturbation}:{c.severity:g}" for c in cells)
    raise ValueError(f"--cell {spec}: the sweep has no such cell; it has {have}")
