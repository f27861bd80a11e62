"""Keyboard and mouse teleoperation, always available: held keys and mouse drags become a rate command.

A Qt-free key-state model: the GUI (or a test, or a replayed recording) feeds key down/up events by
name — ``device.key_down("w")``, ``device.key_up("w")`` — and every held axis key contributes full
deflection along its axis, so holding W and D moves diagonally. Other keys are buttons
(space toggles the gripper, enter starts/stops recording, ...). Names are lower-case Qt-style key
names (``w``, ``space``, ``enter``, ``backspace``, ``esc``); common aliases are accepted.

The mouse is a virtual joystick: while a button is held, the drag offset from where it was pressed,
divided by ``MouseOptions.radius_px``, is the deflection (clipped to [-1, 1]). A left drag moves in
the table plane (right = +x, up the screen = +y, away from the operator); a right drag moves up and
down (screen y) and turns about the vertical (screen x). Releasing the button stops the motion, so
the mouse can never leave the robot drifting.
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


@dataclass(frozen=True)
class MouseOptions:
    radius_px: float = 150.0  # drag distance that gives full deflection
    left: tuple[str, str] = ("+x", "-y")  # axes driven by screen dx and dy (screen y grows downwards)
    right: tuple[str, str] = ("-rz", "-z")

    def __post_init__(self) -> None:
        if not self.radius_px > 0:
            raise ValueError(f"mouse radius_px must be > 0, got {self.radius_px}")
        for axis in (*self.left, *self.right):
            if not _AXIS_RE.match(axis):
                raise ValueError(f"mouse axis must be +x, -x, ..., +rz or -rz, got {axis!r}")


MOUSE_BUTTONS = ("none", "left", "right")


class KeyEventTransport(Transport):
    """Key events handed over by the GUI thread, read by the device's reader thread."""

    reconnectable = True
    window_input = True  # the GUI hands over its key events; a terminal session has none

    def __init__(self, clock=time.monotonic) -> None:
        self._queue: queue.SimpleQueue[tuple[str, bool, float]] = queue.SimpleQueue()
        self._clock = clock

    def push(self, name: str, down: bool) -> None:
        self._queue.put(("key", (key_name(name), bool(down)), self._clock()))

    def push_mouse(self, button: str, dx: float, dy: float) -> None:
        self._queue.put(("mouse", (button, float(dx), float(dy)), self._clock()))

    def open(self) -> None:
        pass  # a keyboard is always there

    def close(self) -> None:
        pass

    def read(self, timeout: float) -> RawEvent | None:
        try:
            kind, data, t = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        return RawEvent(t, kind, data)


class KeyboardDevice(TeleopDevice):
    """Keyboard as a rate (delta) device with key-bound buttons."""

    kind = "keyboard"
    mode = MotionMode.DELTA

    def __init__(self, transport: Transport | None = None, **kwargs: Any) -> None:
        super().__init__(transport or KeyEventTransport(), **kwargs)
        self._held: set[str] = set()
        self._mouse = np.zeros(6)
        self.mouse_options = MouseOptions()

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
        """Let go of every key and the mouse (call when the window loses focus, so nothing stays 'held')."""
        for name in list(self._held):
            self._push(name, False)
        self.mouse_release()

    def mouse_drag(self, button: str, dx_px: float, dy_px: float) -> None:
        """A held button dragged ``(dx, dy)`` pixels from where it was pressed (screen axes)."""
        if button not in MOUSE_BUTTONS[1:]:
            raise ValueError(f"mouse button must be one of {MOUSE_BUTTONS[1:]}, got {button!r}")
        self._transport_for_live_input().push_mouse(button, dx_px, dy_px)

    def mouse_release(self) -> None:
        self._transport_for_live_input().push_mouse("none", 0.0, 0.0)

    def _push(self, name: str, down: bool) -> None:
        self._transport_for_live_input().push(name, down)

    def _transport_for_live_input(self) -> KeyEventTransport:
        transport = self._transport
        if not isinstance(transport, KeyEventTransport):
            raise RuntimeError("this keyboard device replays a recording; it takes no live input")
        return transport

    # -- parsing ----------------------------------------------------------------------------------------
    def _reset_parser(self) -> None:
        self._held = set()
        self._mouse = np.zeros(6)

    def _parse(self, event: RawEvent) -> DeviceSample | None:
        if event.kind == "mouse":
            return self._parse_mouse(event)
        if event.kind != "key":
            raise MalformedInput(f"a keyboard reads key and mouse events, got {event.kind!r}")
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

    def _parse_mouse(self, event: RawEvent) -> DeviceSample:
        try:
            button, dx, dy = event.data
            dx, dy = float(dx), float(dy)
        except (TypeError, ValueError):
            raise MalformedInput(f"a mouse event is (button, dx, dy), got {event.data!r}") from None
        if button not in MOUSE_BUTTONS or not (np.isfinite(dx) and np.isfinite(dy)):
            raise MalformedInput(f"bad mouse event {event.data!r}")
        self._mouse = np.zeros(6)
        if button != "none":
            opts = self.mouse_options
            for axis, value in zip(getattr(opts, button), (dx, dy), strict=True):
                deflection = float(np.clip(value / opts.radius_px, -1.0, 1.0))
                self._mouse[_AXES[axis[1:]]] += deflection if axis[0] == "+" else -deflection
        return DeviceSample(time=event.time, seq=0, twist=self._twist(), buttons=frozenset(self._held))

    def _twist(self) -> np.ndarray:
        opts: KeyboardOptions = self.settings.options or KeyboardOptions()
        twist = self._mouse.copy()
        for key in self._held:
            axis = opts.axis_keys.get(key)
            if axis:
                twist[_AXES[axis[1:]]] += 1.0 if axis[0] == "+" else -1.0
        return np.clip(twist, -1.0, 1.0)

    def _interpret(self, sample: DeviceSample) -> CommandParts:
        return CommandParts(twist=sample.twist)
