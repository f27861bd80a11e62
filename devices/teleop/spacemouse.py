"""3Dconnexion SpaceMouse over HID (the ``hidapi`` wheel): models, report parsing, hot-plug.

Backend: on Linux the wheel's ``hidraw`` module (hidapi's hidraw backend: reads ``/dev/hidraw*``,
fills each interface's HID usage page and usage, sees Bluetooth models, leaves the kernel driver
attached); its ``hid`` module is the libusb backend, used only when ``hidraw`` is missing. Elsewhere
``hid`` is the platform's own HID API. Both modules have the same API.

Vendor and product ids were looked up in public driver code (no code copied):
FreeSpacenav/spacenavd ``src/dev.c`` (the 0x046d list), janoc/libndofdev ``README.md`` (the 0x256f
wireless ids, cable vs receiver), and JakubAndrysek/PySpaceMouse ``pyspacemouse/devices.toml``
(Compact, Enterprise, Pro Wireless Bluetooth, the new Wireless, the Universal Receiver 0xc652, and
which models send translation and rotation in one report). Only listed models count: 3Dconnexion
also sells CadMice, keyboards and numpads under vendor 0x256f, and a receiver shows mouse and
keyboard interfaces beside its multi-axis one. Button bit positions are from devices.toml.

Report layouts (USB HID input reports, little-endian signed 16-bit axes, about ±350 at full
deflection):

* separate reports (older and wired models): id 1 = tx, ty, tz (7 bytes); id 2 = rx, ry, rz
  (7 bytes); id 3 = button bitmask (bit i = button i).
* combined report (wireless models and the universal receiver): id 1 = tx, ty, tz, rx, ry, rz
  (13 bytes); id 3 = buttons as above.

The parser tells them apart by the length of report 1, so an unlisted model works too. Raw HID axes
follow the USB HID Usage Tables (Generic Desktop X/Y/Z/Rx/Ry/Rz, usages 0x30-0x35): X increases
from left to right, Y from far to near (toward the user), Z from high to low (down), a right-handed
frame with rotations by the right-hand rule about those axes. The operator frame (x right, y away,
z up) is that frame turned half a turn about x, so y, z, ry and rz change sign (pyspacemouse calls
this convention ``hid_z_up``; tests/test_spacemouse_oracle.py checks it against its decoder).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from devices.teleop.command import ButtonAction, DeviceSample, MotionMode, RawEvent
from devices.teleop.device import CommandParts, TeleopDevice, Transport
from devices.teleop.errors import DeviceLost, DeviceUnavailable, MalformedInput
from devices.teleop.settings import ClutchMode, DeviceSettings, MapperSettings

VENDOR_LOGITECH = 0x046D  # 3Dconnexion was a Logitech company; older models use its vendor id
VENDOR_3DCONNEXION = 0x256F
AXIS_FULL_SCALE = 350.0  # raw counts at full deflection (as spacenavd and pyspacemouse scale)

REPORT_TRANSLATION = 1
REPORT_ROTATION = 2
REPORT_BUTTONS = 3

# Raw HID axes (x right, y toward the user, z down; rotations right-handed about them) → operator
# frame (x right, y away, z up): a half turn about x, so y, z and the rotations about them flip.
_HID_TO_OPERATOR = np.array([1.0, -1.0, -1.0, 1.0, -1.0, -1.0])

# Button names by bit index. Two-button models: left, right. The Pro family (Pro, Pro Wireless,
# Enterprise, Universal Receiver): bits from pyspacemouse's devices.toml ([report, byte, bit] →
# 8 * (byte - 1) + bit).
_TWO_BUTTONS = ("left", "right")
_PRO_BUTTONS = {0: "menu", 1: "fit", 2: "top", 4: "rear", 5: "front", 8: "roll_cw", 12: "1", 13: "2",
                14: "3", 15: "4", 22: "esc", 23: "alt", 24: "shift", 25: "ctrl", 26: "rotation"}
_ENTERPRISE_BUTTONS = {**_PRO_BUTTONS, 10: "iso1", 16: "5", 17: "6", 18: "7", 19: "8", 20: "9", 21: "10"}


@dataclass(frozen=True)
class SpaceMouseModel:
    vendor_id: int
    product_id: int
    name: str
    combined_report: bool  # translation and rotation in one 13-byte report 1
    buttons: dict[int, str]

    @property
    def key(self) -> str:
        return f"spacemouse/{self.vendor_id:04x}:{self.product_id:04x}"


def _m(vid: int, pid: int, name: str, combined: bool, buttons: Any = _TWO_BUTTONS) -> SpaceMouseModel:
    names = dict(enumerate(buttons)) if isinstance(buttons, tuple) else dict(buttons)
    return SpaceMouseModel(vid, pid, f"3Dconnexion {name}", combined, names)


_EXPLORER_BUTTONS = {0: "1", 1: "2", 2: "t", 3: "l", 4: "r", 5: "f", 6: "esc", 7: "alt", 8: "shift", 9: "ctrl",
                     10: "fit", 11: "panel", 12: "plus", 13: "minus", 14: "2d"}
_PILOT_BUTTONS = {0: "1", 1: "2", 2: "3", 3: "4", 4: "5", 5: "6", 6: "t", 7: "l", 8: "r", 9: "f", 10: "esc",
                  11: "alt", 12: "shift", 13: "ctrl", 14: "fit", 15: "panel", 16: "zoom_minus", 17: "zoom_plus",
                  18: "dominant", 19: "lock_3d", 20: "config"}
_PILOT_PRO_BUTTONS = {0: "menu", 1: "fit", 2: "top", 4: "rear", 5: "front", 8: "roll_cw", 10: "iso", 14: "3",
                      15: "4", 16: "5", 17: "1", 18: "2", 22: "esc", 23: "alt", 24: "shift", 25: "ctrl",
                      26: "rotation", 27: "pan_zoom", 28: "dominant", 29: "plus", 30: "minus"}

KNOWN_MODELS: dict[tuple[int, int], SpaceMouseModel] = {(m.vendor_id, m.product_id): m for m in (
    _m(VENDOR_LOGITECH, 0xC603, "SpaceMouse Plus XT", False),
    _m(VENDOR_LOGITECH, 0xC605, "CadMan", False),
    _m(VENDOR_LOGITECH, 0xC606, "SpaceMouse Classic", False),
    _m(VENDOR_LOGITECH, 0xC621, "SpaceBall 5000", False),
    _m(VENDOR_LOGITECH, 0xC623, "SpaceTraveler", False),
    _m(VENDOR_LOGITECH, 0xC625, "SpacePilot", False, _PILOT_BUTTONS),
    _m(VENDOR_LOGITECH, 0xC626, "SpaceNavigator", False),
    _m(VENDOR_LOGITECH, 0xC627, "SpaceExplorer", False, _EXPLORER_BUTTONS),
    _m(VENDOR_LOGITECH, 0xC628, "SpaceNavigator for Notebooks", False),
    _m(VENDOR_LOGITECH, 0xC629, "SpacePilot Pro", False, _PILOT_PRO_BUTTONS),
    _m(VENDOR_LOGITECH, 0xC62B, "SpaceMouse Pro", False, _PRO_BUTTONS),
    _m(VENDOR_3DCONNEXION, 0xC62E, "SpaceMouse Wireless (cable)", True),
    _m(VENDOR_3DCONNEXION, 0xC62F, "SpaceMouse Wireless (receiver)", True),
    _m(VENDOR_3DCONNEXION, 0xC631, "SpaceMouse Pro Wireless (cable)", True, _PRO_BUTTONS),
    _m(VENDOR_3DCONNEXION, 0xC632, "SpaceMouse Pro Wireless (receiver)", True, _PRO_BUTTONS),
    _m(VENDOR_3DCONNEXION, 0xC633, "SpaceMouse Enterprise", True, _ENTERPRISE_BUTTONS),
    _m(VENDOR_3DCONNEXION, 0xC635, "SpaceMouse Compact", False),
    _m(VENDOR_3DCONNEXION, 0xC638, "SpaceMouse Pro Wireless (Bluetooth edition)", True, _PRO_BUTTONS),
    _m(VENDOR_3DCONNEXION, 0xC63A, "SpaceMouse Wireless (Bluetooth edition)", True),
    _m(VENDOR_3DCONNEXION, 0xC641, "SpaceMouse (USB)", False),
    _m(VENDOR_3DCONNEXION, 0xC652, "Universal Receiver", True, _PRO_BUTTONS),
)}


def identify(vendor_id: int, product_id: int) -> SpaceMouseModel | None:
    """The SpaceMouse model of a HID device, or None if it is not a listed one.

    Not every 3Dconnexion id is a SpaceMouse (CadMouse, keyboards, numpads share vendor 0x256f), so
    only the model table counts.
    """
    return KNOWN_MODELS.get((vendor_id, product_id))


# -- parsing ---------------------------------------------------------------------------------------

class SpaceMouseParser:
    """Turns HID input reports into six axes and held buttons; the state a stream of reports builds."""

    def __init__(self, model: SpaceMouseModel) -> None:
        self.model = model
        self.raw_axes = np.zeros(6)  # tx, ty, tz, rx, ry, rz as the device reports them
        self.button_mask = 0

    def reset(self) -> None:
        self.raw_axes[:] = 0.0
        self.button_mask = 0

    def feed(self, report: bytes) -> bool:
        """Apply one report; True if it changed motion or buttons, False for reports we ignore
        (LED, battery, ...). ``MalformedInput`` for a motion/button report that is too short."""
        if not report:
            raise MalformedInput("empty HID report")
        rid = report[0]
        if rid == REPORT_TRANSLATION:
            if len(report) >= 13:
                self.raw_axes[:] = _int16s(report, 6)
            elif len(report) >= 7:
                self.raw_axes[:3] = _int16s(report, 3)
            else:
                raise MalformedInput(f"translation report of {len(report)} bytes (need 7 or 13)")
            return True
        if rid == REPORT_ROTATION:
            if len(report) < 7:
                raise MalformedInput(f"rotation report of {len(report)} bytes (need 7)")
            self.raw_axes[3:] = _int16s(report, 3)
            return True
        if rid == REPORT_BUTTONS:
            if len(report) < 2:
                raise MalformedInput("button report without a bitmask")
            self.button_mask = int.from_bytes(report[1:], "little")
            return True
        return False

    @property
    def twist(self) -> np.ndarray:
        """Operator-frame twist, each axis in [-1, 1] of full deflection."""
        return np.clip(self.raw_axes * _HID_TO_OPERATOR / AXIS_FULL_SCALE, -1.0, 1.0)

    @property
    def buttons(self) -> frozenset[str]:
        mask, names, held = self.button_mask, self.model.buttons, set()
        bit = 0
        while mask:
            if mask & 1:
                held.add(names.get(bit, f"button{bit}"))
            mask >>= 1
            bit += 1
        return frozenset(held)


def _int16s(report: bytes, n: int) -> np.ndarray:
    return np.frombuffer(bytes(report[1:1 + 2 * n]), dtype="<i2").astype(float)


def encode_reports(model: SpaceMouseModel, axes: Iterable[float], button_mask: int | None = None) -> list[bytes]:
    """The HID reports a model sends for raw ``axes`` (tx..rz counts) and optional buttons.

    The inverse of ``SpaceMouseParser``: byte-exact reports for tests, benchmarks and the shipped
    demo stream (the separate layout sends reports 1 and 2, the combined layout one report 1).
    """
    a = np.clip(np.round(np.asarray(list(axes), dtype=float)), -32768, 32767).astype("<i2")
    if a.shape != (6,):
        raise ValueError(f"need 6 axes, got {a.shape}")
    if model.combined_report:
        reports = [bytes([REPORT_TRANSLATION]) + a.tobytes()]
    else:
        reports = [bytes([REPORT_TRANSLATION]) + a[:3].tobytes(), bytes([REPORT_ROTATION]) + a[3:].tobytes()]
    if button_mask is not None:
        n = max(2, max(model.buttons, default=0) // 8 + 1)  # 2 bytes as a SpaceNavigator sends ("03 01 00")
        reports.append(bytes([REPORT_BUTTONS]) + int(button_mask).to_bytes(n, "little"))
    return reports


def operator_twist_to_raw(twist: Iterable[float]) -> np.ndarray:
    """Raw counts that parse back to an operator-frame ``twist`` (for synthetic streams)."""
    return np.asarray(list(twist), dtype=float) * _HID_TO_OPERATOR * AXIS_FULL_SCALE


# -- the HID edge ------------------------------------------------------------------------------------

USAGE_PAGE_GENERIC_DESKTOP = 0x01
USAGE_MULTI_AXIS_CONTROLLER = 0x08
UDEV_RULES = Path(__file__).resolve().parent / "udev" / "70-demostation-spacemouse.rules"


def backend_name(hid_api: Any) -> str:
    """Which hidapi backend a ``hid``/``hidraw`` module is: ``hidraw``, ``libusb`` or ``native``."""
    name = getattr(hid_api, "__name__", "")
    if name == "hidraw":
        return "hidraw"
    return "libusb" if sys.platform.startswith("linux") else "native"


def access_hint(backend: str) -> str:
    """What to check when a SpaceMouse cannot be seen or opened with ``backend`` (one line)."""
    if backend == "hidraw":
        return (f"check read access to /dev/hidraw* (install the udev rule: sudo cp {UDEV_RULES} "
                "/etc/udev/rules.d/ && sudo udevadm control --reload && sudo udevadm trigger)")
    if backend == "libusb":
        return ("the libusb backend needs write access to /dev/bus/usb/* and detaches the kernel driver; "
                "install hidapi's hidraw module (pip install hidapi) to read /dev/hidraw* instead")
    return "check that no other program holds the device exclusively"


def _hid_module() -> Any:
    """hidapi's hidraw backend on Linux (the libusb one only if hidraw is missing), else ``hid``."""
    errors = []
    names = ("hidraw", "hid") if sys.platform.startswith("linux") else ("hid",)
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError as exc:  # the hidapi wheel or the system libhidapi is missing
            errors.append(f"{name}: {exc}")
    raise DeviceUnavailable(f"hidapi is not usable ({'; '.join(errors)}): pip install hidapi")


