"""How long the Dataset panel takes to list a dataset of N episodes: `python bench/gui_dataset_open.py [N]`.

Measures both cases of issue #9's "a 500-episode dataset opens in under 2 s", and prints one JSON object:
- ``first_rows_s``: a dataset NEVER opened before (no catalog): open → every episode listed (rows of
  files not read yet show "…"); ``first_list_s``: open → every row filled (each file's facts read
  from a few root attributes and imported into the new catalog);
- ``cached_rows_s`` / ``cached_list_s``: the same for a dataset the catalog already knows (what an
  operator sees every time after the first): the table comes from the catalog, no file is opened;
- ``*_scan_s``: open → the background statistics done (pause fractions fill their column as they
  come; the table is usable meanwhile).
Episodes are small synthetic files written to the dataset format (tests/gui/synthetic_dataset.py).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "gui")]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    from PySide6.QtWidgets import QApplication
    from synthetic_dataset import write_dataset

    from app.gui.context import AppContext
    from app.gui.panels.dataset import DatasetPanel
    from app.gui.settings import open_settings
    from app.gui.station_worker import StationWorker
    from bench.common import process_events

    app = QApplication.instance() or QApplication(["bench"])
    tmp = Path(tempfile.mkdtemp(prefix="bench-dataset-"))
    t = time.perf_counter()
    root = write_dataset(tmp / "data", n, samples=60, image=32, pause=(20, 35))
    write_s = time.perf_counter() - t

    def wait_for(pred, timeout=600.0) -> None:
        if not (pred() or process_events(app, timeout, pred)):
            raise TimeoutError("the panel did not finish in time")

    worker = StationWorker()  # not started: the Dataset panel does not need the station
    ctx = AppContext(settings=open_settings(tmp / "gui.ini"), station=worker)
    out = {"episodes": n, "write_s": round(write_s, 2)}
    for label in ("first", "cached"):
        panel = DatasetPanel(ctx)
        panel.resize(1280, 800)
        panel.show()  # as an operator sees it: a hidden table sizes its columns from every row
        t0 = time.perf_counter()
        panel.open_dataset(root)
        wait_for(lambda panel=panel: panel.open_seconds is not None)
        out[f"{label}_rows_s"] = round(panel.rows_seconds, 3)
        out[f"{label}_list_s"] = round(panel.open_seconds, 3)
        out[f"{label}_rows_listed"] = panel.model.rowCount()
        out[f"{label}_rows_pending"] = sum(r.pending for r in panel.model.rows())
        wait_for(lambda panel=panel: panel.scans >= 1)
        out[f"{label}_scan_s"] = round(time.perf_counter() - t0, 2)
        out[f"{label}_rows_after_scan"] = panel.model.rowCount()
        panel.shutdown()
        panel.deleteLater()
    out["load_average_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
