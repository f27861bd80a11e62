"""Keyboard teleoperation, always available: held keys become a rate command.

A Qt-free key-state model: the GUI (or a test, or a replayed recording) feeds key down/up events by
name — ``device.key_down("w")``, ``device.key_up("w")`` — and every held axis key contributes full
deflection along its axis, so holding W and D moves diagonally. Other keys are buttons
(space toggles the gripper, enter starts/stops recording, ...). Names are lower-case Qt-style key
names (``w``, ``space``, ``enter``, ``backspace``, ``esc``); common aliases are accepted.
"""

from __future__ import annotations

import queue
import re
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from devices.teleop.command import ButtonAction, DeviceSample, MotionMode, RawEvent
from devices.teleop.device import CommandParts, TeleopDevice, Transport
from devices.teleop.errors import MalformedInput
from devices.teleop.settings import ClutchMode, DeviceSettings, MapperSettings

_AXES = {"x": 0, "y": 1, "z": 2, "rx": 3, "ry": 4, "rz": 5}
_AXIS_RE = re.compile(r"^[+-](x|y|z|rx|ry|rz)$")
_ALIASES = {"return": "enter", "escape": "esc", " ": "space", "spacebar": "space", "del": "delete",
            "back": "backspace"}

DEFAULT_AXIS_KEYS = {
    "d": "+x", "a": "-x",  # right / left
    "w": "+y", "s": "-y",  # away / towards the operator
    "r": "+z", "f": "-z",  # up / down
    "i": "+rx", "k": "-rx",  # tilt about the operator's right axis
    "l": "+ry", "j": "-ry",  # roll about the away axis
    "u": "+rz", "o": "-rz",  # turn about up
}


def key_name(name: str) -> str:
    """Canonical key name: lower case, aliases folded (``Return`` → ``enter``)."""
    n = str(name).strip().lower() if name != " " else " "
    return _ALIASES.get(n, n)


@dataclass(frozen=True)
class KeyboardOptions:
    """Which key drives which axis, as ``"+x"`` … ``"-rz"`` in the operator frame."""

    axis_keys: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_AXIS_KEYS))

    def __post_init__(self) -> None:
        for key, axis in self.axis_keys.items():
            if not _AXIS_RE.match(axis):
                raise ValueError(f"keyboard axis for {key!r} must be +x, -x, ..., +rz or -rz, got {axis!r}")


class KeyEventTransport(Transport):
    """Key events handed over by the GUI thread, read by the device's reader thread."""

    reconnectable = True
    window_input = True  # the GUI hands over its key events; a terminal session has none

    def __init__(self, clock=time.monotonic) -> None:
        self._queue: queue.SimpleQueue[tuple[str, bool, float]] = queue.SimpleQueue()
        self._clock = clock

    def push(self, name: str, down: bool) -> None:
        self._queue.put((key_name(name), bool(down), self._clock()))

    def open(self) -> None:
        pass  # a keyboard is always there

    def close(self) -> None:
        pass

    def read(self, timeout: float) -> RawEvent | None:
        try:
            name, down, t = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        return RawEvent(t, "key", (name, down))


class KeyboardDevice(TeleopDevice):
    """Keyboard as a rate (delta) device with key-bound buttons."""

    kind = "keyboard"
    mode = MotionMode.DELTA

    def __init__(self, transport: Transport | None = None, **kwargs: Any) -> None:
        super().__init__(transport or KeyEventTransport(), **kwargs)
        self._held: set[str] = set()

    @property
    def name(self) -> str:
        return "keyboard"

    def default_settings(self) -> DeviceSettings:
        return DeviceSettings(
            mapper=MapperSettings(translation_scale=0.1, rotation_scale=0.6, deadzone=0.0, clutch=ClutchMode.ALWAYS),
            buttons={"space": ButtonAction.GRIPPER_TOGGLE, "enter": ButtonAction.RECORD_TOGGLE,
                     "esc": ButtonAction.STOP, "backspace": ButtonAction.DISCARD, "m": ButtonAction.MARK_RECOVERY},
            options=KeyboardOptions())

    # -- what the GUI calls -------------------------------------------------------------------------
    def key_down(self, name: str) -> None:
        self._push(name, True)

    def key_up(self, name: str) -> None:
        self._push(name, False)

    def release_all(self) -> None:
        """Let go of every key (call when the window loses focus, so no key stays 'held')."""
        for name in list(self._held):
            self._push(name, False)

    def _push(self, name: str, down: bool) -> None:
        transport = self._transport
        if not isinstance(transport, KeyEventTransport):
            raise RuntimeError("this keyboard device replays a recording; it takes no live keys")
        transport.push(name, down)

    # -- parsing ----------------------------------------------------------------------------------------
    def _reset_parser(self) -> None:
        self._held = set()

    def _parse(self, event: RawEvent) -> DeviceSample | None:
        if event.kind != "key":
            raise MalformedInput(f"a keyboard reads key events, got {event.kind!r}")
        try:
            name, down = event.data
        except (TypeError, ValueError):
            raise MalformedInput(f"a key event is (name, down), got {event.data!r}") from None
        name = key_name(name)
        before = set(self._held)
        (self._held.add if down else self._held.discard)(name)
        if self._held == before:
            return None  # auto-repeat of a held key changes nothing
        return DeviceSample(time=event.time, seq=0, twist=self._twist(), buttons=frozenset(self._held))

    def _twist(self) -> np.ndarray:
        opts: KeyboardOptions = self.settings.options or KeyboardOptions()
        twist = np.zeros(6)
        for key in self._held:
            axis = opts.axis_keys.get(key)
            if axis:
                twist[_AXES[axis[1:]]] += 1.0 if axis[0] == "+" else -1.0
        return np.clip(twist, -1.0, 1.0)

    def _interpret(self, sample: DeviceSample) -> CommandParts:
        return CommandParts(twist=sample.twist)
