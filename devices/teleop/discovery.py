"""What teleop devices this machine has, each with a one-line status — for lab set-up.

Nothing is opened or started here: HID devices are enumerated, the OpenXR runtime manifest is
looked up, haptic SDK libraries are searched for. Each kind's probe is registered by name.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Callable

from devices.teleop.errors import DeviceUnavailable

CONNECTED = "connected"  # the hardware is there
AVAILABLE = "available"  # the software is there; the hardware is not checked (or always present)
NOT_FOUND = "not found"  # the software is there, the hardware is not
UNAVAILABLE = "unavailable"  # a library or runtime is missing


@dataclass(frozen=True)
class DeviceListing:
    kind: str
    spec: str  # what to pass to --device / make_device
    name: str
    status: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _keyboard(**_: Any) -> list[DeviceListing]:
    return [DeviceListing("keyboard", "keyboard", "keyboard", AVAILABLE, "always available")]


def hid_setup(hid_api: Any = None) -> dict[str, str]:
    """Which hidapi backend SpaceMice are read through and where the shipped udev rules file is."""
    from devices.teleop.spacemouse import UDEV_RULES, _hid_module, backend_name

    try:
        backend = backend_name(hid_api or _hid_module())
    except DeviceUnavailable:
        backend = "none"
    return {"backend": backend, "udev_rules": str(UDEV_RULES)}


def _spacemouse(hid_api: Any = None, **_: Any) -> list[DeviceListing]:
    from devices.teleop.spacemouse import (
        KNOWN_MODELS,
        _hid_module,
        access_hint,
        backend_name,
        device_file,
        find_spacemice,
        ignored_3dconnexion,
    )

    try:
        hid_api = hid_api or _hid_module()
        backend = backend_name(hid_api)
        found = find_spacemice(hid_api)
        ignored = ignored_3dconnexion(hid_api)
    except DeviceUnavailable as exc:
        return [DeviceListing("spacemouse", "spacemouse", "SpaceMouse", UNAVAILABLE, str(exc))]
    except OSError as exc:  # enumeration itself failed (libusb without access to /dev/bus/usb)
        return [DeviceListing("spacemouse", "spacemouse", "SpaceMouse", UNAVAILABLE,
                              f"HID enumeration failed ({exc})")]
    not_ours = f"; not SpaceMice, ignored: {', '.join(ignored)}" if ignored else ""
    if not found:
        return [DeviceListing("spacemouse", "spacemouse", "SpaceMouse", NOT_FOUND,
                              f"no SpaceMouse connected ({backend} backend, {len(KNOWN_MODELS)} models known{not_ours})")]
    out = []
    for model, info in found:
        path = device_file(info)
        ids = f"{model.vendor_id:04x}:{model.product_id:04x}"
        layout = "combined 6-axis report" if model.combined_report else "separate reports"
        message = f"{ids} at {path} ({backend} backend), {layout}{not_ours}"
        if path.startswith("/dev/") and os.path.exists(path) and not os.access(path, os.R_OK | os.W_OK):
            message += f"; {path} is not readable and writable by you: {access_hint(backend)}"
        out.append(DeviceListing("spacemouse", f"spacemouse:{ids}", model.name, CONNECTED, message))
    return out


def _openxr(**_: Any) -> list[DeviceListing]:
    from devices.teleop.openxr_adapter import runtime_status

    ok, message = runtime_status()
    status = AVAILABLE if ok else UNAVAILABLE
    return [DeviceListing("openxr", "openxr", "VR controller (OpenXR)", status, message),
            DeviceListing("handheld", "handheld", "handheld gripper (OpenXR tracker + wrist camera)", status,
                          ("tracker via " + message + "; needs the wrist camera that sees the finger markers")
                          if ok else message)]


def _haptic(**_: Any) -> list[DeviceListing]:
    from devices.teleop.haptic_backends import HAPTIC_BACKENDS

    out = []
    for name, cls in HAPTIC_BACKENDS.items():
        lib = cls.library()
        title = "3D Systems Touch (OpenHaptics)" if name == "openhaptics" else "Force Dimension (DHD)"
        if lib is None:
            out.append(DeviceListing("haptic", f"haptic:{name}", title, UNAVAILABLE, cls.missing_message()))
        else:
            out.append(DeviceListing("haptic", f"haptic:{name}", title, AVAILABLE,
                                     f"library {lib}; the device itself is checked when it is opened"))
    return out


PROBES: dict[str, Callable[..., list[DeviceListing]]] = {
    "keyboard": _keyboard, "spacemouse": _spacemouse, "openxr": _openxr, "haptic": _haptic,
}


def list_devices(**options: Any) -> list[DeviceListing]:
    """Every device kind's listing (``hid_api`` may be injected for tests)."""
    return [listing for probe in PROBES.values() for listing in probe(**options)]
