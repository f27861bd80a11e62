"""Run panel: a policy driving the live station, honestly shown — its plan drawn over the scene
camera, the safety controller's interventions, an emergency stop, a take-over, a success counter —
and the robustness sweep (success against perturbation severity) with its plot, or a comparison of
every listed source (`policy.compare`) in a table (`app.gui.comparison_table`).

The predicted chunk is drawn by projecting its 3-D tool-point waypoints through the scene camera's
MuJoCo pose and intrinsics (`app.gui.policy_run.project_points`) onto the live scene view.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QProcess, QProcessEnvironment, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.gui import theme
from app.gui.comparison_table import ComparisonTable
from app.gui.context import AppContext
from app.gui.live_view import LiveView
from app.gui.panels.base import Panel
from app.gui.panels.record import default_dataset_dir
from app.gui.plot_widget import PlotWidget
from app.gui.policy_run import EXPERT_SOURCE, PolicyRunController, camera_pose, project_points
from app.gui.recollect_box import RecollectBox
from app.gui.settings import read
from app.gui.status_light import StatusLight
from app.gui.train_runs import REPO_ROOT, lower_priority

OVERLAY_CAMERA = "scene"


class RunPanel(Panel):
    key = "run"
    title = "Run"
    icon_name = "run"
    hint = ("Run a policy in the station. Its predicted chunk is drawn on the scene camera (projected with the "
            "camera's pose and intrinsics). Esc or the red button stops the robot at once.")
    wants_teleop_keys = True

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.controller = PolicyRunController(ctx.station, self)
        self.controller.teleop_device = ctx.station.keyboard
        self._camera = None
        self._sweep: QProcess | None = None
        self._sweep_out: Path | None = None
        self._comparing = False  # the running (or last) sweep compares every source
        self._sweep_stdout = b""
        self.sweep_done = self.sweep_total = 0

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(10)
        self.build_header(layout)
        layout.addLayout(self._source_bar())

        self.live = LiveView(ctx.station, min_size=200)
        scroll = self.side_column(self._control_group(), self._recovery_group(), self._counter_group(),
                                  self._sweep_group())
        split = self.remember_splitter("main", QSplitter(Qt.Orientation.Horizontal))
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.live)
        self.sweep_plot = PlotWidget("robustness sweep: success rate against severity", x_label="severity")
        self.sweep_plot.set_x_range(0.0, 1.0)
        self.sweep_plot.set_y_range(-0.05, 1.05)
        self.sweep_plot.empty_text = "run a sweep to see how success falls with each perturbation"
        left.addWidget(self.sweep_plot)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 1)
        self.remember_splitter("left", left)
        split.addWidget(left)
        split.addWidget(scroll)
        split.setStretchFactor(0, 1)
        layout.addWidget(split, 1)

        c = self.controller
        c.state_changed.connect(self._on_state)
        c.chunk.connect(self._on_chunk)
        c.episode_done.connect(self._on_episode)
        c.failed.connect(lambda msg: ctx.messages.alert("Run", msg))
        rec = c.recovery
        rec.task = ctx.task
        rec.started.connect(self._on_recovery_started)
        rec.saved.connect(self._on_recovery_saved)
        rec.failed.connect(self._on_recovery_failed)
        ctx.dataset.changed.connect(self.set_recovery_dataset)
        ctx.bus.checkpoint_ready.connect(self.add_source)
        ctx.station.status.connect(self._on_status)
        esc = QShortcut(QKeySequence("Escape"), self)
        esc.setContext(Qt.ShortcutContext.WindowShortcut)
        esc.activated.connect(self.emergency_stop)
        self._restore()
        self._on_state("idle")

    # -- building --------------------------------------------------------------------------------
    def _source_bar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("Policy"))
        self.source_combo = QComboBox()
        self.source_combo.setMinimumWidth(360)
        self.source_combo.addItem("Scripted expert (served as chunks, privileged)", EXPERT_SOURCE)
        row.addWidget(self.source_combo, 1)
        browse = QPushButton("Checkpoint…")
        browse.setToolTip("Choose a training run folder or a .safetensors checkpoint")
        browse.clicked.connect(self._browse)
        row.addWidget(browse)
        return row

    def _control_group(self) -> QGroupBox:
        box = QGroupBox("Control")
        grid = QGridLayout(box)
        self.start_button = QPushButton("▶ Run")
        self.start_button.setProperty("role", "primary")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("■ Stop")
        self.stop_button.clicked.connect(self.controller.stop)
        self.estop_button = QPushButton("EMERGENCY STOP")
        self.estop_button.setProperty("role", "estop")
        self.estop_button.setToolTip("Hold the robot where it is, now (Esc). Latched until released.")
        self.estop_button.clicked.connect(self.emergency_stop)
        self.release_button = QPushButton("Release e-stop")
        self.release_button.clicked.connect(self.release_estop)
        self.takeover_button = QPushButton("Take over")
        self.takeover_button.setCheckable(True)
        self.takeover_button.setToolTip("Drive with the keyboard (or the connected device) instead of the policy; "
                                        "press again to hand back. The take-over is recorded as a recovery "
                                        "episode when a dataset is chosen below.")
        self.takeover_button.toggled.connect(self.controller.set_take_over)
        self.continuous_check = QCheckBox("Next episode automatically")
        self.continuous_check.setChecked(True)
        self.continuous_check.toggled.connect(lambda on: setattr(self.controller, "continuous", on))
        grid.addWidget(self.start_button, 0, 0)
        grid.addWidget(self.stop_button, 0, 1)
        grid.addWidget(self.estop_button, 1, 0, 1, 2)
        grid.addWidget(self.release_button, 2, 0)
        grid.addWidget(self.takeover_button, 2, 1)
        grid.addWidget(self.continuous_check, 3, 0, 1, 2)
        self.run_light = StatusLight("idle", "idle")
        grid.addWidget(self.run_light, 4, 0, 1, 2)
        self.safety_label = theme.note_label("", wrap=True)
        grid.addWidget(self.safety_label, 5, 0, 1, 2)
        return box

    def _recovery_group(self) -> QGroupBox:
        box = QGroupBox("Take-over recording")
        col = QVBoxLayout(box)
        self.recovery_check = QCheckBox("Record take-overs as recovery episodes")
        self.recovery_check.setChecked(True)
        self.recovery_check.toggled.connect(self._recovery_toggled)
        col.addWidget(self.recovery_check)
        row = QHBoxLayout()
        self.recovery_target = QLabel("")
        self.recovery_target.setWordWrap(True)
        row.addWidget(self.recovery_target, 1)
        choose = QPushButton("Dataset…")
        choose.setToolTip("Choose the dataset take-overs are recorded into (it becomes the window's current dataset)")
        choose.clicked.connect(self._choose_recovery_dataset)
        row.addWidget(choose, 0, Qt.AlignmentFlag.AlignTop)
        col.addLayout(row)
        self.recovery_light = StatusLight("not recording", "idle")
        col.addWidget(self.recovery_light)
        return box

    def _counter_group(self) -> QGroupBox:
        box = QGroupBox("Episodes")
        form = QFormLayout(box)
        self.counter_label = QLabel("0 / 0")
        self.counter_label.setObjectName("BigNumber")
        form.addRow("Successes", self.counter_label)
        self.episode_label = QLabel("—")
        form.addRow("This episode", self.episode_label)
        self.history_label = theme.note_label("", wrap=True)
        form.addRow(self.history_label)
        return box

    def _sweep_group(self) -> QGroupBox:
        box = QGroupBox("Robustness sweep")
        form = QFormLayout(box)
        self.sweep_episodes = QSpinBox()
        self.sweep_episodes.setRange(1, 1000)
        self.sweep_episodes.setValue(5)
        form.addRow("Episodes per point", self.sweep_episodes)
        self.sweep_workers = QSpinBox()
        self.sweep_workers.setRange(1, 64)
        self.sweep_workers.setValue(1)
        form.addRow("Worker processes", self.sweep_workers)
        self.sweep_compare = QCheckBox("Compare every source")
        self.sweep_compare.setToolTip("One report, a column per checkpoint")
        form.addRow(self.sweep_compare)
        row = QHBoxLayout()
        self.sweep_button = QPushButton("Run sweep")
        self.sweep_button.clicked.connect(self.toggle_sweep)
        self.sweep_progress = QProgressBar()
        self.sweep_progress.setRange(0, 1)
        self.sweep_progress.setValue(0)
        self.sweep_progress.setTextVisible(False)  # "k / N" once a sweep has counted its rollouts
        row.addWidget(self.sweep_button)
        row.addWidget(self.sweep_progress, 1)
        form.addRow(row)
        self.sweep_label = theme.note_label("every perturbation at three severities, same seeds (demostation eval --sweep)", wrap=True)
        form.addRow(self.sweep_label)
        self.recollect = RecollectBox()
        self.recollect.requested.connect(self._recollect)
        form.addRow(self.recollect)
        self.comparison_table = ComparisonTable()
        self.comparison_table.setVisible(False)  # until a comparison has finished
        form.addRow(self.comparison_table)
        return box

    # -- sources ---------------------------------------------------------------------------------
    def add_source(self, path: str, select: bool = True) -> None:
        idx = self.source_combo.findData(path)
        if idx < 0:
            self.source_combo.addItem(f"{Path(path).name}  ({path})", path)
            idx = self.source_combo.count() - 1
            self._remember_sources()
        if select:
            self.source_combo.setCurrentIndex(idx)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Training run", str(Path.home()))
        if path:
            self.add_source(path)

    def source(self) -> str:
        return str(self.source_combo.currentData())

    # -- running ---------------------------------------------------------------------------------
    def start(self) -> bool:
        self.ctx.settings.setValue("run/source", self.source())
        self.takeover_button.setChecked(False)
        return self.controller.start(self.source())

    def emergency_stop(self) -> None:
        self.controller.estop()
        self.live.set_badge("E-STOP", theme.BAD)
        self.ctx.messages.fail("EMERGENCY STOP: the robot holds its pose (Release e-stop to go on)")
        self._on_state(self.controller.state)

    def release_estop(self) -> None:
        self.controller.release_estop()
        self.live.set_badge("POLICY" if self.controller.state == "running" else "", theme.ACCENT)
        self.ctx.messages.say("e-stop released")
        self._on_state(self.controller.state)

    # -- take-over recording ---------------------------------------------------------------------
    def set_recovery_dataset(self, path: str | None) -> None:
        """Record take-overs into this dataset folder (None or "": do not record them)."""
        self.controller.recovery.dataset = Path(path).expanduser() if path else None
        self._show_recovery_target()

    def _choose_recovery_dataset(self) -> None:
        start = str(self.controller.recovery.dataset or Path.home())
        path = QFileDialog.getExistingDirectory(self, "Record take-overs into dataset", start)
        if path:
            self.set_recovery_dataset(path)
            self.ctx.dataset.set(path)

    def _recovery_toggled(self, on: bool) -> None:
        self.controller.recovery.enabled = on
        self.ctx.settings.setValue("run/record_takeovers", on)
        self._show_recovery_target()

    def _show_recovery_target(self) -> None:
        rec = self.controller.recovery
        if not rec.enabled:
            text, tip = "Take-overs are not recorded (switched off).", ""
        elif rec.dataset is None:
            text = ("No dataset yet: take-over still drives the robot, but is not recorded. "
                    "Record or open a dataset in any panel, or choose one here.")
            tip = ""
        else:
            text, tip = f"Into “{rec.dataset.name}”, tagged recovery", str(rec.dataset)
        self.recovery_target.setText(text)
        self.recovery_target.setToolTip(tip)
        missing = rec.enabled and rec.dataset is None  # the operator should notice this one
        self.recovery_target.setStyleSheet(f"color: {(theme.WARN if missing else theme.DIM).name()};")

    def _on_recovery_started(self, episode_id: str) -> None:
        self._show_recording()
        self.ctx.messages.say(f"recording the take-over as {episode_id} (recovery)")

    def _show_recording(self) -> None:
        rec = self.controller.recovery
        if rec.recording:
            seconds = time.monotonic() - (rec.started_at or time.monotonic())
            self.recovery_light.set_state("recording", f"REC recovery {rec.episode_id} · {seconds:.1f} s")
        elif self.recovery_light.state == "recording":
            self.recovery_light.set_state("busy", "saving the recovery episode…")

    def _on_recovery_saved(self, info: dict) -> None:
        self.recovery_light.set_state("ok", f"saved {info['id']} ({info['duration_s']:.1f} s, tagged recovery)")
        self.ctx.messages.say(f"recovery episode {info['id']} saved in {Path(info['dataset']).name}: "
                              f"{info['frames']} frames, {info['duration_s']:.1f} s")
        self.ctx.bus.episode_recorded.emit(info["dataset"], info["id"])

    def _on_recovery_failed(self, line: str) -> None:
        self.recovery_light.set_state("error", "take-over not recorded")
        self.recovery_light.setToolTip(line)
        self.ctx.messages.fail(line)

    def _on_state(self, state: str) -> None:
        running = state == "running"
        if not running and self.takeover_button.isChecked():
            self.takeover_button.blockSignals(True)  # the run ended: nobody is in control any more
            self.takeover_button.setChecked(False)
            self.takeover_button.blockSignals(False)
        self.start_button.setEnabled(state == "idle")
        self.stop_button.setEnabled(running)
        self.takeover_button.setEnabled(running)
        self.release_button.setEnabled(self.controller.estopped)
        self.source_combo.setEnabled(state == "idle")
        colours = {"idle": "idle", "loading": "busy", "running": "ok", "stopping": "busy"}
        text = {"idle": "idle", "loading": "loading the policy…", "running": f"running {self.controller.policy.name}"
                if self.controller.policy else "running", "stopping": "stopping…"}[state]
        if self.controller.estopped:
            self.run_light.set_state("error", "E-STOP — holding")
        else:
            self.run_light.set_state(colours[state], text)
        if running and not self.controller.estopped:
            self.live.set_badge("POLICY", theme.ACCENT)
            self._camera = self.ctx.station.call(lambda s: camera_pose(s, OVERLAY_CAMERA))
        elif state == "idle":
            self.live.set_badge("" if not self.controller.estopped else "E-STOP", theme.BAD)
            self.live.views[OVERLAY_CAMERA].set_overlay(None)

    def _on_chunk(self, times: np.ndarray, values: np.ndarray) -> None:
        """10 Hz while running: who is in control (badge, REC indicator) and the plan on the scene view."""
        active = self.controller.active_source
        recording = self.controller.recovery.recording
        if self.controller.estopped:
            colour, caption = theme.DIM, "E-STOP: holding (the plan is not executed)"
            self.live.set_badge("E-STOP", theme.BAD)
        elif active == "policy":
            n = len(values)
            colour, caption = theme.OK, f"plan: {n} waypoint{'' if n == 1 else 's'} ahead"
            self.live.set_badge("POLICY", theme.ACCENT)
        else:
            colour, caption = theme.WARN, "operator in control" + (" · recording recovery" if recording else "")
            self.live.set_badge("OPERATOR · REC" if recording else "OPERATOR", theme.BAD if recording else theme.WARN)
        self._show_recording()
        view = self.live.views.get(OVERLAY_CAMERA)
        if view is not None and self._camera is not None and len(values) > 0:
            size = self.ctx.station.view_size
            view.set_overlay(project_points(values[:, :3], self._camera, size, size), colour, caption)
        ms = self.controller.predict_ms()
        inter = self.controller.interventions()
        inter_text = ", ".join(f"{k} {v}" for k, v in inter.items() if v) or "none"
        self.safety_label.setText(f"inference {ms:.0f} ms · safety interventions: {inter_text}" if ms is not None
                                  else f"safety interventions: {inter_text}")

    def _on_status(self, s: dict) -> None:
        if self.controller.state == "running" and self.isVisible():
            state = "success" if s["success"] else f"score {s['score']:.2f}"
            self.episode_label.setText(f"seed {s['seed']} · {s['time']:.1f} s · {state}")

    def _on_episode(self, outcome) -> None:
        st = self.controller.stats
        self.counter_label.setText(f"{st.successes} / {len(st.episodes)}")
        marks = " ".join(("✓" if e.success else "✗") + ("*" if e.took_over else "") for e in st.episodes[-20:])
        self.history_label.setText(f"{100 * st.rate:.0f} % success · last: {marks}" +
                                   ("  (* = operator took over)" if any(e.took_over for e in st.episodes) else ""))
        self.ctx.messages.say(f"episode seed {outcome.seed}: {'success' if outcome.success else 'failure'} "
                              f"(score {outcome.score:.2f}, {outcome.seconds:.1f} s)")

    # -- sweep -----------------------------------------------------------------------------------
    def toggle_sweep(self) -> None:
        if self._sweep is not None:
            self.cancel_sweep()
            return
        try:
            args, self._sweep_out = self.sweep_command()
        except ValueError as exc:
            self.ctx.messages.alert("Robustness sweep", str(exc))
            return
        self._comparing = self.sweep_compare.isChecked()
        proc = QProcess(self)
        proc.setWorkingDirectory(str(REPO_ROOT))
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        proc.setProcessEnvironment(env)
        proc.readyReadStandardError.connect(self._sweep_stderr)
        proc.readyReadStandardOutput.connect(lambda: setattr(self, "_sweep_stdout", self._sweep_stdout +
                                                             bytes(proc.readAllStandardOutput())))
        proc.finished.connect(self._sweep_finished)
        self._sweep, self._sweep_stdout = proc, b""
        self._sweep_errors: list[str] = []
        self._sweep_stderr_tail = ""
        self._sweep_cancelling = False
        self.sweep_done = self.sweep_total = 0
        self.sweep_button.setText("Cancel sweep")
        self.sweep_progress.setRange(0, 0)  # busy only until the policy is loaded and the rollouts are counted
        self.sweep_progress.setFormat("%v / %m")
        self.sweep_label.setText("loading the policy…")
        self.sweep_label.setToolTip(f"demostation {' '.join(args[2:])}")
        proc.start(sys.executable, args)
        lower_priority(proc)

    def sweep_command(self) -> tuple[list[str], Path]:
        """The `demostation eval` arguments and output folder for the sweep (or, with "Compare every
        source", the comparison of every source in the list); ValueError when there is nothing to compare."""
        beside_data = (self.ctx.dataset.path or Path(default_dataset_dir()).expanduser()).parent
        common = ["--task", self.ctx.task, "--sweep", "--episodes", str(self.sweep_episodes.value()),
                  "--workers", str(self.sweep_workers.value())]
        if self.sweep_compare.isChecked():
            sources = [str(self.source_combo.itemData(i)) for i in range(self.source_combo.count())]
            named = list(dict.fromkeys("expert-chunks" if s == EXPERT_SOURCE else s for s in sources))
            if len(named) < 2:
                raise ValueError("comparing needs at least two sources: add a training run with Checkpoint…")
            out = beside_data / "compare"
            return ["-m", "app", "eval", *named, *common, "--out", str(out), "--json", "--progress-json"], out
        source = self.source()
        out = (Path(source) / "sweep") if source != EXPERT_SOURCE else beside_data / "sweep-expert"
        return ["-m", "app", "eval", "expert-chunks" if source == EXPERT_SOURCE else source, *common,
                "--out", str(out), "--json", "--progress-json"], out

    def cancel_sweep(self) -> None:
        """Ask the sweep to stop after the rollout under way (SIGTERM: its workers are shut down
        cleanly); kill it if it has not ended 20 s later. A cancelled sweep writes no report."""
        proc = self._sweep
        if proc is None or self._sweep_cancelling:
            return
        self._sweep_cancelling = True
        self.sweep_button.setText("Cancelling…")
        self.sweep_button.setEnabled(False)
        self.sweep_label.setText(f"cancelling after rollout {self.sweep_done} / {self.sweep_total}…")
        proc.terminate()
        QTimer.singleShot(20000, lambda: proc.kill() if self._sweep is proc else None)

    def _sweep_stderr(self) -> None:
        text = self._sweep_stderr_tail + bytes(self._sweep.readAllStandardError()).decode("utf-8", "replace")
        lines = text.replace("\r", "\n").split("\n")
        self._sweep_stderr_tail = lines.pop()  # a line still being written
        for line in lines:
            self.sweep_line(line)

    def sweep_line(self, line: str) -> None:
        """One stderr line of `demostation eval --progress-json`: a progress report, or an error line."""
        line = line.strip()
        if not line:
            return
        try:
            report = json.loads(line) if line.startswith("{") else None
        except ValueError:
            report = None
        if not isinstance(report, dict) or "done" not in report or "total" not in report:
            self._sweep_errors.append(line)
            return
        self.sweep_done, self.sweep_total = int(report["done"]), int(report["total"])
        message = str(report.get("message", ""))
        if not self._sweep_cancelling:
            self.sweep_label.setText(f"starting {message}" if self.sweep_done == 0 else
                                     f"rollout {self.sweep_done} / {self.sweep_total} — {message}")
        self.sweep_progress.setRange(0, max(1, self.sweep_total))
        self.sweep_progress.setValue(self.sweep_done)
        self.sweep_progress.setTextVisible(True)

    def _sweep_finished(self, code: int, status) -> None:
        self._sweep = None
        if self._sweep_stderr_tail:
            self.sweep_line(self._sweep_stderr_tail)
            self._sweep_stderr_tail = ""
        self.sweep_button.setText("Run sweep")
        self.sweep_button.setEnabled(True)
        if self._sweep_cancelling:
            self._sweep_cancelling = False
            self.sweep_progress.setRange(0, max(1, self.sweep_total))
            self.sweep_progress.setValue(0)
            self.sweep_label.setText(f"sweep cancelled after {self.sweep_done} / {self.sweep_total} rollouts — "
                                     "no report written (the plot keeps the last finished sweep)")
            return
        if code != 0:
            self.sweep_progress.setRange(0, 1)
            self.sweep_progress.setValue(0)
            msg = self._sweep_errors[-1] if self._sweep_errors else f"exit status {code}"
            self.sweep_label.setText(f"sweep stopped: {msg}")
            if status == QProcess.ExitStatus.NormalExit:
                self.ctx.messages.alert("Robustness sweep", msg)
            return
        self.sweep_progress.setRange(0, max(1, self.sweep_total))
        self.sweep_progress.setValue(max(1, self.sweep_total))
        comparing = self._comparing
        name = "compare.json" if comparing else "sweep.json"
        path = self._sweep_out / name if self._sweep_out else None
        try:
            report = json.loads(path.read_text()) if path and path.exists() else json.loads(
                self._sweep_stdout.decode().strip().splitlines()[-1])
        except (OSError, ValueError, IndexError) as exc:
            self.ctx.messages.fail(f"sweep finished but its report cannot be read: {exc}")
            return
        if comparing:
            self.show_comparison(report)
        else:
            self.show_sweep(report)
        self.sweep_label.setText(f"report: {self._sweep_out}")

    def show_sweep(self, report: dict) -> None:
        """Success against severity, one line per perturbation, starting from the shared baseline."""
        if "cells" not in report and "sweep" in report:
            report = report["sweep"]
        self.recollect.set_report(report)
        base = float(report["baseline"]["success_rate"])
        self.sweep_plot.clear()
        self.sweep_plot.set_x_range(0.0, 1.0)
        self.sweep_plot.set_y_range(-0.05, 1.05)
        names = sorted({c["perturbation"] for c in report["cells"]})
        for k, name in enumerate(names):
            cells = sorted((c for c in report["cells"] if c["perturbation"] == name), key=lambda c: c["severity"])
            xs = [0.0] + [float(c["severity"]) for c in cells]
            ys = [base] + [float(c["success_rate"]) for c in cells]
            self.sweep_plot.set_series(name, xs, ys, theme.SERIES[k % len(theme.SERIES)], style="line+points")
        self.sweep_plot.title = (f"robustness sweep: {report.get('policy', '')} on {report.get('task', '')}, "
                                 f"{report.get('episodes_per_cell', '?')} episodes per point")

    def _recollect(self, perturbation: str, severity: float, tag: str) -> None:
        """Targeted re-collection: the Record panel records under this cell, its episodes tagged."""
        self.ctx.bus.recollect.emit(perturbation, severity, tag)
        self.ctx.bus.show_panel.emit("record")

    def show_comparison(self, report: dict) -> None:
        """A checkpoint comparison: the table of every cell, and per checkpoint its success rate
        averaged over the perturbations at each severity (the baseline at 0) on the plot."""
        self.comparison_table.show_report(report)
        self.comparison_table.setVisible(True)
        self.sweep_plot.clear()
        self.sweep_plot.set_x_range(0.0, 1.0)
        self.sweep_plot.set_y_range(-0.05, 1.05)
        for k, ckpt in enumerate(report["checkpoints"]):
            label = ckpt["label"]
            by_sev: dict[float, list[float]] = {}
            for row in report["rows"]:
                by_sev.setdefault(float(row["severity"]), []).append(float(row["checkpoints"][label]["success_rate"]))
            xs = sorted(by_sev)
            ys = [float(np.mean(by_sev[x])) for x in xs]
            self.sweep_plot.set_series(label, xs, ys, theme.SERIES[k % len(theme.SERIES)], style="line+points")
        self.sweep_plot.title = (f"checkpoints on {report.get('task', '')}: success averaged over the perturbations, "
                                 f"{report.get('episodes_per_cell', '?')} episodes per cell (table: each cell)")

    # -- persistence -----------------------------------------------------------------------------
    def _remember_sources(self) -> None:
        paths = [self.source_combo.itemData(i) for i in range(self.source_combo.count())]
        self.ctx.settings.setValue("run/sources", [p for p in paths if p != EXPERT_SOURCE][-20:])

    def _restore(self) -> None:
        self.recovery_check.setChecked(bool(read(self.ctx.settings, "run/record_takeovers", True)))
        self.controller.recovery.operator = str(read(self.ctx.settings, "record/operator", ""))
        chosen = self.ctx.dataset.path
        self.set_recovery_dataset(chosen if chosen is not None and chosen.is_dir() else None)
        for path in read(self.ctx.settings, "run/sources", []):
            if Path(path).exists():
                self.add_source(path, select=False)
        idx = self.source_combo.findData(read(self.ctx.settings, "run/source", EXPERT_SOURCE))
        self.source_combo.setCurrentIndex(max(0, idx))

    def shutdown(self) -> None:
        if self._sweep is not None:
            self._sweep.kill()
            self._sweep.waitForFinished(3000)
        self.controller.shutdown()
