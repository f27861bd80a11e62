"""Follow a training run's ``metrics.csv`` as the trainer appends to it (no Qt, no torch).

The trainer flushes one CSV row per log step; a reader polling the file sees complete rows plus,
sometimes, half a row still being written. `MetricsTail.poll` returns only the complete new rows
and keeps its place, so the GUI can poll cheaply (a few hundred bytes per call) while a run goes on.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path


def _number(text: str) -> float | None:
    if text is None or text == "":
        return None
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


class MetricsTail:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._offset = 0
        self._header: list[str] | None = None
        self._pending = ""

    def reset(self) -> None:
        self._offset, self._header, self._pending = 0, None, ""

    def poll(self) -> list[dict[str, float | None]]:
        """New complete rows since the last call, as {column: float or None}."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return []
        if size < self._offset:  # the file was replaced (a new run in the same folder)
            self.reset()
        if size == self._offset:
            return []
        with open(self.path, "r", encoding="utf-8", newline="") as f:
            f.seek(self._offset)
            chunk = f.read()
            self._offset = f.tell()
        text = self._pending + chunk
        lines = text.split("\n")
        self._pending = lines.pop()  # the last piece has no newline yet (or is empty)
        rows = []
        for line in lines:
            line = line.rstrip("\r")
            if not line:
                continue
            values = next(csv.reader(io.StringIO(line)))
            if self._header is None:
                self._header = values
                continue
            if len(values) != len(self._header):
                continue  # a torn or foreign line: skip it rather than misplace columns
            rows.append({k: _number(v) for k, v in zip(self._header, values, strict=True)})
        return rows


def read_metrics(path: str | Path) -> list[dict[str, float | None]]:
    """All rows of a finished run's metrics file."""
    return MetricsTail(path).poll()
