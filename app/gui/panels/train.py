"""Train panel: configure a run, launch it in its own process, watch the loss, stop it, open it.

Runs are `demostation train` processes (`app.gui.train_runs`); several can run and all are listed
with their state. The selected run's loss curves are drawn live from its ``metrics.csv``.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui import theme
from app.gui.context import AppContext
from app.gui.panels.base import Panel
from app.gui.plot_widget import PlotWidget
from app.gui.settings import read
from app.gui.train_runs import TrainRun, TrainSpec
from policy.config import DEFAULT_DEVICE, DEFAULT_PRESET, PRESET_CHOICES, PRESETS, preset
from policy.preset_facts import facts
from recorder.dataset import require_dataset

STATE_LIGHT = {"starting": theme.ACCENT, "running": theme.ACCENT, "finished": theme.OK, "failed": theme.BAD,
               "stopped": theme.WARN}
RUN_COLUMNS = ("Run", "State", "Step", "Loss", "Best val", "Time")
HEADS = {"unet": "1-D temporal U-Net", "transformer": "Transformer"}  # policy.heads.HEADS, in words
OBJECTIVES = {"ddpm": "DDPM (ε prediction)", "flow": "Flow matching"}  # policy.objectives.OBJECTIVES
SHORT = {"unet": "U-Net", "transformer": "Transformer", "ddpm": "DDPM", "flow": "flow matching"}


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


class TrainPanel(Panel):
    key = "train"
    title = "Train"
    icon_name = "train"
    hint = "Train a diffusion policy on the curated dataset. Each run is its own process; the loss updates live."

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.runs: list[TrainRun] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(10)
        self.build_header(layout)

        form = self._form()
        scroll = self.side_scroll(form)

        right = QWidget()
        col = QVBoxLayout(right)
        col.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, len(RUN_COLUMNS))
        self.table.setHorizontalHeaderLabels(RUN_COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setMaximumHeight(170)
        self.table.itemSelectionChanged.connect(self._show_selected)
        col.addWidget(self.table)
        buttons = QHBoxLayout()
        self.stop_button = QPushButton("■ Stop")
        self.stop_button.setProperty("role", "danger")
        self.stop_button.clicked.connect(self.stop_selected)
        self.open_button = QPushButton("Open run…")
        self.open_button.clicked.connect(self._browse_run)
        self.use_button = QPushButton("Run this policy ▸")
        self.use_button.setToolTip("Load the run's checkpoint in the Run panel")
        self.use_button.clicked.connect(self.use_selected)
        self.progress = QProgressBar()
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.use_button)
        col.addLayout(buttons)
        self.run_label = theme.note_label("")
        col.addWidget(self.run_label)
        self.loss_plot = PlotWidget("loss", x_label="step", log_y=True)
        self.loss_plot.empty_text = "the loss appears here when a run logs its first steps"
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(400)
        self.log_view.setPlaceholderText("the training process's messages")
        lower = self.remember_splitter("plots", QSplitter(Qt.Orientation.Vertical))
        lower.addWidget(self.loss_plot)
        lower.addWidget(self.log_view)
        lower.setStretchFactor(0, 3)
        lower.setStretchFactor(1, 1)
        col.addWidget(lower, 1)

        split = self.remember_splitter("main", QSplitter(Qt.Orientation.Horizontal))
        split.addWidget(scroll)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([440, 840])  # the form's widest width (a saved layout wins): its texts fit
        layout.addWidget(split, 1)

        self._tick = QTimer(self)
        self._tick.timeout.connect(self._refresh_times)
        self._tick.start(1000)
        ctx.dataset.changed.connect(self.dataset_edit.setText)
        self._restore_form()
        self._restore_runs()
        self._update_buttons()

    # -- form ------------------------------------------------------------------------------------
    def _form(self) -> QWidget:
        w = QWidget()
        col = QVBoxLayout(w)
        col.setContentsMargins(0, 0, 0, 0)
        data = QGroupBox("Data")
        f = QFormLayout(data)
        row = QHBoxLayout()
        self.dataset_edit = QLineEdit()
        self.dataset_edit.setPlaceholderText("dataset folder")
        browse = QPushButton("…")
        browse.setProperty("role", "tool")
        browse.clicked.connect(self._browse_dataset)
        row.addWidget(self.dataset_edit, 1)
        row.addWidget(browse)
        f.addRow("Dataset", row)
        self.tags_edit = QLineEdit()
        self.tags_edit.setPlaceholderText("any of these tags (comma separated)")
        self.exclude_edit = QLineEdit()
        self.exclude_edit.setPlaceholderText("none of these tags")
        f.addRow("Only tags", self.tags_edit)
        f.addRow("Skip tags", self.exclude_edit)
        outcomes = QHBoxLayout()
        self.outcome_checks = {o: QCheckBox(o) for o in ("success", "failure", "unknown")}
        for c in self.outcome_checks.values():
            outcomes.addWidget(c)
        f.addRow("Outcomes", outcomes)
        self.cameras_edit = QLineEdit()
        f.addRow("Cameras", self.cameras_edit)
        col.addWidget(data)

        model = QGroupBox("Model and training")
        f = QFormLayout(model)
        self.preset_combo = QComboBox()
        for name in PRESET_CHOICES:
            self.preset_combo.addItem(f"{name} — {facts(name).title}", name)
        self.preset_combo.setToolTip("`demostation train --preset`; every field left at \"preset\" is the preset's")
        self.preset_facts = theme.note_label("", wrap=True)
        self.preset_facts.setTextFormat(Qt.TextFormat.RichText)
        self.head_combo = QComboBox()
        self.objective_combo = QComboBox()
        for combo in (self.preset_combo, self.head_combo, self.objective_combo):
            # sized by the column, not by its longest entry (the "preset (cpu: … · gpu: …)" ones)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(0, 10_000_000)
        self.steps_spin.setSingleStep(500)
        self.steps_spin.setGroupSeparatorShown(True)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(0, 4096)
        self.device_combo = QComboBox()
        for d in ("auto", "cpu", "cuda"):
            self.device_combo.addItem(d, d)
        self.time_spin = QDoubleSpinBox()
        self.time_spin.setRange(0, 10_000)
        self.time_spin.setSuffix(" min")
        f.addRow("Preset", self.preset_combo)
        f.addRow(self.preset_facts)
        f.addRow("Head", self.head_combo)
        f.addRow("Objective", self.objective_combo)
        f.addRow("Steps", self.steps_spin)
        f.addRow("Batch size", self.batch_spin)
        f.addRow("Device", self.device_combo)
        f.addRow("Time limit", self.time_spin)
        self.preset_combo.currentIndexChanged.connect(lambda _: self._show_preset())
        self._show_preset()
        row = QHBoxLayout()
        self.config_edit = QLineEdit()
        self.config_edit.setPlaceholderText("optional JSON overrides (any policy/train setting)")
        pick = QPushButton("…")
        pick.setProperty("role", "tool")
        pick.clicked.connect(self._browse_config)
        row.addWidget(self.config_edit, 1)
        row.addWidget(pick)
        f.addRow("Overrides", row)
        col.addWidget(model)

        out = QGroupBox("Run")
        f = QFormLayout(out)
        row = QHBoxLayout()
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("new folder for this run (default: beside the dataset)")
        row.addWidget(self.out_edit, 1)
        f.addRow("Folder", row)
        self.start_button = QPushButton("▶ Start training")
        self.start_button.setProperty("role", "primary")
        self.start_button.clicked.connect(self.start_training)
        f.addRow(self.start_button)
        col.addWidget(out)
        col.addStretch(1)
        return w

    def _show_preset(self) -> None:
        """Label the "preset" choice of every field with the preset's own value, and show its facts.

        The values come from `policy.config.preset` and the facts from `policy.preset_facts`: the
        panel keeps no list of its own. ``auto`` is resolved by the training process (it needs
        torch to see a GPU), so its fields show both presets' values.
        """
        name = self.preset_combo.currentData() or DEFAULT_PRESET
        names = list(PRESETS) if name == DEFAULT_PRESET else [name]
        configs = {n: preset(n) for n in names}

        def of(value) -> str:
            values = {n: value(c) for n, c in configs.items()}
            if len(set(values.values())) == 1:
                return f"preset ({next(iter(values.values()))})"
            return "preset: " + ", ".join(f"{n} {v}" for n, v in values.items())

        for combo, choices, value in (
                (self.head_combo, HEADS, lambda c: SHORT[c.policy.head]),
                (self.objective_combo, OBJECTIVES, lambda c: SHORT[c.policy.objective])):
            chosen = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(of(value), "")
            for key, label in choices.items():
                combo.addItem(label, key)
            combo.setCurrentIndex(max(0, combo.findData(chosen)))
            combo.blockSignals(False)
            combo.setToolTip(combo.itemText(0))
        self.steps_spin.setSpecialValueText(of(lambda c: f"{c.train.steps:,}"))
        self.batch_spin.setSpecialValueText(of(lambda c: c.train.batch_size))
        self.time_spin.setSpecialValueText(of(lambda c: f"{c.train.time_limit_s / 60:g} min" if c.train.time_limit_s
                                              else "no limit"))
        self.cameras_edit.setPlaceholderText(of(lambda c: ", ".join(c.policy.cameras)))
        lines, tips = [], []
        for n in ([DEFAULT_PRESET] if name == DEFAULT_PRESET else []) + names:
            f = facts(n)
            tips.append(f"{n}: {f.recipe} — figures from {f.source}")
            if n == DEFAULT_PRESET:
                lines.append(f"<b>{n}</b> picks {f.title}.")
            else:
                lines.append(f"<b>{n}</b> costs {f.cost}.<br>&nbsp;&nbsp;Achieved: {f.achieved}.")
        self.preset_facts.setText("<br>".join(lines))
        self.preset_facts.setToolTip("\n".join(tips))

    def spec(self) -> TrainSpec:
        dataset = self.dataset_edit.text().strip()
        out = self.out_edit.text().strip() or self._default_out(dataset)
        outcomes = [o for o, c in self.outcome_checks.items() if c.isChecked()]
        return TrainSpec(dataset=dataset, out=out, head=self.head_combo.currentData() or None,
                         objective=self.objective_combo.currentData() or None, steps=self.steps_spin.value() or None,
                         batch_size=self.batch_spin.value() or None, device=self.device_combo.currentData(),
                         preset=self.preset_combo.currentData(), cameras=self.cameras_edit.text().strip(),
                         tags=_split(self.tags_edit.text()), exclude_tags=_split(self.exclude_edit.text()),
                         # every outcome ticked is no filter at all, as the command without --outcome
                         outcomes=outcomes if len(outcomes) < len(self.outcome_checks) else [],
                         time_limit_min=self.time_spin.value() or None, config_file=self.config_edit.text().strip())

    @staticmethod
    def _default_out(dataset: str) -> str:
        if not dataset:
            return ""
        root = Path(dataset).expanduser()
        return str(root.parent / "runs" / f"{root.name}-{time.strftime('%Y%m%d-%H%M%S')}")

    # -- runs ------------------------------------------------------------------------------------
    def start_training(self) -> TrainRun | None:
        try:
            spec = self.spec()
            spec.argv()  # validate before anything starts
            if not any(c.isChecked() for c in self.outcome_checks.values()):
                raise ValueError("tick at least one outcome to train on")
            require_dataset(Path(spec.dataset).expanduser())
        except (ValueError, OSError) as exc:
            self.ctx.messages.fail(str(exc))
            return None
        self._save_form()
        self.ctx.dataset.set(spec.dataset)  # training on a dataset is choosing it
        run = TrainRun(spec.out, spec, self)
        self._add_run(run)
        run.start()
        self.out_edit.clear()
        self.ctx.messages.say(f"training started: {Path(spec.out).name}")
        return run

    def _add_run(self, run: TrainRun) -> None:
        self.runs.append(run)
        run.changed.connect(lambda r=run: self._run_changed(r))
        run.metrics.connect(lambda rows, r=run: self._run_metrics(r, rows))
        self.table.insertRow(self.table.rowCount())
        self._fill_row(len(self.runs) - 1)
        self.table.selectRow(len(self.runs) - 1)
        self._remember_runs()

    def open_run(self, path: str | Path) -> TrainRun | None:
        try:
            run = TrainRun.open(path, self)
        except ValueError as exc:
            self.ctx.messages.fail(str(exc))
            return None
        for i, existing in enumerate(self.runs):
            if existing.run_dir.resolve() == run.run_dir.resolve():
                self.table.selectRow(i)
                return existing
        self._add_run(run)
        return run

    def selected_run(self) -> TrainRun | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.runs[rows[0].row()] if rows else None

    def stop_selected(self) -> None:
        run = self.selected_run()
        if run is not None and run.is_running():
            run.stop()
            self.ctx.messages.say(f"stopping {run.run_dir.name}…")

    def use_selected(self) -> None:
        run = self.selected_run()
        if run is None or run.checkpoint() is None:
            self.ctx.messages.fail("this run has no checkpoint yet")
            return
        self.ctx.bus.checkpoint_ready.emit(str(run.run_dir))
        self.ctx.bus.show_panel.emit("run")

    def _run_changed(self, run: TrainRun) -> None:
        i = self.runs.index(run)
        self._fill_row(i)
        if run is self.selected_run():
            self._show_selected()
        if run.state == "finished" and run.checkpoint() is not None:
            self.ctx.messages.say(f"{run.run_dir.name} finished: {run.step} steps, loss {run.last_loss or float('nan'):.4f}")
            self.ctx.bus.checkpoint_ready.emit(str(run.run_dir))
        elif run.state == "stopped":
            saved = "its checkpoint can be used; Start with the same run folder resumes it" \
                if run.checkpoint() is not None else "stopped before the first step: nothing saved"
            self.ctx.messages.say(f"{run.run_dir.name} stopped at step {run.step}: {saved}")
        elif run.state == "failed":
            self.ctx.messages.alert("Training failed", f"{run.run_dir.name}: {run.error}")
        self._update_buttons()

    def _run_metrics(self, run: TrainRun, rows: list[dict]) -> None:
        if run is not self.selected_run():
            return
        for r in rows:
            if r.get("loss") is not None:
                self.loss_plot.append("train", r["step"], r["loss"], theme.SERIES[0])
            if r.get("val_loss") is not None:
                self.loss_plot.append("validation", r["step"], r["val_loss"], theme.SERIES[1])
        self._show_progress(run)

    def _fill_row(self, i: int) -> None:
        run = self.runs[i]
        loss = "—" if run.last_loss is None else f"{run.last_loss:.4f}"
        val = "—" if run.best_val is None else f"{run.best_val:.4f}"
        total = f"/{run.total_steps}" if run.total_steps else ""
        values = (run.run_dir.name, run.state, f"{run.step}{total}", loss, val, _duration(run.elapsed()))
        for c, text in enumerate(values):
            item = self.table.item(i, c)
            if item is None:
                item = QTableWidgetItem()
                self.table.setItem(i, c, item)
            item.setText(text)
            if c == 1:
                item.setForeground(STATE_LIGHT.get(run.state, theme.TEXT))
            if c == 0:
                item.setToolTip(str(run.run_dir))

    def _show_selected(self) -> None:
        run = self.selected_run()
        self.loss_plot.clear()
        self.log_view.clear()
        if run is None:
            self.run_label.setText("")
            self._update_buttons()
            return
        steps = [r["step"] for r in run.rows if r.get("loss") is not None]
        self.loss_plot.set_series("train", steps, [r["loss"] for r in run.rows if r.get("loss") is not None],
                                  theme.SERIES[0])
        val = [(r["step"], r["val_loss"]) for r in run.rows if r.get("val_loss") is not None]
        if val:
            self.loss_plot.set_series("validation", [v[0] for v in val], [v[1] for v in val], theme.SERIES[1])
        self.log_view.setPlainText("\n".join(run.log))
        self.log_view.verticalScrollBar().setValue(self.log_view.verticalScrollBar().maximum())
        ckpt = run.checkpoint()
        detail = f"{run.run_dir}" + (f" · checkpoint {ckpt.name}" if ckpt else "")
        if run.error:
            detail += f" · {run.error}"
        self.run_label.setText(detail)
        self._show_progress(run)
        self._update_buttons()

    def _show_progress(self, run: TrainRun) -> None:
        self.progress.setRange(0, max(1, run.total_steps))
        self.progress.setValue(min(run.step, max(1, run.total_steps)))
        self.progress.setFormat(f"{run.state} · step {run.step}/{run.total_steps or '?'}")

    def _refresh_times(self) -> None:
        for i, run in enumerate(self.runs):
            if run.is_running():
                self._fill_row(i)
                if run is self.selected_run():
                    self.log_view.setPlainText("\n".join(run.log))
                    self.log_view.verticalScrollBar().setValue(self.log_view.verticalScrollBar().maximum())

    def _update_buttons(self) -> None:
        run = self.selected_run()
        self.stop_button.setEnabled(run is not None and run.is_running())
        self.use_button.setEnabled(run is not None and run.checkpoint() is not None)

    # -- files and settings ----------------------------------------------------------------------
    def _browse_dataset(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Dataset to train on", self.dataset_edit.text() or str(Path.home()))
        if path:
            self.dataset_edit.setText(path)
            self._make_current()

    def _make_current(self) -> None:
        """A dataset chosen here (that is one) becomes the window's current dataset."""
        text = self.dataset_edit.text().strip()
        if text and (Path(text).expanduser() / "episodes").is_dir():
            self.ctx.dataset.set(text)

    def _browse_config(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Configuration overrides", str(Path.home()), "JSON (*.json)")
        if path:
            self.config_edit.setText(path)

    def _browse_run(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a training run", str(Path.home()))
        if path:
            self.open_run(path)

    def _restore_form(self) -> None:
        """The form as last used; what was never changed is `demostation train`'s default.

        Only choices that differ from the preset are stored (under ``train/override/``), so a
        form saved before the defaults changed does not keep an old default as if it were chosen.
        """
        s = self.ctx.settings
        self.dataset_edit.setText(self.ctx.dataset.text() or read(s, "train/dataset", ""))
        self.preset_combo.setCurrentIndex(max(0, self.preset_combo.findData(read(s, "train/preset", DEFAULT_PRESET))))
        self._show_preset()
        self.head_combo.setCurrentIndex(max(0, self.head_combo.findData(read(s, "train/override/head", ""))))
        self.objective_combo.setCurrentIndex(max(0, self.objective_combo.findData(read(s, "train/override/objective", ""))))
        self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(read(s, "train/device", DEFAULT_DEVICE))))
        self.steps_spin.setValue(read(s, "train/override/steps", 0))
        self.batch_spin.setValue(read(s, "train/batch_size", 0))
        self.time_spin.setValue(read(s, "train/time_limit_min", 0.0))
        self.cameras_edit.setText(read(s, "train/override/cameras", ""))
        self.config_edit.setText(read(s, "train/config_file", ""))
        self.tags_edit.setText(read(s, "train/tags", ""))
        self.exclude_edit.setText(read(s, "train/exclude_tags", ""))
        ticked = read(s, "train/outcomes", list(self.outcome_checks))
        for o, c in self.outcome_checks.items():
            c.setChecked(o in ticked)

    def _save_form(self) -> None:
        s = self.ctx.settings
        s.setValue("train/dataset", self.dataset_edit.text().strip())
        s.setValue("train/preset", self.preset_combo.currentData())
        s.setValue("train/override/head", self.head_combo.currentData() or "")
        s.setValue("train/override/objective", self.objective_combo.currentData() or "")
        s.setValue("train/device", self.device_combo.currentData())
        s.setValue("train/override/steps", self.steps_spin.value())
        s.setValue("train/batch_size", self.batch_spin.value())
        s.setValue("train/time_limit_min", self.time_spin.value())
        s.setValue("train/override/cameras", self.cameras_edit.text().strip())
        s.setValue("train/config_file", self.config_edit.text().strip())
        s.setValue("train/tags", self.tags_edit.text().strip())
        s.setValue("train/exclude_tags", self.exclude_edit.text().strip())
        s.setValue("train/outcomes", [o for o, c in self.outcome_checks.items() if c.isChecked()])

    def _remember_runs(self) -> None:
        self.ctx.settings.setValue("train/runs", [str(r.run_dir) for r in self.runs][-20:])

    def _restore_runs(self) -> None:
        for path in read(self.ctx.settings, "train/runs", []):
            if Path(path).is_dir():
                run = None
                try:
                    run = TrainRun.open(path, self)
                except ValueError:
                    continue
                self._add_run(run)

    def save_state(self) -> None:
        super().save_state()
        self._save_form()

    def shutdown(self) -> None:
        """Closing the window stops running trainings (each keeps its last checkpoint)."""
        for run in self.runs:
            if run.is_running():
                run.stop()
        for run in self.runs:
            if run.is_running():
                run.wait(20000)


def _duration(seconds: float) -> str:
    m, s = divmod(int(max(0.0, seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
