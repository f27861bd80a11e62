"""What a station task is: objects in the scene, a seeded reset, a score, and a scripted expert."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, ClassVar

import numpy as np

from devices.sim.scene import SceneSpec

if TYPE_CHECKING:
    import mujoco

    from devices.sim.experts import Expert, ExpertKnobs
    from devices.sim.station import SimStation


@dataclass(frozen=True)
class TaskStatus:
    score: float  # in [0, 1]; the task's own measure of progress
    success: bool
    timed_out: bool = False

    @property
    def done(self) -> bool:
        return self.success or self.timed_out


@dataclass
class Task(ABC):
    """A tabletop task. Perturbations adjust the public fields (colours, object scale) before a reset."""

    time_limit_s: float = 20.0
    object_scale: float = 1.0
    object_rgba: tuple[float, float, float, float] = (0.85, 0.15, 0.12, 1.0)
    params: dict = field(default_factory=dict)

    name: ClassVar[str] = "task"  # set by @register_task; a class attribute, not a field

    @abstractmethod
    def scene_spec(self, rng: np.random.Generator) -> SceneSpec:
        """The scene with this task's objects (called at every reset; same spec → no rebuild)."""

    @abstractmethod
    def randomize(self, model: "mujoco.MjModel", data: "mujoco.MjData", rng: np.random.Generator) -> None:
        """Place the objects for a new episode."""

    @abstractmethod
    def evaluate(self, model: "mujoco.MjModel", data: "mujoco.MjData", elapsed_s: float) -> TaskStatus:
        ...

    @abstractmethod
    def object_state(self, model: "mujoco.MjModel", data: "mujoco.MjData") -> dict[str, np.ndarray]:
        ...

    @abstractmethod
    def make_expert(self, station: "SimStation", knobs: "ExpertKnobs", rng: np.random.Generator) -> "Expert":
        ...


_REGISTRY: dict[str, Callable[[], Task]] = {}


def register_task(name: str) -> Callable[[type[Task]], type[Task]]:
    def deco(cls: type[Task]) -> type[Task]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def task_names() -> list[str]:
    return sorted(_REGISTRY)


def make_task(name: str) -> Task:
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(task_names())}") from None
    return factory()
