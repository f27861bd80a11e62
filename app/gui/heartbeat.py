"""Measures how long the GUI event loop goes without running: a 10 ms timer and its largest gap.

A stalled event loop is what an operator feels as a frozen window, a late key release or a jerky
live view. The test suite and `bench/gui_responsiveness.py` run one of these while the station
records and a training runs.

On a shared machine the operating system sometimes stops every process at once (other jobs,
disk flushes); such a stall says nothing about the GUI. ``python -m app.gui.heartbeat SECONDS``
runs the same timer in a bare Qt process as a control: a gap of the GUI that the control also
had at the same moment is the machine's (`attribute_gaps`).
"""

from __future__ import annotations

import json
import sys
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
        self._last_wall = 0.0
        self.gaps: list[float] = []
        self.ends: list[float] = []  # wall-clock time (time.time) at which each gap ended

    def start(self) -> None:
        self.gaps, self.ends = [], []
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _beat(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append(now - self._last)
            self.ends.append(time.time())
        self._last = now

    @property
    def max_gap_ms(self) -> float:
        return 1000.0 * max(self.gaps) if self.gaps else 0.0

    def long_gaps(self, over_ms: float) -> list[tuple[float, float]]:
        """(end wall time, gap ms) of every gap longer than ``over_ms``."""
        return [(e, g * 1000.0) for e, g in zip(self.ends, self.gaps, strict=True) if g * 1000.0 > over_ms]

    def summary(self) -> dict:
        g = np.asarray(self.gaps) * 1000.0 if self.gaps else np.zeros(1)
        return {"beats": len(self.gaps), "interval_ms": self.interval_s * 1000.0, "max_gap_ms": float(g.max()),
                "p99_gap_ms": float(np.percentile(g, 99)), "mean_gap_ms": float(g.mean()),
                "gaps_over_50ms": int((g > 50.0).sum())}


def attribute_gaps(gui: list[tuple[float, float]], control: list[tuple[float, float]], control_over_ms: float = 25.0,
                   slack_s: float = 0.03) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Split the GUI's long gaps into (the GUI's own, the machine's).

    A GUI gap is the machine's when the control process had a gap of more than ``control_over_ms``
    overlapping it (both are intervals ending at the given wall time).
    """
    own, machine = [], []
    for end, ms in gui:
        start = end - ms / 1000.0
        shared = any(cms > control_over_ms and cend - cms / 1000.0 < end + slack_s and cend > start - slack_s
                     for cend, cms in control)
        (machine if shared else own).append((end, ms))
    return own, machine


def _control(seconds: float, over_ms: float = 20.0) -> int:
    """A bare Qt process with the same timer; prints its long gaps as JSON on stdout."""
    from PySide6.QtCore import QCoreApplication

    app = QCoreApplication.instance() or QCoreApplication(["heartbeat-control"])
    hb = Heartbeat()
    hb.start()
    QTimer.singleShot(int(seconds * 1000), app.quit)
    app.exec()
    hb.stop()
    print(json.dumps({"long_gaps": hb.long_gaps(over_ms), **hb.summary()}))
    return 0


if __name__ == "__main__":
    sys.exit(_control(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0))