def is_multi_axis(info: dict[str, Any]) -> bool:
    """True for the Generic Desktop / Multi-axis Controller interface (HID usage page 0x01, usage 0x08)."""
    return (info.get("usage_page"), info.get("usage")) == (USAGE_PAGE_GENERIC_DESKTOP, USAGE_MULTI_AXIS_CONTROLLER)


def _usage_known(info: dict[str, Any]) -> bool:
    return bool(info.get("usage_page") or info.get("usage"))


def find_spacemice(hid_api: Any = None) -> list[tuple[SpaceMouseModel, dict[str, Any]]]:
    """Connected SpaceMice as (model, hid enumeration entry): one entry per device, its multi-axis
    interface.

    A universal receiver or a Pro model shows several HID interfaces (mouse, keyboard, consumer
    control); only the Generic Desktop / Multi-axis Controller one carries the motion reports. An
    interface whose usage is known and is something else is never taken; one without usage
    information (the libusb backend leaves it empty) is taken only when nothing better is listed.
    """
    hid_api = hid_api or _hid_module()
    found = []
    for info in hid_api.enumerate(0, 0):
        model = identify(int(info.get("vendor_id", 0)), int(info.get("product_id", 0)))
        if model is not None and (is_multi_axis(info) or not _usage_known(info)):
            found.append((model, info))
    found.sort(key=lambda mi: (not is_multi_axis(mi[1]), mi[0].vendor_id, mi[0].product_id,
                               str(mi[1].get("path", b""))))
    seen, unique = set(), []
    for model, info in found:  # one entry per physical device (by serial): its multi-axis interface
        ident = (model.vendor_id, model.product_id, info.get("serial_number") or info.get("path"))
        if ident not in seen:
            seen.add(ident)
            unique.append((model, info))
    return unique


