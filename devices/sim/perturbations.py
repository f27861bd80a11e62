"""Robustness perturbations: named scene changes with a severity in [0, 1].

Severity 0 is the training scene; 1 is the largest change the evaluation sweep asks for. Each
perturbation draws its direction from the episode's seeded generator, so a sweep is reproducible.
"""

from __future__ import annotations

import colorsys
import zlib
from dataclasses import replace
from typing import Callable

import numpy as np

from devices.sim.scene import SceneSpec
from devices.sim.tasks.base import Task

Perturbation = Callable[[SceneSpec, Task, float, np.random.Generator], SceneSpec]
_PERTURBATIONS: dict[str, Perturbation] = {}
_TASK_STAGE: set[str] = set()  # these change the task's objects, so they run before it builds them


def perturbation(name: str, stage: str = "scene") -> Callable[[Perturbation], Perturbation]:
    def deco(fn: Perturbation) -> Perturbation:
        _PERTURBATIONS[name] = fn
        if stage == "task":
            _TASK_STAGE.add(name)
        return fn

    return deco


def perturbation_names() -> list[str]:
    return sorted(_PERTURBATIONS)


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=n)
    return v / np.linalg.norm(v)


def _shift_hue(rgba: tuple[float, ...], severity: float, rng: np.random.Generator) -> tuple[float, ...]:
    h, lightness, s = colorsys.rgb_to_hls(*rgba[:3])
    h = (h + severity * 0.5 * rng.choice([-1, 1])) % 1.0
    lightness = float(np.clip(lightness + severity * 0.25 * rng.uniform(-1, 1), 0.05, 0.95))
    return (*colorsys.hls_to_rgb(h, lightness, s), rgba[3])


@perturbation("camera_shift")
def camera_shift(spec: SceneSpec, task: Task, severity: float, rng: np.random.Generator) -> SceneSpec:
    """Moves the scene camera by up to 10 cm and re-aims it by up to 5 cm."""
    pos = np.array(spec.scene_camera_pos) + _unit(rng, 3) * 0.10 * severity
    target = np.array(spec.scene_camera_target) + _unit(rng, 3) * 0.05 * severity
    return replace(spec, scene_camera_pos=tuple(pos), scene_camera_target=tuple(target))


@perturbation("lighting")
def lighting(spec: SceneSpec, task: Task, severity: float, rng: np.random.Generator) -> SceneSpec:
    """Dims or brightens the key light by up to 70 % and swings its direction."""
    factor = 1.0 + rng.choice([-1, 1]) * 0.7 * severity
    d = np.array(spec.light_dir) + _unit(rng, 3) * 0.8 * severity
    return replace(spec, light_diffuse=float(np.clip(spec.light_diffuse * factor, 0.05, 1.0)), light_dir=tuple(d))


@perturbation("table_color")
def table_color(spec: SceneSpec, task: Task, severity: float, rng: np.random.Generator) -> SceneSpec:
    return replace(spec, table_rgba=_shift_hue(spec.table_rgba, severity, rng))


@perturbation("object_color", stage="task")
def object_color(spec: SceneSpec, task: Task, severity: float, rng: np.random.Generator) -> SceneSpec:
    task.object_rgba = _shift_hue(task.object_rgba, severity, rng)
    return spec


@perturbation("object_size", stage="task")
def object_size(spec: SceneSpec, task: Task, severity: float, rng: np.random.Generator) -> SceneSpec:
    """Scales the manipulated object by up to ±30 %."""
    task.object_scale = 1.0 + rng.choice([-1, 1]) * 0.3 * severity
    return spec


def validate_perturbations(perturbations: dict[str, float]) -> None:
    """Raise ValueError with a one-line message for an unknown name or a severity outside [0, 1]."""
    for name, severity in perturbations.items():
        if name not in _PERTURBATIONS:
            raise ValueError(f"unknown perturbation {name!r}; known: {', '.join(perturbation_names())}")
        if not (0.0 <= severity <= 1.0) or not np.isfinite(severity):
            raise ValueError(f"severity of {name!r} must be in [0, 1], got {severity}")


def perturbed_scene(task: Task, perturbations: dict[str, float], rng: np.random.Generator,
                    seed: int | None = None) -> SceneSpec:
    """The task's scene with every perturbation applied. Mutates ``task`` (pass a fresh copy).

    Each perturbation draws from its own stream (episode seed, name), never from ``rng``, so adding
    a perturbation does not move the objects: the perturbed episode is the same episode, changed
    only where the perturbation says.
    """
    validate_perturbations(perturbations)
    seeds = {name: [seed or 0, zlib.crc32(name.encode())] for name in perturbations}
    dummy = SceneSpec()
    for name in sorted(_TASK_STAGE & perturbations.keys()):
        if perturbations[name] > 0:
            _PERTURBATIONS[name](dummy, task, perturbations[name], np.random.default_rng(seeds[name]))
    spec = task.scene_spec(rng)
    for name in sorted(perturbations.keys() - _TASK_STAGE):
        if perturbations[name] > 0:
            spec = _PERTURBATIONS[name](spec, task, perturbations[name], np.random.default_rng(seeds[name]))
    return spec
