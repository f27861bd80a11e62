"""Recording an operator's take-over from a running policy as a ``recovery`` episode.

`policy.runtime.takeover.ControlArbiter` decides who commands the robot and, on a take-over, asks a
`RecoveryRecorder` (``start(attrs)`` / ``stop()``) for a new episode tagged ``recovery`` that starts
from the state the policy left. `SessionRecoveryRecorder` is that recorder over the real
`RecordingSession`; `TakeoverRecordingSource` is the session's command source meanwhile: the arbiter drives the
safety controller (record through ``SafetyPath(controller, drive=False)``), the source only says which
side commands — the teleop device by name — and pauses the recording while that device is lost.

Both work on either clock: in simulated time the loop that steps the station calls
`RecordingSession.poll` every control tick (``threaded=False``); on a robot the session records on
its own thread (``threaded=True``). Curation sees the tag: the catalog imports an episode's ``tags``
attribute when it first sees the file.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from recorder.session import EpisodeSummary, RecordingSession
from recorder.sources import Command


class SessionRecoveryRecorder:
    """A `RecoveryRecorder` over a `RecordingSession` (see the module docstring)."""

    def __init__(self, session: RecordingSession, threaded: bool = True) -> None:
        self.session = session
        self.threaded = threaded
        self.summaries: list[EpisodeSummary] = []

    def start(self, attrs: Mapping[str, object]) -> str:
        """A new episode with ``attrs`` as extra root attributes (tags, takeover_time, start_command)."""
        return self.session.start(metadata=dict(attrs), thread=self.threaded)

    def stop(self) -> EpisodeSummary | None:
        summary = self.session.stop()
        if summary is not None:
            self.summaries.append(summary)
        return summary


class TakeoverRecordingSource:
    """The recorder's source while an arbiter chooses between a policy and a teleop device.

    ``active()`` says which side commands now (``"teleop"`` or ``"policy"``, the arbiter's
    ``active``); ``names`` maps a side to the device name stored per sample. ``teleop_paused()`` gives
    the teleop device's one-line problem while it is lost ("" when fine): the recording pauses.
    """

    def __init__(self, active: Callable[[], str], names: Mapping[str, str],
                 teleop_paused: Callable[[], str] | None = None, teleop_side: str = "teleop") -> None:
        self.active = active
        self.names = dict(names)
        self.teleop_paused = teleop_paused
        self.teleop_side = teleop_side
        self.name = self.names.get(teleop_side, teleop_side)

    @classmethod
    def for_arbiter(cls, arbiter: Any, teleop_name: str, policy_name: str,
                    teleop_paused: Callable[[], str] | None = None) -> "TakeoverRecordingSource":
        return cls(lambda: arbiter.active, {"teleop": teleop_name, "policy": policy_name}, teleop_paused)

    def begin_episode(self, robot: Any, seed: int | None) -> None:
        pass

    def next_command(self, state: Any, t: float) -> Command:
        side = self.active()
        paused = self.teleop_paused() if side == self.teleop_side and self.teleop_paused is not None else ""
        return Command(None, self.names.get(side, side), paused=paused)

    def events(self) -> list[dict]:
        return []
