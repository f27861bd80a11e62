"""Agents the live station can be handed besides teleop devices: the task's scripted expert.

Seeded exactly like `policy.evaluation.ExpertAgent` and `recorder.sources.ExpertSource` (seed + 7919),
so an episode recorded in the GUI with the expert is the same trajectory as one recorded headlessly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from devices.robot import Action


@dataclass
class ScriptedExpert:
    noise: float = 0.0
    pause_prob: float = 0.0
    mistake_prob: float = 0.0
    name: str = "expert"
    uses_cameras: bool = False
    _expert: object = field(default=None, repr=False)

    def reset(self, station: object, seed: int) -> None:
        from devices.sim.experts import ExpertKnobs

        knobs = ExpertKnobs(noise=self.noise, pause_prob=self.pause_prob, mistake_prob=self.mistake_prob)
        self._expert = station.task.make_expert(station, knobs, np.random.default_rng(seed + 7919))  # type: ignore[attr-defined]

    def act(self, station: object) -> Action:
        if self._expert is None:
            self.reset(station, 0)
        return self._expert.act()  # type: ignore[attr-defined]

    def events(self) -> list[dict]:
        """Injected pauses and mistakes so far, in station seconds since the reset."""
        if self._expert is None:
            return []
        return [e.as_dict() for e in self._expert.events]  # type: ignore[attr-defined]
