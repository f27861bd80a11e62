"""The base every teleoperation device shares: a transport at the edge, a reader thread, snapshots.

A device is two parts. The *transport* is the outermost edge, the only code that touches hardware
(an ``hid.device`` handle, the OpenXR adapter, a haptic SDK, a camera, the GUI's key events) or a
recording of it; it yields ``RawEvent``s. The *device* parses raw events into ``DeviceSample``s and
turns the newest one into a ``TeleopCommand``. Live hardware, a fake handle in a test and a replayed
file all go through the same parsing code, because only the transport differs.

The reader thread owns the transport. When it raises ``DeviceLost`` (a SpaceMouse unplugged
mid-teleop, an OpenXR runtime that went away) the device reports status ``lost`` with a one-line
message — the mapper turns that into a hold and the recorder pauses — and re-opens the transport
every ``reconnect_interval`` seconds until it is back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator

import numpy as np

from devices.teleop.command import (
    ButtonAction,
    DeviceSample,
    DeviceStatus,
    MotionMode,
    RawEvent,
    TeleopCommand,
)
from devices.teleop.errors import DeviceError, DeviceLost, DeviceUnavailable, MalformedInput, StreamEnded
from devices.teleop.settings import DeviceSettings, SettingsStore

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class Transport(ABC):
    """The outermost edge of a device: opens it, reads raw events, closes it."""

    reconnectable: bool = True  # a replayed file is not: at its end there is nothing to re-open
    window_input: bool = False  # its events come from an application window (keys): none without one

    @abstractmethod
    def open(self) -> None:
        """Open the device; raise ``DeviceUnavailable`` with a one-line, actionable message."""

    @abstractmethod
    def close(self) -> None:
        """Release the device. Safe to call twice or after a failed open."""

    @abstractmethod
    def read(self, timeout: float) -> RawEvent | None:
        """The next raw event, or None if none came within ``timeout`` s; ``DeviceLost`` if it is gone."""

    def describe(self) -> dict[str, Any]:
        """What a recording's header needs to rebuild the same device for replay (JSON values)."""
        return {}


@dataclass(frozen=True)
class CommandParts:
    """A device's own reading of a sample (what differs between devices)."""

    pose: np.ndarray | None = None
    twist: np.ndarray | None = None
    gripper: float | None = None
    held: frozenset[ButtonAction] = frozenset()  # actions held by analog controls (e.g. squeeze → clutch)


