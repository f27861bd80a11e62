"""Take-over: the operator grabs control from a running policy, and the recovery is recorded.

`ControlArbiter` is the setpoint source the safety controller reads. It forwards the policy's
setpoints until the take-over button goes down; from then on it forwards the teleop device's,
and asks the recorder to start a new episode tagged ``recovery`` that starts from the state the
policy left. When the button is released it stops that recording and hands control back to the
policy, which replans from where the operator left the arm. Both sources go through the same
safety controller, so the switch itself is rate- and acceleration-limited like any command.

Around a switch, the source taking over may have nothing to say yet (the teleop device's first
sample, the policy's first chunk after hand-back). Meanwhile the arbiter holds the command that
was being executed at the switch, so the arm stays put instead of counting a "lost" source.

The recorder is injected (`RecoveryRecorder`: ``start(attrs)`` / ``stop()``): the GUI adapts its
`RecordingSession` to it; tests use a fake. A failing recorder never blocks a take-over — the
operator's control matters more than the recording; the failure is kept in ``recorder_errors``.
Qt-free and clock-agnostic: the caller passes ``now`` and the button state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Protocol

from devices.control import NoSetpoint, Setpoint, SetpointSource
from devices.robot import Action

POLICY = "policy"
TELEOP = "teleop"
RECOVERY_TAG = "recovery"


class RecoveryRecorder(Protocol):
    def start(self, attrs: Mapping[str, object]) -> object:
        """Begin recording a new episode with these root attributes (``tags`` among them)."""

    def stop(self) -> object:
        """Finish the episode being recorded."""


@dataclass(frozen=True)
class SwitchEvent:
    time: float
    to: str  # POLICY or TELEOP
    command: tuple[float, ...] | None  # the command being executed at the switch (pose + gripper)


@dataclass
class ControlArbiter:
    """Chooses the policy or the teleop device as the controller's source (see module doc).

    ``current_command`` returns what the robot is executing now (``SafetyController.last_applied``).
    ``on_hand_back(now)`` lets the policy side drop its stale plan (e.g. ``ChunkRunner.restart``).
    ``episode_attrs`` are added to every recovery episode (task, operator, device, policy name).
    """

    policy: SetpointSource
    teleop: SetpointSource
    current_command: Callable[[], Action | None]
    recorder: RecoveryRecorder | None = None
    on_hand_back: Callable[[float], None] | None = None
    episode_attrs: Mapping[str, object] = field(default_factory=dict)
    active: str = POLICY
    events: list[SwitchEvent] = field(default_factory=list)
    recorder_errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._pressed = False
        self._bridge: Action | None = None  # held until the new source produces its first setpoint
        self._recording = False

    @property
    def recording(self) -> bool:
        return self._recording

    # -- the button ------------------------------------------------------------------------------
    def update(self, now: float, take_over_pressed: bool) -> None:
        """Feed the take-over button's state each tick: press takes over, release hands back."""
        pressed = bool(take_over_pressed)
        if pressed and not self._pressed:
            self.take_over(now)
        elif self._pressed and not pressed:
            self.hand_back(now)
        self._pressed = pressed

    def take_over(self, now: float) -> None:
        if self.active == TELEOP:
            return
        current = self.current_command()
        self.active = TELEOP
        self._bridge = current
        engage = getattr(self.teleop, "engage", None)
        if callable(engage) and current is not None:
            engage(current, now)  # a teleop source starts from where the policy left the arm
        self.events.append(SwitchEvent(now, TELEOP, None if current is None else tuple(current.as_vector())))
        if self.recorder is not None:
            attrs = dict(self.episode_attrs)
            attrs["tags"] = sorted(set(attrs.get("tags", ())) | {RECOVERY_TAG})
            attrs["takeover_time"] = float(now)
            if current is not None:
                attrs["start_command"] = [float(x) for x in current.as_vector()]
            try:
                self.recorder.start(attrs)
                self._recording = True
            except Exception as exc:  # noqa: BLE001 - the operator gets control regardless
                self.recorder_errors.append(f"start: {type(exc).__name__}: {exc}")

    def hand_back(self, now: float) -> None:
        if self.active == POLICY:
            return
        if self._recording and self.recorder is not None:
            try:
                self.recorder.stop()
            except Exception as exc:  # noqa: BLE001 - the operator gets control whatever the recorder does
                self.recorder_errors.append(f"stop: {type(exc).__name__}: {exc}")
            self._recording = False
        current = self.current_command()
        self.active = POLICY
        self._bridge = current
        if self.on_hand_back is not None:
            self.on_hand_back(now)
        self.events.append(SwitchEvent(now, POLICY, None if current is None else tuple(current.as_vector())))

    # -- SetpointSource --------------------------------------------------------------------------
    def setpoint(self, now: float) -> Setpoint:
        source = self.teleop if self.active == TELEOP else self.policy
        sp = source.setpoint(now)
        if isinstance(sp, NoSetpoint):
            if sp.reason == "empty" and self._bridge is not None:
                return self._bridge
            return sp
        self._bridge = None
        return sp
