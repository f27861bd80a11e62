"""Event-loop stalls of the GUI while recording and training: `python bench/gui_responsiveness.py [SECONDS]`.

The full main window runs offscreen; a policy trains in the background (`demostation train` with the
project's CPU preset, in its own process, as the Train panel starts it); the scripted expert records
one episode of SECONDS (default 30) with both cameras at 10 Hz while a 10 ms QTimer heartbeat
records every gap of the event loop. A bare Qt process runs the same heartbeat at the same time as
a control: gaps it shared are the machine's (this machine is shared), the others are the GUI's.
Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "gui")]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    from PySide6.QtWidgets import QApplication
    from synthetic_dataset import write_dataset

    from app.gui.heartbeat import Heartbeat, attribute_gaps
    from app.gui.main_window import build_main_window
    from app.gui.settings import open_settings
    from bench.common import process_events

    app = QApplication.instance() or QApplication(["bench"])
    tmp = Path(tempfile.mkdtemp(prefix="bench-responsive-"))

    data = write_dataset(tmp / "train-data", 4, samples=60, image=96)
    w = build_main_window(open_settings(tmp / "gui.ini"))
    w.resize(1440, 900)
    w.show()
    process_events(app, 30, lambda: w.ctx.station.ticks > 5)
    train = w.panels["train"]
    train.dataset_edit.setText(str(data))
    train.steps_spin.setValue(1_000_000)
    train.batch_spin.setValue(16)
    train.out_edit.setText(str(tmp / "run"))
    run = train.start_training()
    process_events(app, 600, lambda: run.step > 0 or not run.is_running())
    training = run.is_running()
    w.show_panel("record")
    rec = w.panels["record"]
    rec.dataset_edit.setText(str(tmp / "recorded"))
    rec.driver_combo.setCurrentIndex(rec.driver_combo.findData("expert"))
    rec.auto_end_check.setChecked(False)
    process_events(app, 1.0)
    control = subprocess.Popen([sys.executable, "-m", "app.gui.heartbeat", str(seconds + 4)], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    hb = Heartbeat()
    hb.start()
    rec.command("start")
    process_events(app, 15, lambda: rec.controller.state == "recording")
    process_events(app, seconds)
    hb.stop()
    rec.command("stop")
    process_events(app, 30, lambda: rec.controller.state == "idle")
    ctrl = json.loads(control.communicate(timeout=60)[0].strip().splitlines()[-1])
    run.stop()
    process_events(app, 30, lambda: not run.is_running())
    own, machine = attribute_gaps(hb.long_gaps(50.0), [tuple(g) for g in ctrl["long_gaps"]])
    timing = rec.controller._timing.snapshot() if rec.controller._timing else {}
    w.close()
    print(json.dumps({"seconds": seconds, "training_in_background": training, "training_steps": run.step,
                      "gui": hb.summary(), "control": {k: v for k, v in ctrl.items() if k != "long_gaps"},
                      "gui_gaps_over_50ms_own": [round(g) for _, g in own],
                      "gui_gaps_over_50ms_machine": [round(g) for _, g in machine],
                      "recorder_timing_last_50_ticks": timing, "load_average_1min": round(os.getloadavg()[0], 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
