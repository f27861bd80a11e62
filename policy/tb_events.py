"""TensorBoard scalar event files, written without TensorBoard or TensorFlow installed.

`torch.utils.tensorboard` needs the ``tensorboard`` package (and with it grpcio, protobuf and a
web server) only to serialise a few scalars. The event file format is small and stable: TFRecord
framing (length, masked CRC-32C, payload, masked CRC-32C) around ``Event`` protocol buffers with
a ``Summary`` of ``simple_value`` scalars. This module writes exactly that, so ``tensorboard
--logdir RUN/tb`` reads our runs, and reads it back (for tests and for tools with no TensorBoard).
"""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path

_CRC_TABLE: list[int] = []


def _crc_table() -> list[int]:
    if not _CRC_TABLE:
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            _CRC_TABLE.append(c)
    return _CRC_TABLE


def crc32c(data: bytes) -> int:
    table = _crc_table()
    crc = 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked_crc(data: bytes) -> int:
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field_bytes(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _event(wall_time: float, step: int, file_version: str | None = None, summary: bytes | None = None) -> bytes:
    msg = _varint(1 << 3 | 1) + struct.pack("<d", wall_time) + _varint(2 << 3 | 0) + _varint(step)
    if file_version is not None:
        msg += _field_bytes(3, file_version.encode())
    if summary is not None:
        msg += _field_bytes(5, summary)
    return msg


def _scalar_summary(tag: str, value: float) -> bytes:
    v = _field_bytes(1, tag.encode()) + _varint(2 << 3 | 5) + struct.pack("<f", float(value))
    return _field_bytes(1, v)


def _record(data: bytes) -> bytes:
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", _masked_crc(header)) + data + struct.pack("<I", _masked_crc(data))


class ScalarWriter:
    """Appends scalars to one event file in ``log_dir``; each `add` is flushed (a crash loses nothing)."""

    def __init__(self, log_dir: str | Path) -> None:
        self.dir = Path(log_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}"
        self._f = open(self.path, "ab")  # noqa: SIM115 - held open until close()
        self._f.write(_record(_event(time.time(), 0, file_version="brain.Event:2")))
        self._f.flush()

    def add(self, step: int, scalars: dict[str, float]) -> None:
        now = time.time()
        for tag, value in scalars.items():
            self._f.write(_record(_event(now, step, summary=_scalar_summary(tag, value))))
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


def _fields(buf: bytes):
    i = 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            val, i = _read_varint(buf, i)
        elif wire == 1:
            val, i = buf[i:i + 8], i + 8
        elif wire == 5:
            val, i = buf[i:i + 4], i + 4
        elif wire == 2:
            n, i = _read_varint(buf, i)
            val, i = buf[i:i + n], i + n
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield num, val


def read_scalars(path: str | Path) -> list[tuple[int, str, float]]:
    """(step, tag, value) for every scalar in an event file; ValueError on a corrupt record."""
    data = Path(path).read_bytes()
    out, i = [], 0
    while i < len(data):
        header = data[i:i + 8]
        if len(header) < 8 or struct.unpack("<I", data[i + 8:i + 12])[0] != _masked_crc(header):
            raise ValueError(f"{path}: corrupt event record at byte {i}")
        (n,) = struct.unpack("<Q", header)
        payload = data[i + 12:i + 12 + n]
        if struct.unpack("<I", data[i + 12 + n:i + 16 + n])[0] != _masked_crc(payload):
            raise ValueError(f"{path}: corrupt event payload at byte {i}")
        i += 16 + n
        step, summary = 0, None
        for num, val in _fields(payload):
            if num == 2:
                step = val
            elif num == 5:
                summary = val
        if summary is None:
            continue
        for num, value in _fields(summary):
            if num != 1:
                continue
            tag, scalar = "", None
            for vn, vv in _fields(value):
                if vn == 1:
                    tag = vv.decode()
                elif vn == 2:
                    scalar = struct.unpack("<f", vv)[0]
            if scalar is not None:
                out.append((step, tag, scalar))
    return out
