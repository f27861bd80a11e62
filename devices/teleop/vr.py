"""VR controller teleoperation over OpenXR: hold squeeze to move, the trigger closes the gripper.

The controller's grip pose is applied clutch-relative: while squeeze is held the robot's target
follows the hand's motion since the squeeze began (scaled), so the operator can let go, move the
hand back and continue — like lifting a mouse off the desk. The trigger's travel is the gripper
command. Raw OpenXR samples come from ``OpenXRAdapter`` (or a recording of it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from devices.teleop.command import ButtonAction, DeviceSample, MotionMode, RawEvent
from devices.teleop.device import CommandParts, TeleopDevice, Transport
from devices.teleop.errors import MalformedInput
from devices.teleop.frames import OPERATOR_FROM_Y_UP, rotate_pose
from devices.teleop.openxr_adapter import OpenXRAdapter, XrSample
from devices.teleop.settings import ClutchMode, DeviceSettings, MapperSettings


class XrSource(Protocol):
    """What the transport needs of the OpenXR edge (``OpenXRAdapter`` or a test's stand-in)."""

    hand: str
    tracker_role: str | None

    def open(self) -> None: ...
    def close(self) -> None: ...
    def poll(self) -> XrSample | None: ...


class OpenXRTransport(Transport):
    """Polls an OpenXR source at ``rate_hz`` (controllers are tracked at 90 Hz or more)."""

    def __init__(self, source: XrSource, rate_hz: float = 90.0, clock=time.monotonic) -> None:
        self.source = source
        self._period = 1.0 / rate_hz
        self._clock = clock
        self._next = 0.0

    def open(self) -> None:
        self.source.open()
        self._next = self._clock()

    def close(self) -> None:
        self.source.close()

    def read(self, timeout: float) -> RawEvent | None:
        wait = self._next - self._clock()
        if wait > timeout:
            time.sleep(timeout)
            return None
        if wait > 0:
            time.sleep(wait)
        self._next = max(self._next + self._period, self._clock())
        sample = self.source.poll()
        if sample is None:
            return None
        return RawEvent(self._clock(), "xr", sample)

    def describe(self) -> dict[str, Any]:
        return {"hand": self.source.hand, "tracker_role": self.source.tracker_role}


@dataclass(frozen=True)
class VROptions:
    """Squeeze engages the clutch above ``squeeze_on`` and lets go below ``squeeze_off`` (hysteresis,
    so a half-squeezed grip does not chatter)."""

    squeeze_on: float = 0.5
    squeeze_off: float = 0.35

    def __post_init__(self) -> None:
        if not (0.0 <= self.squeeze_off <= self.squeeze_on <= 1.0):
            raise ValueError(f"need 0 <= squeeze_off <= squeeze_on <= 1, got {self.squeeze_off}, {self.squeeze_on}")


class VRControllerDevice(TeleopDevice):
    """A tracked VR controller (left or right hand) through a headless OpenXR session."""

    kind = "openxr"
    mode = MotionMode.ABSOLUTE

    def __init__(self, transport: Transport, **kwargs: Any) -> None:
        super().__init__(transport, **kwargs)
        self.hand = str(transport.describe().get("hand") or "right")
        self._squeezed = False

    @property
    def name(self) -> str:
        return f"VR controller ({self.hand} hand)"

    def default_settings(self) -> DeviceSettings:
        return DeviceSettings(
            mapper=MapperSettings(translation_scale=1.0, rotation_scale=1.0, deadzone=0.002,
                                  clutch=ClutchMode.HOLD),
            buttons={"squeeze": ButtonAction.CLUTCH, "primary": ButtonAction.RECORD_TOGGLE,
                     "secondary": ButtonAction.MARK_RECOVERY, "menu": ButtonAction.DISCARD,
                     "thumbstick": ButtonAction.STOP},
            options=VROptions())

    def _reset_parser(self) -> None:
        self._squeezed = False

    def _parse(self, event: RawEvent) -> DeviceSample | None:
        if event.kind != "xr" or not isinstance(event.data, XrSample):
            raise MalformedInput(f"a VR controller reads OpenXR samples, got {event.kind!r}")
        return xr_sample_to_device_sample(event.time, event.data, self._squeeze_button(event.data.squeeze))

    def _squeeze_button(self, squeeze: float) -> bool:
        opts: VROptions = self.settings.options or VROptions()
        self._squeezed = squeeze >= opts.squeeze_on or (self._squeezed and squeeze > opts.squeeze_off)
        return self._squeezed

    def _interpret(self, sample: DeviceSample) -> CommandParts:
        return CommandParts(pose=sample.pose, gripper=sample.analog.get("trigger"))

    def _notice(self) -> str:
        return xr_problem(self._transport)


def xr_problem(transport: Transport) -> str:
    """Why the OpenXR source sends no samples now (retrying a failed call, not focused), or ''."""
    source = getattr(transport, "xr_source", None) or getattr(transport, "source", None)
    return str(getattr(source, "problem", "") or "")


def xr_sample_to_device_sample(t: float, xs: XrSample, squeezed: bool) -> DeviceSample:
    """An OpenXR sample in the operator frame; a held squeeze shows as the ``squeeze`` button."""
    pose = None if xs.pose is None else rotate_pose(OPERATOR_FROM_Y_UP, xs.pose)
    buttons = set(xs.buttons)
    if squeezed:
        buttons.add("squeeze")
    return DeviceSample(time=t, seq=0, pose=pose, analog={"trigger": float(xs.trigger), "squeeze": float(xs.squeeze)},
                        buttons=frozenset(buttons))


def make_openxr_device(hand: str = "right", **kwargs: Any) -> VRControllerDevice:
    """A VR controller on the real OpenXR runtime (``connect`` says what to install if there is none)."""
    return VRControllerDevice(OpenXRTransport(OpenXRAdapter(hand)), **kwargs)
