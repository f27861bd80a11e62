"""The input devices the Station panel lists: name, connect / disconnect, live status, an agent.

Each entry adapts one way of commanding the robot to the station worker's agent interface and
reports what the operator needs to see: connected or not, the rate at which it delivers commands,
and the last error. Entries are registered by kind, never picked by an if/elif ladder.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from app.gui.station_worker import KeyboardTeleop, StationWorker


@dataclass
class DeviceStatus:
    connected: bool
    rate_hz: float = 0.0
    last_error: str = ""
    detail: str = ""


class InputDevice:
    """Base of a listed device. ``agent()`` is what the station worker drives the robot with."""

    kind = "device"

    def __init__(self, name: str) -> None:
        self.name = name
        self.last_error = ""
        self._ticks: deque[float] = deque(maxlen=30)

    def connect(self) -> None:
        raise RuntimeError(f"{self.name} cannot be connected from here")

    def disconnect(self) -> None:
        pass

    @property
    def is_connected(self) -> bool:
        return False

    def agent(self):
        raise RuntimeError(f"{self.name} has no agent")

    def note_command(self) -> None:
        self._ticks.append(time.monotonic())

    def rate_hz(self) -> float:
        t = [x for x in self._ticks if time.monotonic() - x < 3.0]
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 0.0

    def status(self) -> DeviceStatus:
        return DeviceStatus(self.is_connected, self.rate_hz(), self.last_error)


class _CountingAgent:
    """Wraps an agent so the device's command rate is measured where commands are produced."""

    def __init__(self, inner, device: InputDevice) -> None:
        self._inner = inner
        self._device = device
        self.name = inner.name
        self.uses_cameras = getattr(inner, "uses_cameras", False)

    def reset(self, station, seed: int) -> None:
        self._inner.reset(station, seed)

    def act(self, station):
        self._device.note_command()
        return self._inner.act(station)

    def follow(self, applied) -> None:
        follow = getattr(self._inner, "follow", None)
        if follow is not None:
            follow(applied)


class KeyboardDevice(InputDevice):
    """The computer keyboard: always present, nothing to open."""

    kind = "keyboard"

    def __init__(self, teleop: KeyboardTeleop) -> None:
        super().__init__("Keyboard")
        self.teleop = teleop
        self._connected = True
        self._agent = _CountingAgent(teleop, self)

    def connect(self) -> None:
        self._connected = True

    def disconnect(self) -> None:
        self._connected = False

    @property
    def is_connected(self) -> bool:
        return self._connected

    def agent(self):
        if not self._connected:
            raise RuntimeError("connect the keyboard first")
        return self._agent

    def status(self) -> DeviceStatus:
        return DeviceStatus(self._connected, self.rate_hz(), self.last_error, "W A S D · R F · Q E · Space")


DeviceFactory = Callable[[StationWorker], list[InputDevice]]


@dataclass
class DeviceCatalog:
    """Factories by kind; each returns the devices of that kind present right now."""

    factories: dict[str, DeviceFactory] = field(default_factory=dict)

    def register(self, kind: str, factory: DeviceFactory) -> None:
        self.factories[kind] = factory

    def discover(self, worker: StationWorker) -> list[InputDevice]:
        found: list[InputDevice] = []
        for kind, factory in self.factories.items():
            try:
                found.extend(factory(worker))
            except Exception as exc:  # one broken driver must not hide the others
                broken = InputDevice(f"{kind} (unavailable)")
                broken.last_error = f"{type(exc).__name__}: {exc}"
                found.append(broken)
        return found


def default_catalog() -> DeviceCatalog:
    catalog = DeviceCatalog()
    catalog.register("keyboard", lambda worker: [KeyboardDevice(worker.keyboard)])
    return catalog
