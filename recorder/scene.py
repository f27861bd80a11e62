"""The scene an episode was recorded in: its perturbation severities, stored and queried.

Recording sets the station's perturbations for each episode (fixed ones from ``--perturb`` plus a
draw from ``--randomize`` ranges, `devices.sim.randomization`) and stores them in the episode's
``scene`` attribute (see docs/dataset-format.md). Curation and the trainer select episodes by
them with conditions such as ``object_color>=0.25``; a perturbation an episode does not name has
severity 0 (the training scene), so an unperturbed dataset answers every condition consistently.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from devices.sim.randomization import SceneRanges

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "!=": operator.ne, "=": lambda a, b: math.isclose(a, b, abs_tol=1e-9),
    "<": operator.lt, ">": operator.gt,
}
_CONDITION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|!=|=|<|>)\s*([^\s].*?)\s*$")


def apply_scene(station: Any, fixed: Mapping[str, float], ranges: SceneRanges, seed: int | None) -> dict:
    """Give ``station`` the perturbations of the episode with ``seed`` (``fixed`` plus a draw from
    ``ranges``; no draw without a seed) and return the root attributes that record them.

    Call it before the station's reset: the reset builds the scene from ``station.perturbations``.
    """
    drawn = ranges.draw(seed) if seed is not None else {}
    station.perturbations = {**dict(fixed), **drawn}
    return scene_attributes(station, ranges)


def scene_attributes(station: Any, ranges: SceneRanges) -> dict:
    """The root attributes that record the scene ``station`` has now (drawn from ``ranges``)."""
    from recorder.station import station_description

    return {"station": station_description(station),
            "scene": {"perturbations": dict(station.perturbations), "randomize": ranges.as_dict()}}


def episode_scene(attrs_get: Callable[[str, Any], Any]) -> dict[str, float]:
    """An episode's perturbation severities from its ``scene`` attribute, or (episodes recorded
    before it existed) its station's ``perturbations``. ``attrs_get`` is e.g. ``Episode.attr``."""
    scene = attrs_get("scene", None)
    if isinstance(scene, Mapping) and isinstance(scene.get("perturbations"), Mapping):
        values = scene["perturbations"]
    else:
        station = attrs_get("station", None)
        values = station.get("perturbations", {}) if isinstance(station, Mapping) else {}
    out = {}
    for name, value in dict(values).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[str(name)] = float(value)
    return out


@dataclass(frozen=True)
class SceneCondition:
    """``name op value`` over an episode's severities (absent names read as 0)."""

    name: str
    op: str
    value: float

    def holds(self, scene: Mapping[str, float]) -> bool:
        return _OPS[self.op](float(scene.get(self.name, 0.0)), self.value)

    def text(self) -> str:
        return f"{self.name}{self.op}{self.value:g}"


def parse_conditions(items: Iterable[str] | None, known: Iterable[str] | None = None) -> tuple[SceneCondition, ...]:
    """``["object_color>=0.25", ...]`` (each item may also hold several, comma-separated) →
    conditions; ValueError with one line for a malformed one or a name not in ``known``."""
    names = set(known) if known is not None else None
    out: list[SceneCondition] = []
    for item in items or []:
        for part in (p for p in str(item).split(",") if p.strip()):
            m = _CONDITION.match(part)
            if m is None:
                raise ValueError(f"--where takes NAME<=VALUE, NAME>=VALUE, NAME<VALUE, NAME>VALUE, NAME=VALUE or "
                                 f"NAME!=VALUE (e.g. object_color>=0.25), got {part.strip()!r}")
            name, op, text = m.groups()
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"--where {part.strip()!r}: {text!r} is not a number") from None
            if not math.isfinite(value):
                raise ValueError(f"--where {part.strip()!r}: the value must be a finite number")
            if names is not None and name not in names:
                raise ValueError(f"--where {part.strip()!r}: unknown perturbation {name!r}; known: "
                                 f"{', '.join(sorted(names))}")
            out.append(SceneCondition(name, op, value))
    return tuple(out)


def scene_matches(scene: Mapping[str, float], conditions: Iterable[SceneCondition]) -> bool:
    """True when every condition holds (no conditions: always)."""
    return all(c.holds(scene) for c in conditions)


def known_perturbations() -> list[str]:
    from devices.sim.perturbations import perturbation_names

    return perturbation_names()
