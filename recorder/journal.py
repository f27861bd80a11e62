"""The append-only episode journal: what survives a SIGKILL, a power cut or a full disk.

HDF5 files are not safe to kill mid-write (the superblock and B-trees are updated in place), so
while an episode is being recorded it goes to a journal instead: a header record, then one block
record per second of samples, each framed with its length and a CRC32, appended, flushed and
fsynced. A crash can only ever tear the record being appended (the reader drops that torn tail); a
corrupt record elsewhere (a flipped byte) is skipped and the reader resynchronises on the next
intact record, reporting exactly which bytes it could not use. Finalisation (and recovery on the next open
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
from typing import BinaryIO, Iterator, Protocol

import numpy as np

MAGIC = b"DSJOURN1"
_RECORD = struct.Struct("<cBII")  # b"R", kind, length, crc32
HEADER, BLOCK, END = 1, 2, 3


class JournalError(RuntimeError):
    """A journal could not be read (not a journal, or its header is damaged)."""


class TornHeader(JournalError):
    """A journal cut short before its header was whole: a recording killed as it began; it holds no sample."""


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


# Bounds on what a journal may declare, checked before anything is allocated from it: a record of
# one second of samples, images of a real camera. A journal beyond them was not written by Demo
# Station (or is damaged where the CRC cannot see it) and is refused in one line.
MAX_RECORD_BYTES = 1 << 30
MAX_INDEX_BYTES = 16 << 20
MAX_IMAGE_SIDE = 8192
MAX_CAMERAS = 32
MAX_ARRAYS = 256
MAX_SAMPLE_VALUES = 1 << 16  # numbers in one sample of one low-dimensional array
_NUMERIC_KINDS = "biuf"
_READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class BlockRef:
    """Where one intact block lies in the journal, and what it holds (read without keeping its bytes)."""

    offset: int  # of the payload
    length: int
    samples: int
    t_first: float
    t_last: float
    first_sample: int | None  # the block's first sample number (journals from before it was written: None)
    missed: int


@dataclass(frozen=True)
class DamagedSpan:
    """Bytes of the journal that hold no intact record, followed by an intact one (or by the end)."""

    start: int
    end: int
    why: str


@dataclass
class JournalContents:
    """Every intact record of a journal, by reference: `payloads` streams the blocks from the file."""

    path: Path
    header: dict
    blocks: list[BlockRef] = field(default_factory=list)
    end: dict | None = None
    torn_bytes: int = 0  # bytes of a record torn at the end of the file (a crash mid-append)
    damaged: list[DamagedSpan] = field(default_factory=list)  # corrupt stretches (skipped, resynchronised)

    @property
    def samples(self) -> int:
        return sum(b.samples for b in self.blocks)

    def payloads(self) -> Iterator[bytes]:
        """Each intact block's payload, one at a time (a recovery never holds the whole journal)."""
        with open(self.path, "rb") as f:
            for ref in self.blocks:
                f.seek(ref.offset)
                data = f.read(ref.length)
                if len(data) != ref.length or zlib.crc32(data) != _crc_at(f, ref):
                    raise JournalError(f"{self.path.name} changed while it was being recovered")
                yield data


def _crc_at(f: BinaryIO, ref: BlockRef) -> int:
    f.seek(ref.offset - _RECORD.size)
    return _RECORD.unpack(f.read(_RECORD.size))[3]


def read_journal(path: Path) -> JournalContents:
    """Every intact record of a journal, read as a stream (memory bounded by one read chunk).

    A record that fails its CRC (a flipped byte, a bad sector) does not end the journal: the reader
    resynchronises on the next intact record and reports the skipped bytes in ``damaged``. Only a
    record cut short by the end of the file is a torn append (``torn_bytes``). The header is checked
    against the bounds above before anything is allocated from it (JournalError, one line).
    """
    path = Path(path)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        magic = f.read(len(MAGIC))
        if magic != MAGIC and MAGIC.startswith(magic):
            raise TornHeader(f"{path.name}: the recording died while creating it; nothing to recover")
        if magic != MAGIC:
            raise JournalError(f"{path.name}: not a Demo Station journal")
        pos = len(MAGIC)
        out: JournalContents | None = None
        layout = None
        while pos < size:
            rec = _record_at(f, pos, size)
            if isinstance(rec, tuple):
                kind, length = rec
                payload_at = pos + _RECORD.size
                if kind == HEADER and out is None:
                    header = _json(f, payload_at, length, path, "header")
                    layout = check_header(header, path.name)
                    out = JournalContents(path, header)
                elif out is None:
                    break  # a journal whose first record is not its header: nothing can be laid out
                elif kind == BLOCK:
                    ref = _block_ref(f, payload_at, length, layout, header.get("image_codec") == "none")
                    if isinstance(ref, str):
                        out.damaged.append(DamagedSpan(pos, payload_at + length, ref))
                    else:
                        out.blocks.append(ref)
                elif kind == END:
                    out.end = _json(f, payload_at, length, path, "end record")
                pos = payload_at + length
                continue
            if out is None:
                # Torn only when nothing intact follows: a header whose length byte flipped past the
                # end of a long journal is damage (kept), not a recording killed as it began.
                if rec == "torn" and pos == len(MAGIC) and _resync(f, pos, size) is None:
                    raise TornHeader(f"{path.name}: the recording died while writing its header; nothing to recover")
                break
            nxt = _resync(f, pos, size)
            if nxt is None:
                if rec == "torn":
                    out.torn_bytes = size - pos
                else:
                    out.damaged.append(DamagedSpan(pos, size, "corrupt to the end of the file"))
                break
            out.damaged.append(DamagedSpan(pos, nxt, "corrupt"))
            pos = nxt
    if out is None and size == len(MAGIC):
        raise TornHeader(f"{path.name}: the recording died before writing its header; nothing to recover")
    if out is None:
        raise JournalError(f"{path.name}: has no intact header (its first record is damaged), so nothing in it can "
                           "be laid out; it is left in place")
    return out


