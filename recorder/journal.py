"""The append-only episode journal: what survives a SIGKILL, a power cut or a full disk.

HDF5 files are not safe to kill mid-write (the superblock and B-trees are updated in place), so
while an episode is being recorded it goes to a journal instead: a header record, then one block
record per second of samples, each framed with its length and a CRC32, appended, flushed and
fsynced. A crash can only ever tear the record being appended; the reader stops at the first torn
or corrupt record and everything before it is intact. Finalisation (and recovery on the next open
of the dataset) turns the journal into the immutable ``.h5`` episode and removes it.

File layout::

    b"DSJOURN1"
    record*   where record = b"R" | kind:u8 | length:u32 | crc32(payload):u32 | payload

Kinds: HEADER (JSON: layout, metadata), BLOCK (see `encode_block`), END (JSON: outcome, events,
timing — present only when the recording was stopped properly). Nothing is pickled.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np

MAGIC = b"DSJOURN1"
_RECORD = struct.Struct("<cBII")  # b"R", kind, length, crc32
HEADER, BLOCK, END = 1, 2, 3


class JournalError(RuntimeError):
    """A journal could not be read (not a journal, or its header is damaged)."""


class FileSystem(Protocol):
    """Where the recorder's bytes go. Injected so tests can simulate a full disk."""

    def open_new(self, path: Path) -> BinaryIO:
        """Create ``path`` exclusively for appending (FileExistsError if it exists)."""
        ...


class LocalFileSystem:
    def open_new(self, path: Path) -> BinaryIO:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        return os.fdopen(fd, "ab", buffering=0)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def is_disk_full(exc: BaseException) -> bool:
    """True for "no space" failures, including HDF5's, which h5py raises as RuntimeError with the
    errno only in the message (e.g. a failed flush on close)."""
    if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
        return True
    text = str(exc)
    return any(f"errno = {n}," in text or os.strerror(n) in text for n in _FULL_ERRNOS)


class JournalWriter:
    """Appends records to a new journal, holding an exclusive lock so recovery leaves it alone."""

    def __init__(self, path: Path, fs: FileSystem | None = None, fsync: bool = True) -> None:
        self.path = Path(path)
        self._fsync = fsync
        self._file = (fs or LocalFileSystem()).open_new(self.path)
        self.bytes_written = 0
        try:
            _lock(self._file)
            self._write(MAGIC)
        except BaseException:
            self._file.close()
            raise

    def append(self, kind: int, payload: bytes) -> None:
        header = _RECORD.pack(b"R", kind, len(payload), zlib.crc32(payload))
        self._write(header + payload)

    def append_json(self, kind: int, obj: dict) -> None:
        from recorder.format import to_json

        self.append(kind, to_json(obj).encode())

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = self._file.write(view)
            if n is None:  # buffered file objects write everything or raise
                n = len(view)
            view = view[n:]
        self._file.flush()
        if self._fsync:
            _fsync(self._file)
        self.bytes_written += len(data)

    def close(self) -> None:
        """Release the lock (the file stays until it is finalised or discarded)."""
        if not self._file.closed:
            self._file.close()


def _fsync(f: BinaryIO) -> None:
    try:
        fd = f.fileno()
    except (AttributeError, OSError, ValueError):
        return
    os.fsync(fd)


def _lock(f: BinaryIO) -> None:
    try:
        fd = f.fileno()
    except (AttributeError, OSError, ValueError):  # a file object without a descriptor (tests)
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        raise JournalError(f"journal {getattr(f, 'name', '')} is locked by another recording") from exc


def is_locked(path: Path) -> bool:
    """True while a recording process holds ``path`` (a live journal must not be recovered)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


@dataclass
class JournalContents:
    header: dict
    blocks: list[bytes] = field(default_factory=list)
    end: dict | None = None
    torn_bytes: int = 0  # bytes after the last intact record (a crash mid-append)


def read_journal(path: Path) -> JournalContents:
    """Every intact record of a journal; stops at the first torn or corrupt one."""
    data = Path(path).read_bytes()
    if not data.startswith(MAGIC):
        raise JournalError(f"{path.name} is not a Demo Station journal")
    pos = len(MAGIC)
    header: dict | None = None
    out: JournalContents | None = None
    while pos + _RECORD.size <= len(data):
        tag, kind, length, crc = _RECORD.unpack_from(data, pos)
        start = pos + _RECORD.size
        payload = data[start:start + length]
        if tag != b"R" or len(payload) != length or zlib.crc32(payload) != crc:
            break
        pos = start + length
        if kind == HEADER:
            header = json.loads(payload)
            out = JournalContents(header)
        elif out is None:
            break
        elif kind == BLOCK:
            out.blocks.append(payload)
        elif kind == END:
            out.end = json.loads(payload)
    if out is None or header is None:
        raise JournalError(f"{path.name} has no intact header (the recording died before its first write)")
    out.torn_bytes = len(data) - pos
    return out


# -- blocks ----------------------------------------------------------------------------------------

_U32 = struct.Struct("<I")


def encode_block(arrays: dict[str, np.ndarray], chunks: dict[str, list[bytes]], extra: dict) -> bytes:
    """One block: ``u32 json length | JSON index | raw array bytes | compressed image chunks``."""
    index: dict = {"arrays": {}, "chunks": {}, "extra": extra}
    parts: list[bytes] = []
    offset = 0
    for key, a in arrays.items():
        a = np.ascontiguousarray(a)
        raw = a.tobytes()
        index["arrays"][key] = [a.dtype.str, list(a.shape), offset, len(raw)]
        parts.append(raw)
        offset += len(raw)
    for cam, items in chunks.items():
        spans = []
        for c in items:
            spans.append([offset, len(c)])
            parts.append(c)
            offset += len(c)
        index["chunks"][cam] = spans
    from recorder.format import to_json

    head = to_json(index).encode()
    return _U32.pack(len(head)) + head + b"".join(parts)


@dataclass
class Block:
    arrays: dict[str, np.ndarray]
    chunks: dict[str, list[bytes]]
    extra: dict


def decode_block(payload: bytes) -> Block:
    (n,) = _U32.unpack_from(payload, 0)
    index = json.loads(payload[4:4 + n])
    body = memoryview(payload)[4 + n:]
    arrays = {}
    for key, (dtype, shape, off, nbytes) in index["arrays"].items():
        arrays[key] = np.frombuffer(body[off:off + nbytes], dtype=np.dtype(dtype)).reshape(shape)
    chunks = {cam: [bytes(body[o:o + ln]) for o, ln in spans] for cam, spans in index["chunks"].items()}
    return Block(arrays, chunks, index.get("extra", {}))
