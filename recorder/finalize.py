"""Turn an episode journal into the immutable ``.h5`` episode file, atomically.

Used at the end of every recording and, after a crash, by recovery on the next open of the
dataset: the same function, so a recovered episode has exactly the layout of a finished one (with
``complete=False``). The file is written beside its final name (``.h5.tmp``), fsynced, then renamed
over it, so a reader sees either no episode or a whole one — never half a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from devices.userfiles import atomic_path
from recorder import format as fmt
from recorder.clock import timing_summary
from recorder.journal import JournalContents, decode_block, fsync_dir, read_journal


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
    journal.unlink()
    fsync_dir(journal.parent)
    return result


def write_episode(contents: JournalContents, dest: Path) -> FinalizedEpisode:
    header = contents.header
    layout = fmt.EpisodeLayout.from_json(header["layout"])
    codec = fmt.image_codec(header.get("image_codec", fmt.DEFAULT_IMAGE_CODEC))
    blocks = [decode_block(b) for b in contents.blocks]
    arrays = {spec.key: _concat([b.arrays.get(spec.key) for b in blocks], spec) for spec in layout.lowdim}
    chunks = {cam: [c for b in blocks for c in b.chunks.get(cam, [])] for cam in layout.camera_names}
    n = len(arrays[fmt.TIME])
    extra = blocks[-1].extra if blocks else {}
    end = contents.end
    complete = end is not None
    final = dict(end) if end is not None else {}
    attrs = dict(header["metadata"])
    attrs.update(
        format=fmt.FORMAT_NAME,
        format_version=fmt.FORMAT_VERSION,
        rate_hz=float(header["rate_hz"]),
        cameras=[fmt.camera_info_dict(c) for c in layout.cameras],
        image_codec=codec.name,
        complete=complete,
        sources=final.get("sources", extra.get("sources", [])),
        events=final.get("events", extra.get("events", [])),
    )
    missed = sum(int(b.extra.get("missed", 0)) for b in blocks)
    timing = timing_summary(arrays[fmt.TICK_ERROR], missed, float(header["rate_hz"]))
    attrs["timing"] = final.get("timing", timing)
    for key in ("success", "score"):
        if final.get(key) is not None:
            attrs[key] = final[key]
    if not complete:
        attrs["recovered"] = True
        attrs["recovered_torn_bytes"] = int(contents.torn_bytes)

    with atomic_path(dest, tmp=dest.with_name(dest.stem + fmt.TEMP_SUFFIX)) as tmp:
        with h5py.File(tmp, "w") as f:
            for key, value in attrs.items():
                _set_attr(f, key, value)
            for spec in layout.lowdim:
                a = arrays[spec.key]
                f.create_dataset(spec.key, data=a, chunks=(max(1, min(n, 4096)),) + spec.shape,
                                 maxshape=(None,) + spec.shape)
            for cam in layout.camera_names:
                h, w, c = layout.image_shape(cam)
                frames = chunks[cam]
                if len(frames) != n:
                    raise ValueError(f"journal {dest.stem}: camera {cam} has {len(frames)} frames for {n} samples")
                ds = f.create_dataset(fmt.IMAGES_PREFIX + cam, shape=(n, h, w, c), dtype="uint8",
                                      chunks=(1, h, w, c), maxshape=(None, h, w, c), **codec.h5_options)
                for i, data in enumerate(frames):
                    ds.id.write_direct_chunk((i, 0, 0, 0), data)
    fsync_dir(dest.parent)
    return FinalizedEpisode(dest, n, complete)


def _concat(parts: list[np.ndarray | None], spec: fmt.ArraySpec) -> np.ndarray:
    parts = [p for p in parts if p is not None]
    if not parts:
        return spec.empty(0)
    return np.concatenate(parts).astype(spec.dtype, copy=False)


def _set_attr(f: h5py.File, key: str, value: object) -> None:
    if key in fmt.JSON_ATTRS or isinstance(value, (dict, list, tuple)):
        f.attrs[key] = fmt.to_json(value)
    elif value is None:
        return
    elif isinstance(value, bool):
        f.attrs[key] = np.bool_(value)
    else:
        f.attrs[key] = value
