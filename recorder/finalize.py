"""Turn an episode journal into the immutable ``.h5`` episode file, atomically.

Used at the end of every recording and, after a crash, by recovery on the next open of the
dataset: the same function, so a recovered episode has exactly the layout of a finished one (with
``complete=False``). The file is written beside its final name (``.h5.tmp``), fsynced, then renamed
over it, so a reader sees either no episode or a whole one — never half a file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from devices.userfiles import atomic_path
from recorder import format as fmt
from recorder.clock import timing_summary
from recorder.disk_space import require_free_space
from recorder.journal import JournalContents, decode_block, fsync_dir, read_journal

DAMAGED_SUFFIX = ".damaged"

# What an episode file needs beyond its journal's block bytes (measured: ~30 KB of HDF5 metadata,
# ~100 bytes of chunk index per frame); with a margin.
_FILE_OVERHEAD = 96 * 1024
_CHUNK_OVERHEAD = 160
_LOWDIM_RUN = 4096  # rows of low-dimensional data written at once (the datasets' chunk length)


@dataclass(frozen=True)
class FinalizedEpisode:
    path: Path
    frames: int
    complete: bool


def journal_path_for(h5_path: Path) -> Path:
    return h5_path.with_suffix(fmt.JOURNAL_SUFFIX)


def finalize_journal(journal: Path, dest: Path | None = None) -> FinalizedEpisode:
    """Write ``dest`` (default: the journal's ``.h5``) from a journal, then remove the journal."""
    journal = Path(journal)
    dest = dest or journal.with_suffix(fmt.EPISODE_SUFFIX)
    contents = read_journal(journal)
    result = write_episode(contents, dest)
    retire_journal(journal, contents)
    return result


def retire_journal(journal: Path, contents: JournalContents, keep: bool = False) -> Path | None:
    """Remove a journal once its episode is written; a damaged one is kept aside instead.

    A journal with damaged stretches is renamed to ``ep_NNNNNN.journal.damaged`` (never deleted):
    it is the only copy of the bytes recovery could not read, and only the user decides it is worth
    nothing (``keep``: kept aside whatever it holds). Returns the kept path, or None when removed.
    """
    if not contents.damaged and not keep:
        journal.unlink()
        fsync_dir(journal.parent)
        return None
    kept = journal.with_name(journal.name + DAMAGED_SUFFIX)
    n = 1
    while kept.exists():
        kept = journal.with_name(f"{journal.name}{DAMAGED_SUFFIX}.{n}")
        n += 1
    os.replace(journal, kept)
    fsync_dir(journal.parent)
    return kept


def write_episode(contents: JournalContents, dest: Path) -> FinalizedEpisode:
    """Write the episode from the journal's intact blocks, one block at a time (memory: one block)."""
    header = contents.header
    layout = fmt.EpisodeLayout.from_json(header["layout"])
    codec = fmt.image_codec(header.get("image_codec", fmt.DEFAULT_IMAGE_CODEC))
    n = contents.samples
    rate_hz = float(header["rate_hz"])
    end = contents.end
    damaged = bool(contents.damaged)
    final = dict(end) if end is not None else {}
    stopped = bool(final.get("stopped_by_user"))  # sealed after a Ctrl-C: cut short, not crashed
    complete = end is not None and not damaged and not stopped
    tick_error = np.empty(n, dtype=np.float64)
    extra: dict = {}
    frames = n * len(layout.cameras)
    # HDF5 failing mid-write on a full disk can crash the process when the file is closed: check
    # first, so a full disk takes the ordinary path (the journal stays and is recovered later).
    require_free_space(dest.parent, sum(b.length for b in contents.blocks) + frames * _CHUNK_OVERHEAD,
                       f"writing episode {dest.stem}", margin_bytes=_FILE_OVERHEAD)

    with atomic_path(dest, tmp=dest.with_name(dest.stem + fmt.TEMP_SUFFIX)) as tmp, h5py.File(tmp, "w") as f:
        lowdim = {spec.key: f.create_dataset(spec.key, shape=(n,) + spec.shape, dtype=spec.dtype,
                                             chunks=(max(1, min(n, 4096)),) + spec.shape,
                                             maxshape=(None,) + spec.shape)
                  for spec in layout.lowdim}
        images = {}
        for cam in layout.camera_names:
            h, w, c = layout.image_shape(cam)
            images[cam] = f.create_dataset(fmt.IMAGES_PREFIX + cam, shape=(n, h, w, c), dtype="uint8",
                                           chunks=(1, h, w, c), maxshape=(None, h, w, c), **codec.h5_options)
        # Frames go to the file block by block; low-dimensional rows are gathered into runs of
        # about one HDF5 chunk (a few hundred kB) so they cost one write per run, not per block.
        at = flushed = 0
        pending: list[dict[str, np.ndarray]] = []

        def flush() -> None:
            nonlocal flushed
            if pending:
                rows = sum(len(p[fmt.TIME]) for p in pending)
                for spec in layout.lowdim:
                    lowdim[spec.key][flushed:flushed + rows] = np.concatenate([p[spec.key] for p in pending])
                flushed += rows
                pending.clear()

        for ref, payload in zip(contents.blocks, contents.payloads(), strict=True):
            block = decode_block(payload)
            k = ref.samples
            # copies (astype), so the block's payload is not kept alive by views into it
            pending.append({spec.key: block.arrays[spec.key].astype(spec.dtype) for spec in layout.lowdim})
            tick_error[at:at + k] = block.arrays[fmt.TICK_ERROR]
            for cam, ds in images.items():
                for i, data in enumerate(block.chunks[cam]):
                    ds.id.write_direct_chunk((at + i, 0, 0, 0), data)
            extra = block.extra
            at += k
            if at - flushed >= _LOWDIM_RUN:
                flush()
        flush()
        missed = sum(b.missed for b in contents.blocks)
        attrs = dict(header["metadata"])
        attrs.update(
            format=fmt.FORMAT_NAME,
            format_version=fmt.FORMAT_VERSION,
            rate_hz=rate_hz,
            cameras=[fmt.camera_info_dict(c) for c in layout.cameras],
            image_codec=codec.name,
            complete=complete,
            sources=final.get("sources", extra.get("sources", [])),
            events=final.get("events", extra.get("events", [])),
        )
        attrs["timing"] = final.get("timing", timing_summary(tick_error, missed, rate_hz))
        for key in ("success", "score"):
            if final.get(key) is not None:
                attrs[key] = final[key]
        if stopped:
            attrs["stopped_by_user"] = True
        if not complete and (damaged or not stopped):
            attrs["recovered"] = True
            attrs["recovered_torn_bytes"] = int(contents.torn_bytes)
        if damaged:
            attrs["recovered_lost"] = lost_spans(contents)
        for key, value in attrs.items():
            _set_attr(f, key, value)
    fsync_dir(dest.parent)
    return FinalizedEpisode(dest, n, complete)


def lost_spans(contents: JournalContents) -> list[dict]:
    """What each damaged stretch of a journal cost: the samples and the time between the intact neighbours.

    ``samples`` [first, last] are sample numbers of the recording (exact when the blocks carry their
    first sample number, else counted from the rate and flagged ``estimated``); ``after_s`` and
    ``before_s`` are the times of the last sample kept before and the first kept after (None at an end).
    """
    rate = float(contents.header["rate_hz"])
    out = []
    for span in contents.damaged:
        before = [b for b in contents.blocks if b.offset < span.start]
        after = [b for b in contents.blocks if b.offset >= span.end]
        prev = before[-1] if before else None
        nxt = after[0] if after else None
        kept_before = sum(b.samples for b in before)
        first = (prev.first_sample + prev.samples) if prev is not None and prev.first_sample is not None \
            else kept_before
        entry: dict = {"bytes": [span.start, span.end], "why": span.why,
                       "after_s": prev.t_last if prev else None, "before_s": nxt.t_first if nxt else None}
        if nxt is None:
            entry["samples"] = [first, None]  # everything after ``first`` (how many is unknown)
        elif nxt.first_sample is not None:
            entry["samples"] = [first, nxt.first_sample - 1]
        else:
            gap = nxt.t_first - (prev.t_last if prev else 0.0)
            count = max(0, int(round(gap * rate)) - (1 if prev else 0))
            entry["samples"] = [first, first + count - 1]
            entry["estimated"] = True
        out.append(entry)
    return out


def _set_attr(f: h5py.File, key: str, value: object) -> None:
    if key in fmt.JSON_ATTRS or isinstance(value, (dict, list, tuple)):
        f.attrs[key] = fmt.to_json(value)
    elif value is None:
        return
    elif isinstance(value, bool):
        f.attrs[key] = np.bool_(value)
    else:
        f.attrs[key] = value
