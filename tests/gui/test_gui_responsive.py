"""The event loop keeps running while the station records two cameras at 10 Hz and a policy trains.

A 10 ms QTimer heartbeat records every gap from pressing Start to pressing Stop (the finalising
of the episode that follows is measured and printed, not asserted). The same heartbeat runs in a bare Qt process at the
same time: a gap the bare process also had is the machine's (this machine is shared), not the
GUI's. The GUI's own gaps are printed; the 50 ms target is checked by bench/gui_responsiveness.py,
and this test fails if the event loop ever hangs (a gap of a second or more).
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from synthetic_dataset import write_dataset

from app.gui.heartbeat import Heartbeat, attribute_gaps

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def test_event_loop_keeps_running_while_recording_and_training(make_window, qtbot, tmp_path):
    data = write_dataset(tmp_path / "train-data", 3, samples=40, image=32)
    w = make_window()
    qtbot.waitUntil(lambda: w.ctx.station.ticks > 3, timeout=20000)
    train = w.panels["train"]
    train.dataset_edit.setText(str(data))
    train.steps_spin.setValue(100000)  # stopped below: it only has to be busy
    train.batch_spin.setValue(4)
    train.config_edit.setText(str(Path(__file__).parent / "data" / "tiny_policy.json"))
    train.out_edit.setText(str(tmp_path / "run"))
    run = train.start_training()
    assert run is not None
    qtbot.waitUntil(lambda: run.step > 0 or not run.is_running(), timeout=120000)
    assert run.is_running(), run.error

    w.show_panel("record")
    rec = w.panels["record"]
    rec.dataset_edit.setText(str(tmp_path / "recorded"))
    rec.driver_combo.setCurrentIndex(rec.driver_combo.findData("expert"))
    rec.auto_end_check.setChecked(False)
    qtbot.wait(1000)  # the panel's first paint is not what is measured
    control = subprocess.Popen([sys.executable, "-m", "app.gui.heartbeat", "8"], stdout=subprocess.PIPE, text=True)
    hb = Heartbeat()
    hb.start()
    marks = {"start": time.time()}
    assert rec.command("start")
    qtbot.waitUntil(lambda: rec.controller.state == "recording", timeout=10000)
    marks["recording"] = time.time()
    qtbot.wait(4000)
    hb.stop()  # what is measured: from Start until Stop is pressed
    marks["stop"] = time.time()
    after = Heartbeat()  # the episode being finalised, for the record only
    after.start()
    assert rec.command("stop")
    qtbot.waitUntil(lambda: rec.controller.state == "idle", timeout=15000)
    marks["idle"] = time.time()
    after.stop()
    out, _ = control.communicate(timeout=30)
    run.stop()  # the Train panel's Stop: the run ends and is listed as stopped
    # It finishes its step and saves first, at nice +10: on a loaded machine that took 29 s (measured).
    qtbot.waitUntil(lambda: not run.is_running(), timeout=120000)
    assert run.state == "stopped" and train.table.item(0, 1).text() == "stopped"

    ctrl = json.loads(out.strip().splitlines()[-1])
    own, machine = attribute_gaps(hb.long_gaps(50.0), [tuple(g) for g in ctrl["long_gaps"]])
    print("\nGUI heartbeat:", hb.summary(), "\ncontrol heartbeat:", {k: v for k, v in ctrl.items() if k != "long_gaps"},
          "\nGUI gaps > 50 ms (seconds after Start, ms), the GUI's own:", [(round(e - marks["start"], 2), round(g)) for e, g in own],
          "the machine's:", [(round(e - marks["start"], 2), round(g)) for e, g in machine],
          "\nmarks:", {k: round(v - marks["start"], 2) for k, v in marks.items()},
          "\nwhile the episode was finalised (not asserted):", after.summary())
    assert rec.controller.counts.kept == 1
    # The 50 ms target is a timing figure, and timing figures are benchmarks here, not tests
    # (`python bench/gui_responsiveness.py` prints it as JSON): on a shared 2-core machine a test run
    # can see 50-140 ms scheduling gaps that are not the GUI's doing. What this test holds is that
    # the event loop never hangs while recording and training run together.
    assert all(g < 1000.0 for _, g in own), f"the GUI hung: {own}"