def _record_at(f: BinaryIO, pos: int, size: int) -> tuple[int, int] | str:
    """(kind, length) of an intact record at ``pos``; else "torn" (cut short by the end) or "bad"."""
    f.seek(pos)
    head = f.read(_RECORD.size)
    if len(head) < _RECORD.size:
        return "torn"
    tag, kind, length, crc = _RECORD.unpack(head)
    if tag != b"R" or kind not in (HEADER, BLOCK, END) or length > MAX_RECORD_BYTES:
        return "bad"
    if pos + _RECORD.size + length > size:
        return "torn"
    return (kind, length) if _crc_of(f, pos + _RECORD.size, length) == crc else "bad"


def _crc_of(f: BinaryIO, offset: int, length: int) -> int:
    f.seek(offset)
    crc = 0
    left = length
    while left:
        chunk = f.read(min(left, _READ_CHUNK))
        if not chunk:
            return -1
        crc = zlib.crc32(chunk, crc)
        left -= len(chunk)
    return crc


def _resync(f: BinaryIO, pos: int, size: int) -> int | None:
    """The offset of the next intact record after a bad one at ``pos``, or None (none before the end).

    Every later ``R`` whose header and first payload bytes look like a record is CRC-checked, from
    the byte after ``pos`` on: the damaged record's own length is not trusted (a flipped length byte
    could point past intact records), so the first intact record after the damage is always found.
    """
    at = pos + 1
    while at < size:
        f.seek(at)
        window = f.read(_READ_CHUNK + _RECORD.size + 5)
        if len(window) < _RECORD.size:
            return None
        i = window.find(b"R")
        while 0 <= i < min(len(window), _READ_CHUNK):
            if i + _RECORD.size + 5 <= len(window) and _plausible(window, i, at + i, size) \
                    and isinstance(_record_at(f, at + i, size), tuple):
                return at + i
            if i + _RECORD.size + 5 > len(window) and isinstance(_record_at(f, at + i, size), tuple):
                return at + i  # near the end of the file: no look-ahead to filter with
            i = window.find(b"R", i + 1)
        at += _READ_CHUNK
    return None


def _plausible(window: bytes, i: int, pos: int, size: int) -> bool:
    """A cheap filter before a CRC: a known kind, a length that fits, a payload that starts like one."""
    _, kind, length, _ = _RECORD.unpack_from(window, i)
    if kind not in (HEADER, BLOCK, END) or length > MAX_RECORD_BYTES or pos + _RECORD.size + length > size:
        return False
    p = i + _RECORD.size
    if kind == BLOCK:
        (n,) = _U32.unpack_from(window, p)
        return length >= 5 and n <= length - 4 and window[p + 4:p + 5] == b"{"
    return window[p:p + 1] == b"{"