def ignored_3dconnexion(hid_api: Any) -> list[str]:
    """``vvvv:pppp`` of connected 3Dconnexion-vendor HID devices that are not SpaceMice (CadMouse,
    keyboard, numpad), for the listing's message."""
    ids = {(int(i.get("vendor_id", 0)), int(i.get("product_id", 0))) for i in hid_api.enumerate(0, 0)}
    return sorted(f"{v:04x}:{p:04x}" for v, p in ids if v == VENDOR_3DCONNEXION and identify(v, p) is None)


def device_file(info: dict[str, Any]) -> str:
    """The enumeration entry's path as text (``/dev/hidraw3`` on hidraw, ``1-2:1.0`` on libusb)."""
    path = info.get("path", b"")
    return path.decode(errors="replace") if isinstance(path, bytes) else str(path)


class HidTransport(Transport):
    """Reads HID input reports from one SpaceMouse through an ``hid.device`` handle.

    ``hid_api`` is the ``hid`` module (injectable: tests pass a stand-in whose ``device()`` handle
    serves byte reports). ``model`` pins which model to open; by default the first one found.
    """

    def __init__(self, model: SpaceMouseModel | None = None, *, hid_api: Any = None, clock=time.monotonic) -> None:
        self.model = model
        self._hid_api = hid_api
        self._clock = clock
        self._handle: Any = None
        self.backend = ""  # which hidapi backend opened it, once open
        self.device_file = ""

    def open(self) -> None:
        hid_api = self._hid_api or _hid_module()
        backend = backend_name(hid_api)
        try:
            found = find_spacemice(hid_api)
        except (OSError, IOError) as exc:  # libusb without access to /dev/bus/usb, a hidraw node gone mid-scan
            raise DeviceUnavailable(f"HID enumeration failed ({exc}, {backend} backend): {access_hint(backend)}") from None
        candidates = [(m, i) for m, i in found
                      if self.model is None or (m.vendor_id, m.product_id) == (self.model.vendor_id, self.model.product_id)]
        if not candidates:
            what = self.model.name if self.model else "SpaceMouse"
            raise DeviceUnavailable(f"no {what} found ({backend} backend): plug it in (or its receiver) and "
                                    + access_hint(backend))
        model, info = candidates[0]
        handle = hid_api.device()
        try:
            handle.open_path(info["path"])
        except (OSError, IOError, ValueError) as exc:
            raise DeviceUnavailable(f"cannot open {model.name} at {device_file(info)} ({exc}, {backend} backend): "
                                    "another program may hold it, or " + access_hint(backend)) from None
        self.model = model
        self.backend = backend
        self.device_file = device_file(info)
        self._handle = handle

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError, IOError):  # unplugged: nothing to release
                handle.close()

    def read(self, timeout: float) -> RawEvent | None:
        if self._handle is None:
            raise DeviceLost("not open")
        try:
            data = self._handle.read(64, max(1, int(timeout * 1000)))
        except (OSError, IOError, ValueError) as exc:
            raise DeviceLost(f"HID read failed: {exc}") from None
        if not data:
            return None
        return RawEvent(self._clock(), "hid", bytes(data))

    def describe(self) -> dict[str, Any]:
        if self.model is None:
            return {}
        return {"vendor_id": self.model.vendor_id, "product_id": self.model.product_id}


