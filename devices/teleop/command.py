"""The one command stream every teleoperation device yields, and the raw events it is parsed from.

A device turns raw input (HID reports, OpenXR samples, key events, camera images, haptic servo
states) into ``DeviceSample`` snapshots, and a snapshot into a ``TeleopCommand``: either an absolute
6-DoF pose (VR controller, haptic stylus, handheld gripper) that the mapper applies relative to
where the clutch was engaged, or a rate command ("delta": a twist, each axis in [-1, 1] of full
deflection; SpaceMouse, keyboard) that the mapper integrates. Buttons arrive already mapped to
actions, so nothing downstream knows which device is in the operator's hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np


class ButtonAction(StrEnum):
    """What a button can mean. The first five go on to the recorder; the rest steer the mapper."""

    RECORD = "record"
    STOP = "stop"
    DISCARD = "discard"
    MARK_RECOVERY = "mark_recovery"
    RECORD_TOGGLE = "record_toggle"  # record when idle, stop when recording (for two-button devices)
    GRIPPER_TOGGLE = "gripper_toggle"
    GRIPPER_CLOSE = "gripper_close"  # closed while held
    CLUTCH = "clutch"  # motion applies while held
    CLUTCH_TOGGLE = "clutch_toggle"


# Actions the rest of the product (recorder, session) acts on; the mapper consumes the others.
STREAM_ACTIONS = frozenset({ButtonAction.RECORD, ButtonAction.STOP, ButtonAction.DISCARD,
                            ButtonAction.MARK_RECOVERY, ButtonAction.RECORD_TOGGLE})


class DeviceStatus(StrEnum):
    """``ok``: commands are live. ``lost``: the device went away and is being re-opened (the robot
    holds, the recorder pauses). ``error``: it will not come back without the operator."""

    OK = "ok"
    LOST = "lost"
    ERROR = "error"


class MotionMode(StrEnum):
    ABSOLUTE = "absolute"  # `pose` is the device's pose in the operator frame
    DELTA = "delta"  # `twist` is a rate command, each axis in [-1, 1] of full deflection


@dataclass(frozen=True)
class RawEvent:
    """One unit of raw input exactly as the outermost edge delivered it (what recordings store).

    ``kind`` names the payload: ``hid`` (bytes of one report), ``xr`` (an ``XrSample``), ``key``
    (``(name, down)``), ``image`` (HxWx3 uint8 RGB), ``haptic`` (a ``HapticState``).
    """

    time: float  # seconds on the monotonic clock when it arrived
    kind: str
    data: Any


@dataclass(frozen=True)
class DeviceSample:
    """A device's parsed state after a raw event: motion in the operator frame, analog values, and
    the names of the physical buttons held down.

    The operator frame is the same for every device: x to the operator's right, y away from the
    operator, z up (metres, scalar-first quaternions). Settings map it into the robot base frame.
    """

    time: float
    seq: int
    pose: np.ndarray | None = None  # (7,) x, y, z, qw, qx, qy, qz, or None when not tracked
    twist: np.ndarray | None = None  # (6,) vx, vy, vz, wx, wy, wz in [-1, 1]
    analog: dict[str, float] = field(default_factory=dict)  # trigger, squeeze, jaw_width, ...
    buttons: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TeleopCommand:
    """What a device commands right now, whatever the device.

    ``held`` are the actions whose buttons are down now; ``pressed`` the actions whose buttons went
    down since the previous command was read (so a short press between two reads is never lost).
    ``gripper`` is an absolute gripper command in [0, 1] from an analog control, or None when the
    device only has buttons for it (the mapper then keeps its own gripper state).
    """

    time: float
    seq: int
    device: str
    mode: MotionMode
    pose: np.ndarray | None = None
    twist: np.ndarray | None = None
    gripper: float | None = None
    held: frozenset[ButtonAction] = frozenset()
    pressed: tuple[ButtonAction, ...] = ()
    status: DeviceStatus = DeviceStatus.OK
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status is DeviceStatus.OK

    def is_finite(self) -> bool:
        """False when the motion or gripper holds NaN/inf (the mapper then holds the robot)."""
        for v in (self.pose, self.twist):
            if v is not None and not np.all(np.isfinite(v)):
                return False
        return self.gripper is None or bool(np.isfinite(self.gripper))
