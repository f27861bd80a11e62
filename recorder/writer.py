"""The episode writer: samples go through a queue to a writer thread, never written on the tick.

The tick loop only enqueues a `Sample` (references to arrays it already has). The writer thread
turns samples into rows, compresses each camera frame once (into the bytes the HDF5 filter would
produce), and appends one journal block per second of samples — flushed and fsynced, so a crash
loses at most that last second. `finish` drains the queue, seals the journal with the outcome and
finalises it into the ``.h5`` episode; `abort` throws the episode away.
"""

from __future__ import annotations

import errno
import os
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from devices.camera import Frame
from devices.robot import Action, RobotState
from recorder import format as fmt
from recorder.errors import DiskFullError, RecordingError, UnwritableDatasetError
from recorder.finalize import FinalizedEpisode, finalize_journal
from recorder.journal import BLOCK, END, HEADER, FileSystem, JournalWriter, encode_block, is_disk_full


@dataclass(frozen=True)
class Sample:
    """What one tick produced. ``time`` is seconds since the episode started."""

    time: float
    tick_error: float
    missed: int
    action: Action
    source: int  # index into the episode's `sources`
    state: RobotState
    frames: dict[str, Frame | None] = field(default_factory=dict)  # capture times on the session clock
    command: Action | None = None  # the source's request before any filter (None: the same as ``action``)

    @property
    def requested(self) -> Action:
        return self.action if self.command is None else self.command


@dataclass(frozen=True)
class _Extra:
    values: dict


_STOP = object()


_UNWRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)  # the folder refuses new files: the user's to fix


