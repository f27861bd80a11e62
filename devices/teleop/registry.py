"""Teleop devices by name: ``make_device("spacemouse")``, ``"keyboard"``, ``"openxr:left"``,
``"haptic:openhaptics"``, ``"handheld:tracker"``, ``"replay:FILE"``.

The spec is ``KIND[:ARG]``; each kind registers how to build a live device from its argument and how
to rebuild the same device around a replayed stream, so ``replay:FILE`` runs a recording through the
very parsing and mapping code the live device uses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping

from devices.teleop.device import TeleopDevice, Transport
from devices.teleop.errors import DeviceUnavailable


@dataclass(frozen=True)
class DeviceKind:
    name: str
    usage: str  # how to spell it on the command line
    summary: str
    build: Callable[..., TeleopDevice]  # (arg or None, **options) → device
    replay: Callable[..., TeleopDevice]  # (transport, header, **options) → device


def _keyboard(arg: str | None, **kw: Any) -> TeleopDevice:
    from devices.teleop.keyboard import KeyboardDevice

    _no_arg("keyboard", arg)
    return KeyboardDevice(**kw)


def _keyboard_replay(transport: Transport, header: dict, **kw: Any) -> TeleopDevice:
    from devices.teleop.keyboard import KeyboardDevice

    return KeyboardDevice(transport, **kw)


def _spacemouse(arg: str | None, *, hid_api: Any = None, **kw: Any) -> TeleopDevice:
    from devices.teleop.spacemouse import identify, make_spacemouse

    model = None
    if arg:
        try:
            vid, pid = (int(p, 16) for p in arg.split(":"))
        except ValueError:
            raise ValueError(f"spacemouse:{arg}: give the model as VENDOR:PRODUCT in hex, e.g. 256f:c635") from None
        model = identify(vid, pid)
        if model is None:
            raise ValueError(f"{arg} is not a 3Dconnexion SpaceMouse id")
    return make_spacemouse(hid_api=hid_api, model=model, **kw)


def _spacemouse_replay(transport: Transport, header: dict, **kw: Any) -> TeleopDevice:
    from devices.teleop.spacemouse import SpaceMouseDevice, identify

    params = header.get("params", {})
    model = identify(int(params.get("vendor_id", 0x256F)), int(params.get("product_id", 0xC635)))
    return SpaceMouseDevice(transport, model=model, **kw)


def _hand(arg: str | None, kind: str) -> str:
    hand = arg or "right"
    if hand not in ("left", "right"):
        raise ValueError(f"{kind}:{arg}: the hand is left or right")
    return hand


def _openxr(arg: str | None, **kw: Any) -> TeleopDevice:
    from devices.teleop.vr import make_openxr_device

    return make_openxr_device(_hand(arg, "openxr"), **kw)


def _openxr_replay(transport: Transport, header: dict, **kw: Any) -> TeleopDevice:
    from devices.teleop.vr import VRControllerDevice

    return VRControllerDevice(transport, **kw)  # the recorded params name the hand


def _haptic(arg: str | None, **kw: Any) -> TeleopDevice:
    from devices.teleop.haptic import HapticStylusDevice, HapticTransport
    from devices.teleop.haptic_backends import make_backend

    return HapticStylusDevice(HapticTransport(make_backend(arg)), **kw)


def _haptic_replay(transport: Transport, header: dict, **kw: Any) -> TeleopDevice:
    from devices.teleop.haptic import HapticStylusDevice

    return HapticStylusDevice(transport, **kw)


def _handheld(arg: str | None, *, camera: Any = None, **kw: Any) -> TeleopDevice:
    from devices.teleop.handheld import make_handheld

    if camera is None:
        raise DeviceUnavailable("the handheld gripper needs its wrist camera: choose the camera that sees "
                                "the finger markers")
    if arg == "tracker":
        return make_handheld(camera, tracker_role="handheld_object", **kw)
    return make_handheld(camera, hand=_hand(arg, "handheld"), **kw)


def _handheld_replay(transport: Transport, header: dict, **kw: Any) -> TeleopDevice:
    from devices.teleop.handheld import HandheldGripperDevice

    kw.pop("camera", None)  # a replay brings its own recorded wrist frames
    return HandheldGripperDevice(transport, **kw)


DEVICE_KINDS: Mapping[str, DeviceKind] = MappingProxyType({k.name: k for k in (
    DeviceKind("keyboard", "keyboard", "keyboard keys, always available", _keyboard, _keyboard_replay),
    DeviceKind("spacemouse", "spacemouse[:VID:PID]", "3Dconnexion SpaceMouse over HID", _spacemouse,
               _spacemouse_replay),
    DeviceKind("openxr", "openxr[:left|right]", "VR controller through an OpenXR runtime", _openxr, _openxr_replay),
    DeviceKind("haptic", "haptic[:openhaptics|forcedimension]", "haptic stylus with force feedback", _haptic,
               _haptic_replay),
    DeviceKind("handheld", "handheld[:left|right|tracker]", "handheld gripper: tracker pose + ArUco jaw width",
               _handheld, _handheld_replay),
)})


def device_specs() -> list[str]:
    """How every device can be named (for help texts and errors)."""
    return [k.usage for k in DEVICE_KINDS.values()] + ["replay:FILE"]


def make_device(spec: str, *, realtime: bool = True, **options: Any) -> TeleopDevice:
    """The device named by ``spec`` (not yet connected). ``options`` go to the device: ``store``,
    ``settings``, ``clock``, and per kind ``hid_api`` (spacemouse) or ``camera`` (handheld).
    ``realtime`` applies to ``replay:FILE`` (False: as fast as it can be read)."""
    kind, _, arg = str(spec).partition(":")
    kind = kind.strip().lower()
    if kind == "replay":
        from devices.teleop.stream_files import ReplayTransport

        if not arg:
            raise ValueError("replay needs a file: replay:PATH/TO/stream.jsonl")
        # The device's clock (if given) is also the replay's: recorded times land on that clock.
        transport = ReplayTransport(arg, realtime=realtime, clock=options.get("clock", time.monotonic))
        recorded = DEVICE_KINDS.get(transport.header["device"])
        if recorded is None:
            raise ValueError(f"{arg} records an unknown device {transport.header['device']!r}")
        options.pop("hid_api", None)
        return recorded.replay(transport, transport.header, **options)
    entry = DEVICE_KINDS.get(kind)
    if entry is None:
        raise ValueError(f"unknown device {spec!r}: choose one of {', '.join(device_specs())}")
    return entry.build(arg or None, **options)


def _no_arg(kind: str, arg: str | None) -> None:
    if arg:
        raise ValueError(f"{kind} takes no argument, got {kind}:{arg}")
