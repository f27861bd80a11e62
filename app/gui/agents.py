"""Agents the live station can be handed besides teleop devices: the task's scripted expert.

It is `policy.evaluation.ExpertAgent` (seeded like it and `recorder.sources.ExpertSource`, by `devices.sim.experts.episode_expert`),
so an episode recorded in the GUI with the expert is the same trajectory as one recorded headlessly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from devices.robot import Action
from policy.evaluation import ExpertAgent


@dataclass
class ScriptedExpert(ExpertAgent):
    """The expert for the live station: it may be asked to act before its first reset (it then
    starts from seed 0), and it lists the pauses and mistakes it injected, for the views."""

    _expert: object = field(default=None, repr=False)

    def act(self, station: object) -> Action:
        if self._expert is None:
            self.reset(station, 0)
        return super().act(station)

    def events(self) -> list[dict]:
        """Injected pauses and mistakes so far, in station seconds since the reset."""
        if self._expert is None:
            return []
        return [e.as_dict() for e in self._expert.events]  # type: ignore[attr-defined]
