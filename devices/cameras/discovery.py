"""What cameras are plugged in: RealSense serials and /dev/video* UVC nodes, one status line each.

Listing never opens a device unless asked to probe: opening a camera another program is using can
disturb it. A probe opens the device through the same camera class the recorder would use, waits
a moment and reports that camera's own status line (fps measured, drops, last error).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from devices.camera import Camera, CameraError


@dataclass(frozen=True)
class AvailableCamera:
    kind: str  # "realsense" or "uvc": the registry kind that opens it
    id: str  # serial number or device path
    name: str
    status: str  # one line

    def as_dict(self) -> dict:
        return asdict(self)


def list_uvc_devices(dev_dir: str | Path = "/dev", sysfs_dir: str | Path = "/sys/class/video4linux") -> list[AvailableCamera]:
    """Every /dev/videoN with its driver name; metadata nodes and unreadable nodes say so."""
    dev_dir, sysfs_dir = Path(dev_dir), Path(sysfs_dir)
    nodes = sorted((p for p in dev_dir.glob("video*") if re.fullmatch(r"video\d+", p.name)),
                   key=lambda p: int(p.name[5:]))
    found = []
    for node in nodes:
        info = sysfs_dir / node.name
        name = _read(info / "name") or "unknown device"
        index = _read(info / "index")
        if index not in ("", "0"):
            status = f"metadata or secondary node (index {index}), not a picture stream"
        elif not os.access(node, os.R_OK | os.W_OK):
            status = "no permission: add your user to the 'video' group"
        else:
            status = "present"
        found.append(AvailableCamera("uvc", str(node), name, status))
    return found


def list_realsense(list_devices: Callable[[], list] | None = None) -> list[AvailableCamera]:
    """RealSense cameras by serial; an SDK failure becomes one entry saying so."""
    try:
        if list_devices is None:
            from devices.cameras.realsense import list_realsense_devices as list_devices
        devices = list_devices()
    except Exception as exc:  # noqa: BLE001 - a missing or broken SDK is a status, not a crash
        return [AvailableCamera("realsense", "", "RealSense SDK", f"error: {' '.join(str(exc).split())}")]
    return [AvailableCamera("realsense", d.serial, d.name, f"present ({d.line()})") for d in devices]


def probe_available(camera: AvailableCamera, seconds: float = 1.0) -> str:
    """Probe a listed device through the registry's camera class for its kind (96x96 output)."""
    from devices.cameras.config import CameraConfig
    from devices.cameras.registry import build_camera

    if camera.status != "present" and not camera.status.startswith("present ("):
        return camera.status
    option = {"device": camera.id} if camera.kind == "uvc" else {"serial": camera.id}
    return probe(build_camera(CameraConfig(name=f"probe-{camera.kind}", kind=camera.kind, options=option)), seconds)


def probe(camera: Camera, seconds: float = 1.0) -> str:
    """Open ``camera``, let it stream for ``seconds`` and return its one-line status."""
    try:
        camera.connect()
    except (CameraError, OSError, ValueError) as exc:
        return f"error: {' '.join(str(exc).split())}"
    try:
        time.sleep(seconds)
        status = camera.status()
        frame = camera.read_latest()
        size = f"{frame.image.shape[1]}x{frame.image.shape[0]}, " if frame is not None else ""
        return size + status.line()
    finally:
        camera.disconnect()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""
