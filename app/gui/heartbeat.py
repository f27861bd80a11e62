"""Measures how long the GUI event loop goes without running: a 10 ms timer and its largest gap.

A stalled event loop is what an operator feels as a frozen window, a late key release or a jerky
live view. The test suite and `bench/gui_responsiveness.py` run one of these while the station
records and a training runs; it can also be shown live for diagnosis.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer


class Heartbeat(QObject):
    def __init__(self, interval_ms: int = 10, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_s = interval_ms / 1000.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._beat)
        self._last: float | None = None
        self.gaps: list[float] = []

    def start(self) -> None:
        self.gaps = []
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _beat(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append(now - self._last)
        self._last = now

    @property
    def max_gap_ms(self) -> float:
        return 1000.0 * max(self.gaps) if self.gaps else 0.0

    def summary(self) -> dict:
        g = np.asarray(self.gaps) * 1000.0 if self.gaps else np.zeros(1)
        return {"beats": len(self.gaps), "interval_ms": self.interval_s * 1000.0, "max_gap_ms": float(g.max()),
                "p99_gap_ms": float(np.percentile(g, 99)), "mean_gap_ms": float(g.mean()),
                "gaps_over_50ms": int((g > 50.0).sum())}
