"""Recording a device's raw input stream, and replaying it through the same parsing and mapping code.

A stream file is JSON Lines: a header line, then one line per raw event exactly as the device's
edge delivered it — HID reports as hex bytes, OpenXR samples, key events, haptic servo states,
wrist-camera images as base64 PNG (lossless, so replayed marker detection sees the same pixels)::

    {"format": "demostation-teleop-stream", "version": 1, "device": "spacemouse", "model": ..., "params": {...}}
    {"t": 0.0123, "k": "hid", "d": {"hex": "01fa0000000000"}}

Lines are appended and flushed as they come, so a crash loses at most the last partial line; a
replay treats a truncated last line as the end of the stream, and any other bad line as an error
that names the file and line.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from devices.teleop.command import RawEvent
from devices.teleop.device import Transport
from devices.teleop.errors import MalformedInput, StreamEnded
from devices.teleop.haptic import HapticState
from devices.teleop.openxr_adapter import XrSample

STREAM_FORMAT = "demostation-teleop-stream"
STREAM_VERSION = 1


# -- payload codecs by event kind ------------------------------------------------------------------

def _encode_hid(data: bytes) -> dict[str, Any]:
    return {"hex": bytes(data).hex()}


def _decode_hid(d: Any) -> bytes:
    try:
        return bytes.fromhex(d["hex"])
    except (TypeError, KeyError, ValueError):
        raise MalformedInput("a HID event needs 'hex' bytes") from None


def _encode_key(data: tuple[str, bool]) -> dict[str, Any]:
    return {"key": str(data[0]), "down": bool(data[1])}


def _decode_key(d: Any) -> tuple[str, bool]:
    if not isinstance(d, dict) or not isinstance(d.get("key"), str) or not isinstance(d.get("down"), bool):
        raise MalformedInput("a key event needs 'key' (text) and 'down' (true/false)")
    return d["key"], d["down"]


def _encode_mouse(data: tuple[str, float, float]) -> dict[str, Any]:
    return {"button": str(data[0]), "dx": float(data[1]), "dy": float(data[2])}


def _decode_mouse(d: Any) -> tuple[str, float, float]:
    if not isinstance(d, dict) or not isinstance(d.get("button"), str):
        raise MalformedInput(f"a mouse event is {{button, dx, dy}}, got {d!r}")
    try:
        return d["button"], float(d["dx"]), float(d["dy"])
    except (KeyError, TypeError, ValueError):
        raise MalformedInput(f"a mouse event needs numeric dx and dy, got {d!r}") from None


def _encode_image(image: np.ndarray) -> dict[str, Any]:
    import cv2

    img = np.asarray(image)
    bgr = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, png = cv2.imencode(".png", bgr)
    if not ok:
        raise ValueError("image could not be encoded as PNG")
    return {"png": base64.b64encode(png.tobytes()).decode("ascii")}


def _decode_image(d: Any) -> np.ndarray:
    import cv2

    try:
        raw = np.frombuffer(base64.b64decode(d["png"], validate=True), dtype=np.uint8)
    except (TypeError, KeyError, ValueError):
        raise MalformedInput("an image event needs base64 'png' data") from None
    img = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise MalformedInput("an image event holds a PNG that does not decode")
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


CODECS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "hid": (_encode_hid, _decode_hid),
    "key": (_encode_key, _decode_key),
    "mouse": (_encode_mouse, _decode_mouse),
    "image": (_encode_image, _decode_image),
    "xr": (lambda s: s.to_json(), XrSample.from_json),
    "haptic": (lambda s: s.to_json(), HapticState.from_json),
}


def encode_event(event: RawEvent, t0: float) -> str:
    encode = CODECS[event.kind][0]
    return json.dumps({"t": round(event.time - t0, 6), "k": event.kind, "d": encode(event.data)},
                      separators=(",", ":"))


def decode_event(line: str, where: str) -> tuple[float, str, Any]:
    """(seconds since the first event, kind, payload) of one stream line; MalformedInput if bad."""
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as exc:
        raise MalformedInput(f"{where}: not JSON ({exc.msg})") from None
    if not isinstance(rec, dict) or rec.get("k") not in CODECS:
        raise MalformedInput(f"{where}: unknown event kind {rec.get('k') if isinstance(rec, dict) else rec!r}")
    t = rec.get("t")
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not np.isfinite(t):
        raise MalformedInput(f"{where}: event time must be a finite number")
    try:
        data = CODECS[rec["k"]][1](rec.get("d"))
    except MalformedInput as exc:
        raise MalformedInput(f"{where}: {exc}") from None
    return float(t), rec["k"], data


# -- writing -----------------------------------------------------------------------------------------

class StreamWriter:
    """Appends raw events to a stream file (called from a device's reader thread)."""

    def __init__(self, path: Path, header: dict[str, Any], flush_every: float = 0.25) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - held open until close()
        doc = {"format": STREAM_FORMAT, "version": STREAM_VERSION,
               "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), **header}
        self._file.write(json.dumps(doc) + "\n")
        self._file.flush()
        self._t0: float | None = None
        self._flush_every = flush_every
        self._last_flush = time.monotonic()
        self._lock = threading.Lock()
        self.events = 0

    def write(self, event: RawEvent) -> None:
        with self._lock:
            if self._file is None:
                return
            if self._t0 is None:
                self._t0 = event.time
            self._file.write(encode_event(event, self._t0) + "\n")
            self.events += 1
            now = time.monotonic()
            if now - self._last_flush >= self._flush_every:
                self._file.flush()
                self._last_flush = now

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def write_stream(path: Path, header: dict[str, Any], events: list[RawEvent]) -> Path:
    """Write a whole stream at once (synthetic streams, shipped assets)."""
    writer = StreamWriter(Path(path), header)
    for e in events:
        writer.write(e)
    writer.close()
    return Path(path)


# -- reading -----------------------------------------------------------------------------------------

def read_stream_header(path: str | Path) -> dict[str, Any]:
    """The header of a stream file; ValueError (one line) if it is not one."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline()
    except FileNotFoundError:
        raise FileNotFoundError(f"no recorded device stream at {path}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a Demo Station device stream (not text)") from None
    try:
        header = json.loads(first)
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != STREAM_FORMAT:
        raise ValueError(f"{path} is not a Demo Station device stream (its first line is not a "
                         f"{STREAM_FORMAT} header)")
    if header.get("version") != STREAM_VERSION:
        raise ValueError(f"{path} is stream version {header.get('version')!r}; this Demo Station reads "
                         f"version {STREAM_VERSION}")
    if not isinstance(header.get("device"), str):
        raise ValueError(f"{path}: the header does not name its device")
    if not isinstance(header.get("params", {}), dict):
        raise ValueError(f"{path}: the header's params must be an object")
    return header


def iter_stream(path: str | Path) -> Iterator[tuple[float, str, Any]]:
    """Every event of a stream file as (seconds since the first, kind, payload).

    A last line that does not parse is taken as cut short by a crash and ends the stream; a bad line
    before it raises MalformedInput naming the file and line.
    """
    path = Path(path)
    read_stream_header(path)
    with open(path, encoding="utf-8") as f:
        f.readline()
        pending: tuple[int, str] | None = None
        for number, line in enumerate(f, start=2):
            if pending is not None:
                yield decode_event(pending[1], f"{path} line {pending[0]}")
            pending = (number, line)
        if pending is not None:
            try:
                yield decode_event(pending[1], f"{path} line {pending[0]}")
            except MalformedInput:
                return  # the last line was cut short while recording


class ReplayTransport(Transport):
    """Serves a recorded stream as if the device were live, in real time or as fast as it can be read.

    Event times are re-based onto this machine's clock at ``open`` and keep their recorded spacing
    (also when not paced in real time), so the parsing and mapping code downstream — including the
    mapper's rate integration when it is timed by the commands — sees what the live device gave.
    """

    reconnectable = False

    def __init__(self, path: str | Path, *, realtime: bool = True, clock=time.monotonic) -> None:
        self.path = Path(path)
        self.header = read_stream_header(self.path)
        self.realtime = realtime
        self._clock = clock
        self._events: Iterator[tuple[float, str, Any]] | None = None
        self._pending: tuple[float, str, Any] | None = None
        self._t0 = 0.0

    def open(self) -> None:
        self._events = iter_stream(self.path)
        self._pending = None
        self._t0 = self._clock()

    def close(self) -> None:
        self._events = None

    def read(self, timeout: float) -> RawEvent | None:
        if self._events is None:
            raise StreamEnded(f"replay of {self.path.name} is not open")
        if self._pending is None:
            try:
                self._pending = next(self._events)
            except StopIteration:
                raise StreamEnded(f"replay of {self.path.name} finished") from None
        t, kind, data = self._pending
        due = self._t0 + t
        if self.realtime:
            wait = due - self._clock()
            if wait > timeout:
                time.sleep(timeout)
                return None
            if wait > 0:
                time.sleep(wait)
        self._pending = None
        return RawEvent(due, kind, data)  # recorded spacing, also when not paced in real time

    def describe(self) -> dict[str, Any]:
        return dict(self.header.get("params", {}))
