"""Journals written by hand, record by record, with the real journal writer and block encoder.

Tests that corrupt, truncate or craft a journal need to know where each record lies; `write_journal`
returns the byte span of every record so a test can flip a byte inside block 3, or tear the last one.
Sample ``k`` of a journal has time ``k / rate_hz`` and action x ``k``, so a test can say exactly
which samples survived.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recorder import format as fmt
from recorder.journal import BLOCK, END, HEADER, JournalWriter, encode_block

LOWDIM = [["time", [], "float64"], ["timing/tick_error", [], "float64"], ["action/ee_pose", [7], "float32"],
          ["action/gripper", [1], "float32"], ["action/source", [], "uint8"], ["obs/ee_pose", [7], "float32"],
          ["obs/gripper", [1], "float32"]]


@dataclass
class WrittenJournal:
    path: Path
    records: list[tuple[int, int]]  # (start, end) byte span of every record, header first
    samples: int
    rate_hz: float
    recording_id: str

    def block_span(self, i: int) -> tuple[int, int]:
        return self.records[1 + i]


def layout_json(cameras: dict[str, tuple[int, int]]) -> dict:
    lowdim = list(LOWDIM) + [[fmt.IMAGE_TIME_PREFIX + c, [], "float64"] for c in cameras]
    cams = [{"name": c, "width": w, "height": h, "mount": "scene", "serial": "", "fx": None, "fy": None, "cx": None,
             "cy": None, "model": "fake", "extra": {}} for c, (h, w) in cameras.items()]
    return {"lowdim": lowdim, "cameras": cams}


def write_journal(path: Path, blocks: int = 5, per_block: int = 10, rate_hz: float = 10.0,
                  cameras: dict[str, tuple[int, int]] | None = None, end: dict | None = None,
                  metadata: dict | None = None, codec: str = "gzip-1", layout: dict | None = None,
                  sample_numbers: bool = True) -> WrittenJournal:
    """A journal of ``blocks`` blocks of ``per_block`` samples (and END when ``end`` is given).

    ``sample_numbers=False`` writes blocks as journals did before they carried their first sample number.
    """
    cameras = cameras or {}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rid = uuid.uuid4().hex
    meta = {"recording_id": rid, "task": "fake", "device": "scripted", "operator": "", "station": {},
            "software_version": "test", "start_time": "2026-01-01T00:00:00.000+00:00", **(metadata or {})}
    compress = fmt.image_codec(codec).compress
    j = JournalWriter(path, fsync=False)
    spans: list[tuple[int, int]] = []
    try:
        start = j.bytes_written
        j.append_json(HEADER, {"layout": layout or layout_json(cameras), "metadata": meta, "rate_hz": rate_hz,
                               "image_codec": codec})
        spans.append((start, j.bytes_written))
        for b in range(blocks):
            k = np.arange(b * per_block, (b + 1) * per_block)
            t = k / rate_hz
            pose = np.zeros((per_block, 7), np.float32)
            pose[:, 0] = k
            pose[:, 3] = 1.0
            arrays = {"time": t, "timing/tick_error": np.zeros(per_block), "action/ee_pose": pose,
                      "action/gripper": np.zeros((per_block, 1), np.float32),
                      "action/source": np.zeros(per_block, np.uint8), "obs/ee_pose": pose.copy(),
                      "obs/gripper": np.zeros((per_block, 1), np.float32)}
            chunks = {}
            for cam, (h, w) in cameras.items():
                arrays[fmt.IMAGE_TIME_PREFIX + cam] = t.copy()
                chunks[cam] = [compress(np.full((h, w, 3), int(i) % 251, np.uint8).tobytes()) for i in k]
            start = j.bytes_written
            extra = {"sources": ["scripted"], "events": [], "missed": 0}
            if sample_numbers:
                extra["sample"] = int(b * per_block)
            j.append(BLOCK, encode_block(arrays, chunks, extra))
            spans.append((start, j.bytes_written))
        if end is not None:
            start = j.bytes_written
            j.append_json(END, {"success": None, "score": None, "events": [], "timing": {}, "sources": ["scripted"],
                                **end})
            spans.append((start, j.bytes_written))
    finally:
        j.close()
    return WrittenJournal(path, spans, blocks * per_block, rate_hz, rid)