def _json(f: BinaryIO, offset: int, length: int, path: Path, what: str) -> dict:
    if length > MAX_INDEX_BYTES:
        raise JournalError(f"{path.name}: its {what} is {length} bytes (at most {MAX_INDEX_BYTES}); refused")
    f.seek(offset)
    try:
        value = json.loads(f.read(length))
    except (ValueError, RecursionError) as exc:
        raise JournalError(f"{path.name}: its {what} is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(value, dict):
        raise JournalError(f"{path.name}: its {what} is not a JSON object")
    return value


def check_header(header: dict, name: str):
    """The episode layout a journal header declares, within the bounds above (else JournalError)."""
    from recorder import format as fmt

    try:
        layout = fmt.EpisodeLayout.from_json(header["layout"])
        rate = float(header["rate_hz"])
        dict(header["metadata"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise JournalError(f"{name}: its header is malformed ({type(exc).__name__}: {exc})") from None
    if not 0 < rate <= 1e6:
        raise JournalError(f"{name}: its header declares a rate of {rate} Hz; refused")
    if len(layout.cameras) > MAX_CAMERAS or len(layout.lowdim) > MAX_ARRAYS:
        raise JournalError(f"{name}: its header declares {len(layout.cameras)} cameras and {len(layout.lowdim)} "
                           f"arrays (at most {MAX_CAMERAS} and {MAX_ARRAYS}); refused")
    for cam in layout.cameras:
        try:
            h, w = int(cam.height), int(cam.width)
        except (TypeError, ValueError):
            raise JournalError(f"{name}: its header gives camera {cam.name!r} no integer size; refused") from None
        if not (0 < h <= MAX_IMAGE_SIDE and 0 < w <= MAX_IMAGE_SIDE):
            raise JournalError(f"{name}: its header declares {w}x{h} images for camera {cam.name!r} (at most "
                               f"{MAX_IMAGE_SIDE}x{MAX_IMAGE_SIDE}); not a journal Demo Station wrote, refused")
    keys = set()
    for spec in layout.lowdim:
        try:
            kind = np.dtype(spec.dtype).kind
        except (TypeError, ValueError, OverflowError):
            kind = "?"
        values = int(np.prod(spec.shape, dtype=np.int64)) if spec.shape else 1
        if kind not in _NUMERIC_KINDS or any(d < 1 for d in spec.shape) or values > MAX_SAMPLE_VALUES:
            raise JournalError(f"{name}: its header declares array {spec.key!r} as {spec.dtype} {spec.shape} per "
                               "sample; refused")
        keys.add(spec.key)
    try:
        fmt.image_codec(str(header.get("image_codec", fmt.DEFAULT_IMAGE_CODEC)))
    except ValueError as exc:
        raise JournalError(f"{name}: its header names {exc}; refused") from None
    missing = {fmt.TIME, fmt.TICK_ERROR} - keys
    if missing:
        raise JournalError(f"{name}: its header lacks {', '.join(sorted(missing))}; refused")
    return layout


def _block_ref(f: BinaryIO, offset: int, length: int, layout, raw_frames: bool) -> BlockRef | str:
    """A reference to an intact block whose index agrees with the layout, or why it is unusable.

    ``raw_frames``: frames are stored uncompressed, so each must be exactly one image's bytes.
    """
    from recorder import format as fmt

    f.seek(offset)
    raw = f.read(min(length, 4))
    if len(raw) < 4:
        return "a block too short for its index"
    (n,) = _U32.unpack(raw)
    if n > min(length - 4, MAX_INDEX_BYTES):
        return "a block whose index overruns it"
    try:
        index = json.loads(f.read(n))
        body = length - 4 - n
        specs = {s.key: s for s in layout.lowdim}
        arrays, chunks, extra = index["arrays"], index["chunks"], index.get("extra", {})
        samples = None
        for key, spec in specs.items():
            dtype, shape, off, nbytes = arrays[key]
            shape = tuple(int(x) for x in shape)
            rows = shape[0] if shape else -1
            samples = rows if samples is None else samples
            if (np.dtype(dtype).kind not in _NUMERIC_KINDS or shape[1:] != spec.shape or rows != samples
                    or int(nbytes) != rows * int(np.prod(spec.shape, dtype=np.int64)) * np.dtype(dtype).itemsize
                    or not 0 <= int(off) <= body - int(nbytes)):
                return f"a block whose {key} does not match the layout"
        for cam in layout.camera_names:
            spans = chunks[cam]
            frame_bytes = int(np.prod(layout.image_shape(cam)))
            if len(spans) != samples or any(not (int(o) >= 0 and int(ln) >= 0 and int(o) + int(ln) <= body)
                                            or (raw_frames and int(ln) != frame_bytes) for o, ln in spans):
                return f"a block whose {cam} frames do not match its samples"
        dtype, _, off, nbytes = arrays[fmt.TIME]
        f.seek(offset + 4 + n + int(off))
        t = np.frombuffer(f.read(int(nbytes)), dtype=np.dtype(dtype))
        first = extra.get("sample") if isinstance(extra, dict) else None
        missed = int(extra.get("missed", 0)) if isinstance(extra, dict) else 0
    except (KeyError, TypeError, ValueError, IndexError, RecursionError, OverflowError) as exc:
        return f"a block with a malformed index ({type(exc).__name__})"
    if not samples:
        return "a block with no samples"
    return BlockRef(offset, length, int(samples), float(t[0]), float(t[-1]),
                    int(first) if isinstance(first, int) else None, missed)


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
