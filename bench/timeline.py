"""How smooth the Dataset panel's timeline is on a ten-minute episode: `python bench/timeline.py [SAMPLES]`.

Issue #24 asks that the pyqtgraph timeline "stays smooth on a 10-minute episode" (6000 samples at
10 Hz). This builds the `TimelineView` offscreen at 1100×800 over a synthetic episode of SAMPLES
samples (default 6000) with one camera read on demand, 40 detected pauses, 40 trims and 20 tagged
ranges, and prints one JSON object (milliseconds; every timed step ends with the event loop having
painted what the change asked for, so drawing is included):
- ``build_ms``: `set_episode` (traces, limits, regions, first frame) plus the first paint, median of 5;
- ``curation_update_ms``: `set_curation` after an edit that moved one trim (only its region is rebuilt) + paint;
- ``step_ms_p50`` / ``step_ms_p95``: one step of the cursor (slider → frame → cursor line on both
  plots) + paint, over 300 steps at full view: playback at 10 Hz has 100 ms per step;
- ``zoom_ms_p50`` / ``pan_ms_p50``: a zoom to 10 s and a pan by 5 s + paint, 50 each;
- ``region_drag_ms_p50``: moving one trim region during a drag (its twin on the other plot follows) + paint;
- ``full_repaint_ms_p50``: repainting both plots whole (what a resize costs).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def synthetic_view(samples: int, rate: float = 10.0):
    import numpy as np

    from app.gui.timeline import EpisodeView

    rng = np.random.default_rng(0)
    t = np.arange(samples) / rate
    pose = np.zeros((samples, 7))
    pose[:, :3] = np.cumsum(rng.normal(0, 0.002, (samples, 3)), axis=0)
    pose[:, 3] = 1.0
    gripper = (np.sin(t / 3.0) > 0).astype(float)[:, None]
    duration = samples / rate
    slots = np.linspace(0, duration, 101)[:-1]
    pauses = [(float(s), float(s) + 2.0) for s in slots[0::5][:40]] if samples else []
    trims = [{"id": i, "start": float(s) + 2.5, "end": float(s) + 4.0, "status": "applied" if i % 2 else "proposed",
              "source": "pause"} for i, s in enumerate(slots[1::2][:40])]
    tags = [("recovery", float(s) + 1.0, float(s) + 3.0) for s in slots[0::5][:20]]
    return EpisodeView(id="bench", time=t, action=np.concatenate([pose, gripper], axis=1), obs_pose=pose.copy(),
                       obs_gripper=gripper.copy(), wrench=rng.normal(0, 5, (samples, 6)), rate_hz=rate,
                       cameras=["scene"], pauses=pauses, trims=trims, range_tags=tags)


def main() -> int:
    try:
        samples = int(sys.argv[1]) if len(sys.argv) > 1 else 6000
        if samples < 10:
            raise ValueError
    except ValueError:
        print("timeline bench: SAMPLES must be a whole number of at least 10", file=sys.stderr)
        return 2
    import numpy as np
    from PySide6.QtWidgets import QApplication

    from app.gui.theme import apply_theme
    from app.gui.timeline import TimelineView

    app = QApplication.instance() or QApplication(["bench"])
    apply_theme(app)
    frame = np.zeros((96, 96, 3), np.uint8)
    tl = TimelineView()
    tl.frame_reader = lambda camera, index: frame
    tl.resize(1100, 800)
    tl.show()
    app.processEvents()
    plots = (tl.action_plot, tl.obs_plot)

    def paint() -> None:  # what Qt paints for the change (pyqtgraph repaints only the changed area)
        app.processEvents()

    def full_repaint() -> None:  # both plots whole (a resize, a new episode)
        for p in plots:
            p.viewport().repaint()

    def timed(fn) -> float:
        t0 = time.perf_counter()
        fn()
        paint()
        return 1000 * (time.perf_counter() - t0)

    def p(values: list[float], q: float) -> float:
        return round(float(np.percentile(values, q)), 2)

    view = synthetic_view(samples)
    build = [timed(lambda: tl.set_episode(synthetic_view(samples))) for _ in range(5)]
    view = tl.episode
    def edit(k: int) -> None:  # what an edit hands back: one trim moved (a drag), the rest as they were
        trims = [dict(t) for t in view.trims]
        trims[k % len(trims)]["start"] += 0.1
        tl.set_curation(trims, view.range_tags)

    update = [timed(lambda k=k: edit(k)) for k in range(10)]
    steps = [timed(lambda i=i: tl.slider.setValue(i)) for i in range(1, 301)]
    zoom, pan = [], []
    for k in range(50):
        start = (k * 11.0) % max(1.0, view.duration - 20)
        zoom.append(timed(lambda s=start: tl.action_plot.box.setXRange(s, s + 10.0, padding=0)))
        pan.append(timed(lambda s=start: tl.action_plot.box.setXRange(s + 5.0, s + 15.0, padding=0)))
    tl.action_plot.show_all()
    item = tl.action_plot.region_item(("trim", 1))
    a, b = item.getRegion()
    full = [timed(full_repaint) for _ in range(20)]
    drags = [timed(lambda k=k: item.setRegion((a + 0.05 * k, b + 0.05 * k))) for k in range(50)]
    out = {"samples": samples, "duration_s": round(view.duration, 1), "regions": len(tl.action_plot.regions()),
           "build_ms": round(statistics.median(build), 1), "curation_update_ms": round(statistics.median(update), 1),
           "step_ms_p50": p(steps, 50), "step_ms_p95": p(steps, 95), "zoom_ms_p50": p(zoom, 50),
           "pan_ms_p50": p(pan, 50), "region_drag_ms_p50": p(drags, 50),
           "full_repaint_ms_p50": p(full, 50),
           "twin_followed": tl.obs_plot.region_item(("trim", 1)).getRegion() == item.getRegion(),
           "load_average_1min": round(os.getloadavg()[0], 2)}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