class TeleopDevice(ABC):
    """Base of every teleoperation device: connect/disconnect, context manager, a background reader
    with a stop event, ``read_latest`` snapshots and ``read_command`` for the mapper.

    ``features`` describes the command stream (names → shapes) and works before ``connect``.
    Settings come from ``settings`` if given, else from ``store`` (the user's settings file) for this
    device model, else the device kind's defaults.
    """

    kind: ClassVar[str] = ""
    mode: ClassVar[MotionMode] = MotionMode.DELTA

    def __init__(self, transport: Transport, *, settings: DeviceSettings | None = None,
                 store: SettingsStore | None = None, clock: Clock = time.monotonic,
                 reconnect_interval: float = 0.5, read_timeout: float = 0.05) -> None:
        self._transport = transport
        self._store = store
        self._explicit_settings = settings
        self._settings = settings
        self._clock = clock
        self._reconnect_interval = reconnect_interval
        self._read_timeout = read_timeout
        self._cond = threading.Condition()
        self._latest: DeviceSample | None = None
        self._seq = 0
        self._pressed: deque[str] = deque(maxlen=64)
        self._status = DeviceStatus.OK
        self._message = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = False
        self._writer: Any = None  # a recording.StreamWriter while recording
        self._stream_problem = ""
        self._malformed = 0

    # -- identity ---------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """Human-readable device name, for messages (``3Dconnexion SpaceMouse Compact``)."""
        return self.kind

    @property
    def model(self) -> str:
        """Key of this device model in the settings file."""
        return self.kind

    @property
    def features(self) -> dict[str, tuple[int, ...]]:
        motion = {"pose": (7,)} if self.mode is MotionMode.ABSOLUTE else {"twist": (6,)}
        return {**motion, "gripper": (1,), "buttons": (len(self.settings.buttons),)}

    @property
    def transport(self) -> Transport:
        return self._transport

    def default_settings(self) -> DeviceSettings:
        """This device model's settings before anyone changed them."""
        return DeviceSettings()

    @property
    def settings(self) -> DeviceSettings:
        if self._settings is None:
            self._settings = self._resolve_settings()
        return self._settings

    def save_settings(self, settings: DeviceSettings) -> None:
        """Use ``settings`` from now on and persist them for this device model."""
        (self._store or SettingsStore()).save(self.model, settings)
        self._settings = settings

    def _resolve_settings(self) -> DeviceSettings:
        if self._explicit_settings is not None:
            return self._explicit_settings
        defaults = self.default_settings()
        return self._store.load(self.model, defaults) if self._store is not None else defaults

    # -- lifecycle --------------------------------------------------------------------------------
    def connect(self) -> None:
        """Open the device and start reading; ``DeviceUnavailable`` (one line) if it is not there."""
        if self._connected:
            return
        self._transport.open()  # first: some devices learn their model (the settings key) by opening
        try:
            self._settings = self._resolve_settings()
        except BaseException:  # e.g. a corrupt settings file: release the device, say it in one line
            self._transport.close()
            raise
        self._reset_parser()
        self._stop.clear()
        with self._cond:
            self._status, self._message = DeviceStatus.OK, ""
            self._latest = self._neutral_sample(self._clock())
        self._connected = True
        self._thread = threading.Thread(target=self._run, name=f"teleop-{self.kind}", daemon=True)
        self._thread.start()

    def disconnect(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        self._transport.close()
        try:
            self.stop_recording()
        except OSError as exc:  # the stream file could not be finished (full disk): say so, still disconnect
            self._stream_problem = f"recording of the {self.name} stream ended badly: {_one_line(exc)}"
        self._connected = False

    @property
    def is_connected(self) -> bool:
        return self._connected

    def __enter__(self) -> "TeleopDevice":
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    # -- snapshots --------------------------------------------------------------------------------
    @property
    def status(self) -> DeviceStatus:
        return self._status

    @property
    def message(self) -> str:
        return self._message

    @property
    def malformed_reports(self) -> int:
        """How many raw events could not be parsed (skipped, never fatal on a live device)."""
        return self._malformed

    def read_latest(self) -> DeviceSample | None:
        """The newest parsed sample (a snapshot; does not consume button presses)."""
        with self._cond:
            return self._latest

    def wait_for_sample(self, after_seq: int, timeout: float) -> bool:
        """Block until a sample newer than ``after_seq`` exists (True) or ``timeout`` passes (False).

        Lets an event-driven consumer react to a device event within microseconds instead of
        waiting for its next polling tick.
        """
        with self._cond:
            return self._cond.wait_for(lambda: self._seq > after_seq or self._stop.is_set(), timeout) \
                and self._seq > after_seq

    def read_command(self) -> TeleopCommand:
        """The device's command now; consumes the button presses seen since the previous call."""
        return self._command(consume=True)

    def peek_command(self) -> TeleopCommand:
        """The device's command now without consuming button presses: for a view (the axes display)
        that must not take a press away from the mapper that acts on it."""
        return self._command(consume=False)

    def _command(self, consume: bool) -> TeleopCommand:
        with self._cond:
            sample = self._latest
            pressed_names = list(self._pressed)
            if consume:
                self._pressed.clear()
            status, message = self._status, self._message
        if sample is None:
            sample = self._neutral_sample(self._clock())
        buttons = self.settings.buttons
        parts = self._interpret(sample)
        held = frozenset(buttons[b] for b in sample.buttons if b in buttons) | parts.held
        pressed = tuple(buttons[b] for b in pressed_names if b in buttons)
        if status is DeviceStatus.OK and not message:
            message = self._stream_problem or self._notice()
            if not message and self._malformed:
                message = f"{self.name}: skipped {self._malformed} malformed report(s)"
        return TeleopCommand(time=sample.time, seq=sample.seq, device=self.name, mode=self.mode,
                             pose=parts.pose, twist=parts.twist, gripper=parts.gripper, held=held,
                             pressed=pressed, status=status, message=message)

    def run_offline(self, max_events: int | None = None) -> Iterator[TeleopCommand]:
        """Read the transport in the caller's thread, yielding the command after every event that
        changed the state, until the stream ends (for replaying a recording deterministically:
        every event is seen, none is skipped by a slower consumer). Not for use while connected."""
        if self._connected:
            raise RuntimeError(f"{self.name} is connected; run_offline reads the transport itself")
        self._transport.open()
        self._settings = self._resolve_settings()
        self._reset_parser()
        try:
            count = 0
            while max_events is None or count < max_events:
                try:
                    event = self._transport.read(1.0)
                except StreamEnded:
                    return
                if event is None:
                    continue
                count += 1
                try:
                    sample = self._parse(event)
                except MalformedInput:  # as live: a bad report is skipped and counted (a bad file line raises)
                    self._malformed += 1
                    continue
                if sample is not None:
                    self._publish(sample)
                    yield self.read_command()
        finally:
            self._transport.close()

    # -- recording ----------------------------------------------------------------------------------
    def start_recording(self, path: str | Path) -> Path:
        """Record every raw event from now on to ``path`` (replay it with ``replay:PATH``)."""
        from devices.teleop.stream_files import StreamWriter

        self.stop_recording()
        writer = StreamWriter(Path(path), self.stream_header())
        self._stream_problem = ""
        self._writer = writer
        return writer.path

    def stop_recording(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()

    def stream_header(self) -> dict[str, Any]:
        """What a recording of this device starts with: kind, model and how to rebuild it."""
        return {"device": self.kind, "model": self.model, "name": self.name, "params": self._transport.describe()}

    # -- for subclasses -----------------------------------------------------------------------------
    @abstractmethod
    def _parse(self, event: RawEvent) -> DeviceSample | None:
        """Parse one raw event into a new sample (``seq`` is set by the base), or None if nothing changed.

        Raise ``MalformedInput`` for an event that cannot be parsed.
        """

    @abstractmethod
    def _interpret(self, sample: DeviceSample) -> CommandParts:
        """Motion, gripper and analog-held actions of a sample, in the operator frame."""

    def _reset_parser(self) -> None:  # noqa: B027 - a hook: devices without parse state keep nothing
        """Forget parse state (called on open and when the device is lost)."""

    def _notice(self) -> str:
        """A one-line, non-fatal note for the operator while commands are live ("" when none)."""
        return ""

    def _neutral_sample(self, t: float) -> DeviceSample:
        """The sample that stands for "no input": zero twist, no pose, nothing held."""
        twist = np.zeros(6) if self.mode is MotionMode.DELTA else None
        return DeviceSample(time=t, seq=self._seq, twist=twist)

    def _publish(self, sample: DeviceSample) -> None:
        with self._cond:
            previous = self._latest.buttons if self._latest is not None else frozenset()
            self._seq += 1
            self._latest = dataclasses.replace(sample, seq=self._seq)
            self._pressed.extend(sorted(sample.buttons - previous))
            self._cond.notify_all()

    def _set_status(self, status: DeviceStatus, message: str) -> None:
        with self._cond:
            self._status, self._message = status, message
            self._cond.notify_all()

    # -- the reader thread --------------------------------------------------------------------------
    def _run(self) -> None:
        is_open = True
        while not self._stop.is_set():
            if not is_open:
                if self._stop.wait(self._reconnect_interval):
                    break
                try:
                    self._transport.open()
                except DeviceUnavailable as exc:
                    self._set_status(DeviceStatus.LOST, f"{self.name} lost ({_one_line(exc)}); the robot holds; "
                                     "reconnecting")
                    continue
                is_open = True
                self._reset_parser()
                self._set_status(DeviceStatus.OK, f"{self.name} reconnected")
                continue
            try:
                event = self._transport.read(self._read_timeout)
            except StreamEnded as exc:
                self._go_neutral()
                self._set_status(DeviceStatus.LOST, _one_line(exc))
                return
            except (DeviceLost, OSError) as exc:
                self._transport.close()
                is_open = False
                self._go_neutral()
                if not self._transport.reconnectable:
                    self._set_status(DeviceStatus.ERROR, f"{self.name} failed: {_one_line(exc)}")
                    return
                self._set_status(DeviceStatus.LOST, f"{self.name} lost ({_one_line(exc)}); the robot holds; "
                                 "reconnecting")
                continue
            except MalformedInput as exc:
                if not self._transport.reconnectable:  # a corrupt recording: stop with its line
                    self._go_neutral()
                    self._set_status(DeviceStatus.ERROR, _one_line(exc))
                    return
                self._malformed += 1
                continue
            except Exception as exc:  # a bug or an SDK failure: stop safely, say it in one line
                log.exception("teleop reader of %s failed", self.name)
                self._go_neutral()
                self._set_status(DeviceStatus.ERROR, f"{self.name} failed: {type(exc).__name__}: {_one_line(exc)}")
                return
            if event is None:
                continue
            self._record(event)
            try:
                sample = self._parse(event)
            except MalformedInput as exc:
                self._malformed += 1
                log.debug("%s: malformed input: %s", self.name, exc)
                continue
            except Exception as exc:  # a parser bug must not leave the robot following a dead device
                log.exception("teleop parser of %s failed", self.name)
                self._go_neutral()
                self._set_status(DeviceStatus.ERROR, f"{self.name} failed: {type(exc).__name__}: {_one_line(exc)}")
                return
            if sample is not None:
                self._publish(sample)

    def _record(self, event: RawEvent) -> None:
        """Append to the raw-stream recording; a full disk ends the recording, never the teleop."""
        writer = self._writer
        if writer is None:
            return
        try:
            writer.write(event)
        except (OSError, ValueError) as exc:
            self._writer = None
            with contextlib.suppress(OSError):
                writer.close()
            self._stream_problem = f"recording of the {self.name} stream stopped ({_one_line(exc)}); " \
                                   f"what was written to {writer.path} is kept"

    def _go_neutral(self) -> None:
        self._reset_parser()
        self._publish(self._neutral_sample(self._clock()))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


__all__ = ["CommandParts", "DeviceError", "TeleopDevice", "Transport"]
