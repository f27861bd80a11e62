"""Steps several GUI tests take through the real panels, written once."""

from __future__ import annotations

import numpy as np


def open_dataset_in_panel(w, qtbot, root):
    """Type ``root`` into the Dataset panel and open it; the panel, once its table is listed."""
    panel = w.panels["dataset"]
    panel.path_edit.setText(str(root))
    panel.open_from_field()
    qtbot.waitUntil(lambda: panel.open_seconds is not None and panel.root is not None, timeout=30000)
    return panel


def run_selected_checkpoint(w, qtbot, run):
    """From the Train panel, run ``run``'s checkpoint in the Run panel until its plan is drawn over
    the scene camera; the Run panel, still running (the caller stops it)."""
    w.panels["train"].use_selected()
    assert w.current_panel().key == "run"
    runp = w.panels["run"]
    assert runp.source() == str(run.run_dir)
    runp.continuous_check.setChecked(False)
    assert runp.start()
    qtbot.waitUntil(lambda: runp.controller.state in ("running", "idle"), timeout=60000)
    assert runp.controller.state == "running", w.ctx.messages.history[-3:]
    scene = runp.live.views["scene"]
    qtbot.waitUntil(lambda: scene._overlay is not None and np.isfinite(scene._overlay).any(), timeout=30000)
    return runp