# -- the device ----------------------------------------------------------------------------------------

class SpaceMouseDevice(TeleopDevice):
    """A SpaceMouse as a rate (delta) device: deflection is velocity; buttons map to actions."""

    kind = "spacemouse"
    mode = MotionMode.DELTA

    def __init__(self, transport: Transport, *, model: SpaceMouseModel | None = None, **kwargs: Any) -> None:
        super().__init__(transport, **kwargs)
        self._fixed_model = model
        self._parser: SpaceMouseParser | None = None

    @property
    def spacemouse_model(self) -> SpaceMouseModel:
        model = self._fixed_model or getattr(self._transport, "model", None)
        return model or KNOWN_MODELS[(VENDOR_3DCONNEXION, 0xC635)]

    @property
    def name(self) -> str:
        return self.spacemouse_model.name

    @property
    def model(self) -> str:
        return self.spacemouse_model.key

    def default_settings(self) -> DeviceSettings:
        names = set(self.spacemouse_model.buttons.values())
        if {"1", "2", "3", "4"} <= names:
            buttons = {"1": ButtonAction.RECORD, "2": ButtonAction.STOP, "3": ButtonAction.DISCARD,
                       "4": ButtonAction.MARK_RECOVERY, "fit": ButtonAction.GRIPPER_TOGGLE,
                       "menu": ButtonAction.CLUTCH_TOGGLE}
        else:
            buttons = {"left": ButtonAction.GRIPPER_TOGGLE, "right": ButtonAction.RECORD_TOGGLE}
        return DeviceSettings(mapper=MapperSettings(translation_scale=0.15, rotation_scale=0.8, deadzone=0.08,
                                                    clutch=ClutchMode.ALWAYS), buttons=buttons)

    def _reset_parser(self) -> None:
        self._parser = SpaceMouseParser(self.spacemouse_model)

    def _parse(self, event: RawEvent) -> DeviceSample | None:
        if event.kind != "hid":
            raise MalformedInput(f"a SpaceMouse reads HID reports, got {event.kind!r}")
        if self._parser is None or self._parser.model is not self.spacemouse_model:
            self._reset_parser()
        assert self._parser is not None
        if not self._parser.feed(event.data):
            return None
        return DeviceSample(time=event.time, seq=0, twist=self._parser.twist, buttons=self._parser.buttons)

    def _interpret(self, sample: DeviceSample) -> CommandParts:
        return CommandParts(twist=sample.twist)


def make_spacemouse(*, hid_api: Any = None, model: SpaceMouseModel | None = None, **kwargs: Any) -> SpaceMouseDevice:
    """A SpaceMouse device on the first connected model (or ``model``)."""
    return SpaceMouseDevice(HidTransport(model, hid_api=hid_api), **kwargs)