class EpisodeWriter:
    """Journals one episode on a background thread; finalises it into ``h5_path``."""

    def __init__(self, h5_path: Path, layout: fmt.EpisodeLayout, metadata: dict, rate_hz: float,
                 clock_start: float = 0.0, codec: str = fmt.DEFAULT_IMAGE_CODEC, fs: FileSystem | None = None,
                 flush_interval_s: float = 1.0, fsync: bool = True, max_queue_s: float = 10.0) -> None:
        self.h5_path = Path(h5_path)
        self.journal_path = self.h5_path.with_suffix(fmt.JOURNAL_SUFFIX)
        self.layout = layout
        self.rate_hz = float(rate_hz)
        # Clock time of the episode start: capture times are stored relative to it. The session
        # sets it just before the first sample (after the journal exists), never later.
        self.clock_start = float(clock_start)
        self.codec = fmt.image_codec(codec)
        self.flush_interval_s = float(flush_interval_s)
        self.samples_written = 0
        self.blocks_written = 0
        self._error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=max(16, int(rate_hz * max_queue_s)))
        self._extra: dict = {"sources": [], "events": []}
        self._rows: list[Sample] = []
        self._last_chunk: dict[str, tuple[float, int, bytes]] = {}
        self._obs_specs = [s for s in layout.lowdim if s.key.startswith(fmt.OBS_PREFIX)
                           and not s.key.startswith(fmt.IMAGE_TIME_PREFIX)]
        self._missed_pending = 0
        self._block_rows = max(1, int(round(self.rate_hz * self.flush_interval_s)))
        try:
            self._journal = JournalWriter(self.journal_path, fs=fs, fsync=fsync)
            # A random id per recording, in the journal and the episode: recovery tells by it whether a
            # journal left beside a finished episode of the same number is that episode's or another's.
            metadata = {**metadata, "recording_id": uuid.uuid4().hex}
            self._journal.append_json(HEADER, {"layout": layout.to_json(), "metadata": metadata,
                                               "rate_hz": self.rate_hz, "image_codec": self.codec.name})
        except OSError as exc:
            if exc.errno in _UNWRITABLE and not self.journal_path.exists():
                raise UnwritableDatasetError(
                    f"cannot record into {self.journal_path.parent}: {os.strerror(exc.errno).lower()} (nothing "
                    "was written); record into a folder you can write to, or fix its permissions") from exc
            raise self._as_recording_error(exc) from exc
        self._thread = threading.Thread(target=self._run, name=f"episode-writer-{self.h5_path.stem}", daemon=True)
        self._thread.start()

    # -- called from the tick loop -------------------------------------------------------------
    @property
    def error(self) -> BaseException | None:
        return self._error

    def put(self, sample: Sample) -> None:
        """Hand a sample to the writer; RecordingError if the writer has failed or fell behind."""
        self._raise_if_failed()
        try:
            self._queue.put_nowait(sample)
        except queue.Full:
            raise RecordingError(f"the episode writer fell {self._queue.maxsize / self.rate_hz:g} s behind "
                                 f"writing {self.journal_path}: the disk is too slow; recording stopped") from None

    def set_extra(self, **values: object) -> None:
        """Update what goes with the next block (``sources``, ``events``), in order with the samples."""
        self._raise_if_failed()
        self._queue.put(_Extra(dict(values)))

    def finish(self, end: dict | None) -> FinalizedEpisode:
        """Write everything queued, seal the journal (``end`` = outcome; None = incomplete), finalise."""
        self._stop_thread()
        if self._error is not None:
            self._journal.close()
            raise self._as_recording_error(self._error)
        try:
            if end is not None:
                self._journal.append_json(END, {**end, "sources": self._extra["sources"]})
            # The journal stays open (and locked) while it is finalised, so a dataset opened
            # meanwhile does not mistake it for a crashed recording and recover it too.
            return finalize_journal(self.journal_path, self.h5_path)
        except Exception as exc:  # the journal stays; recovery finalises it on the next open
            raise self._as_recording_error(exc) from exc
        finally:
            self._journal.close()

    def abort(self) -> None:
        """Stop and delete the journal: the episode is discarded."""
        self._stop_thread()
        self._journal.close()
        self.journal_path.unlink(missing_ok=True)

    def close_without_finalising(self) -> None:
        """Stop the thread and leave the journal for recovery (used when finalising is impossible)."""
        self._stop_thread()
        self._journal.close()

    # -- the writer thread ---------------------------------------------------------------------
    def _run(self) -> None:
        last_flush = time.monotonic()
        try:
            while True:
                try:
                    item = self._queue.get(timeout=self.flush_interval_s / 4)
                except queue.Empty:
                    item = None
                if item is _STOP:
                    break
                if isinstance(item, _Extra):
                    self._extra.update(item.values)
                elif isinstance(item, Sample):
                    self._rows.append(item)
                    self._missed_pending += item.missed
                # A block per second of samples, and at least one per second of wall time: a
                # crash can lose only the samples still pending, i.e. less than one second.
                due_wall = time.monotonic() - last_flush >= self.flush_interval_s
                due_count = len(self._rows) >= self._block_rows
                if self._rows and (due_wall or due_count):
                    self._flush()
                    last_flush = time.monotonic()
            if self._rows:
                self._flush()
        except BaseException as exc:  # noqa: BLE001 - reported to the tick loop through put()/finish()
            self._error = exc

    def _flush(self) -> None:
        rows, self._rows = self._rows, []
        arrays = {}
        for spec in self.layout.lowdim:
            arrays[spec.key] = self._column(spec, rows)
        chunks = {cam: [self._chunk(cam, r.frames.get(cam)) for r in rows] for cam in self.layout.camera_names}
        # ``sample``: the block's first sample number, so recovery can say exactly which samples a
        # damaged block held.
        extra = {**self._extra, "missed": self._missed_pending, "sample": self.samples_written}
        self._journal.append(BLOCK, encode_block(arrays, chunks, extra))
        self._missed_pending = 0
        self.samples_written += len(rows)
        self.blocks_written += 1

    def _column(self, spec: fmt.ArraySpec, rows: list[Sample]) -> np.ndarray:
        key = spec.key
        if key == fmt.TIME:
            values = [r.time for r in rows]
        elif key == fmt.TICK_ERROR:
            values = [r.tick_error for r in rows]
        elif key == fmt.ACTION_POSE:
            values = [r.action.ee_pose for r in rows]
        elif key == fmt.ACTION_GRIPPER:
            values = [[r.action.gripper] for r in rows]
        elif key == fmt.ACTION_SOURCE:
            values = [r.source for r in rows]
        elif key == fmt.COMMAND_POSE:
            values = [r.requested.ee_pose for r in rows]
        elif key == fmt.COMMAND_GRIPPER:
            values = [[r.requested.gripper] for r in rows]
        elif key.startswith(fmt.IMAGE_TIME_PREFIX):
            cam = key[len(fmt.IMAGE_TIME_PREFIX):]
            values = [np.nan if r.frames.get(cam) is None else r.frames[cam].timestamp - self.clock_start
                      for r in rows]
        else:
            name = key[len(fmt.OBS_PREFIX):]
            values = [_state_value(r.state, name, spec.shape) for r in rows]
        return np.asarray(values, dtype=spec.dtype).reshape((len(rows),) + spec.shape)

    def _chunk(self, cam: str, frame: Frame | None) -> bytes:
        shape = self.layout.image_shape(cam)
        if frame is None:
            return self.codec.compress(bytes(int(np.prod(shape))))
        last = self._last_chunk.get(cam)
        if last is not None and last[0] == frame.timestamp and last[1] == frame.index:
            return last[2]  # a slow camera's frame repeated at this tick: compress it once
        image = np.ascontiguousarray(frame.image, dtype=np.uint8)
        if image.shape != shape:
            raise RecordingError(f"camera {cam} delivered a {image.shape} image; the episode expects {shape}")
        data = self.codec.compress(image.tobytes())
        self._last_chunk[cam] = (frame.timestamp, frame.index, data)
        return data

    # -- helpers ---------------------------------------------------------------------------------
    def _stop_thread(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._as_recording_error(self._error)

    def _as_recording_error(self, exc: BaseException) -> RecordingError:
        if isinstance(exc, RecordingError):
            return exc
        if is_disk_full(exc) and self.samples_written == 0:
            return DiskFullError(
                f"disk full in {self.journal_path.parent} ({os.strerror(errno.ENOSPC)}): recording of "
                f"{self.h5_path.stem} stopped before its first sample; earlier episodes are intact")
        if is_disk_full(exc):
            return DiskFullError(
                f"disk full in {self.journal_path.parent} ({os.strerror(errno.ENOSPC)}): recording of "
                f"{self.h5_path.stem} stopped; earlier episodes are intact and its {self.samples_written} samples "
                "already written will be recovered when the dataset is next opened with space free")
        why = " ".join(str(exc).split())[:300]
        return RecordingError(f"recording {self.h5_path.stem} in {self.journal_path.parent} failed "
                              f"({type(exc).__name__}: {why}); what was written is kept in "
                              f"{self.journal_path.name} and recovered when the dataset is next opened")


def _state_value(state: RobotState, name: str, shape: tuple[int, ...]) -> np.ndarray:
    value = getattr(state, name, None)
    if value is None:
        return np.full(shape, np.nan)
    return np.asarray(value, dtype=float).reshape(shape)
