"""The input devices the Station panel lists: what this machine has, connect / disconnect, status.

Listings come from `devices.teleop.discovery.list_devices` (HID enumeration, OpenXR runtime,
haptic SDKs — nothing is opened to list them), plus the recorded SpaceMouse demo stream so a device
can be tried without hardware. Connecting builds the device by its spec (`make_device`), and its
agent drives the live station through the same mapper every device uses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.gui.station_worker import StationWorker
from app.gui.teleop_agent import DeviceAgent
from app.gui.theme import ASSETS
from devices.teleop.command import DeviceStatus as TeleopStatus
from devices.teleop.device import TeleopDevice
from devices.teleop.discovery import CONNECTED, NOT_FOUND, UNAVAILABLE, DeviceListing, list_devices
from devices.teleop.registry import make_device
from devices.teleop.settings import MapperSettings, SettingsStore

DEMO_STREAM = ASSETS / "teleop" / "spacemouse_demo.jsonl"


@dataclass
class DeviceRowStatus:
    connected: bool
    state: str  # "ok", "warn", "error", "idle": the colour of the status light
    text: str
    rate_hz: float = 0.0
    last_error: str = ""
    detail: str = ""


class InputDevice:
    """One listed device: its listing, and once connected, the device and its agent."""

    def __init__(self, listing: DeviceListing, worker: StationWorker) -> None:
        self.listing = listing
        self.worker = worker
        self.name = listing.name if listing.kind != "replay" else listing.name
        self.device: TeleopDevice | None = None
        self._agent: DeviceAgent | None = None
        self.last_error = ""
        self._rate_mark: tuple[float, int] | None = None
        self._rate = 0.0

    @property
    def spec(self) -> str:
        return self.listing.spec

    @property
    def available(self) -> bool:
        return self.listing.status not in (NOT_FOUND, UNAVAILABLE)

    def connect(self) -> None:
        """Open the device (slow devices: call from a worker); raises with a one-line message."""
        if self.device is None:
            self.device = make_device(self.spec, store=SettingsStore())  # the saved mapping and axis flips
        self.device.connect()
        self._agent = DeviceAgent(self.device, on_events=self.worker.device_events.emit,
                                  name=self.listing.kind if self.listing.kind != "replay" else "replay")
        self.last_error = ""

    def disconnect(self) -> None:
        if self.device is not None:
            self.device.disconnect()

    @property
    def is_connected(self) -> bool:
        return self.device is not None and self.device.is_connected

    def use_mapper_settings(self, mapper: MapperSettings) -> None:
        """After a flip in the axes view: the agent driving the robot maps with the new settings at
        once (its mapper reads them on every update)."""
        if self._agent is not None:
            self._agent.mapper.settings = mapper

    def agent(self) -> DeviceAgent:
        if self._agent is None or not self.is_connected:
            raise RuntimeError(f"connect {self.name} first")
        return self._agent

    def rate_hz(self) -> float:
        """Samples per second the device delivers (from its sample counter)."""
        if self.device is None or not self.is_connected:
            return 0.0
        latest = self.device.read_latest()
        seq = latest.seq if latest is not None else 0
        now = time.monotonic()
        if self._rate_mark is not None and now - self._rate_mark[0] >= 0.5:
            dt = now - self._rate_mark[0]
            self._rate = max(0.0, (seq - self._rate_mark[1]) / dt)
            self._rate_mark = (now, seq)
        elif self._rate_mark is None:
            self._rate_mark = (now, seq)
        return self._rate

    def status(self) -> DeviceRowStatus:
        if self.last_error:
            return DeviceRowStatus(False, "error", "error", last_error=self.last_error, detail=self.listing.message)
        if not self.is_connected:
            state = "idle" if self.available else "error"
            text = "not connected" if self.available else self.listing.status
            return DeviceRowStatus(False, state, text, detail=self.listing.message)
        dev = self.device
        rate = self.rate_hz()
        if dev.status is TeleopStatus.OK:
            return DeviceRowStatus(True, "ok", f"connected · {rate:.0f} samples/s", rate, detail=dev.message)
        state = "warn" if dev.status is TeleopStatus.LOST else "error"
        return DeviceRowStatus(True, state, f"{dev.status}", rate, last_error=dev.message)


class KeyboardEntry(InputDevice):
    """The keyboard device the station worker owns (the GUI feeds it key events)."""

    def __init__(self, listing: DeviceListing, worker: StationWorker) -> None:
        super().__init__(listing, worker)
        self.name = "Keyboard"
        self.device = worker.keyboard
        self._agent = worker.keyboard_agent

    def connect(self) -> None:
        if not self.device.is_connected:
            self.device.connect()
        self.last_error = ""

    def rate_hz(self) -> float:  # key events arrive only on presses: report the command rate instead
        agent = self._agent
        now = time.monotonic()
        if self._rate_mark is None:
            self._rate_mark = (now, agent.commands)
        elif now - self._rate_mark[0] >= 0.5:
            self._rate = (agent.commands - self._rate_mark[1]) / (now - self._rate_mark[0])
            self._rate_mark = (now, agent.commands)
        return self._rate

    def status(self) -> DeviceRowStatus:
        st = super().status()
        if st.connected and st.state == "ok":
            st.text = f"connected · {self.rate_hz():.0f} commands/s" if self.worker.agent is self._agent else \
                "connected · not driving"
        return st


def discover(worker: StationWorker) -> list[InputDevice]:
    """Every device kind this machine could use, the keyboard first."""
    try:
        listings = list_devices()
    except Exception as exc:  # noqa: BLE001 - discovery itself failing must not hide the keyboard
        listings = [DeviceListing("keyboard", "keyboard", "keyboard", CONNECTED, "always available"),
                    DeviceListing("devices", "", "other devices", UNAVAILABLE, f"{type(exc).__name__}: {exc}")]
    out: list[InputDevice] = []
    for listing in listings:
        out.append(KeyboardEntry(listing, worker) if listing.kind == "keyboard" else InputDevice(listing, worker))
    if DEMO_STREAM.exists():
        out.append(InputDevice(DeviceListing("replay", f"replay:{DEMO_STREAM}", "SpaceMouse demo (recorded stream)",
                                             "available", "a recorded SpaceMouse session, replayed through the "
                                             "real parser and mapper"), worker))
    return out
