"""Record panel: who records what, start / stop / discard / next, and how well the ticks keep time.

The same four commands come from the buttons, keyboard shortcuts, a foot pedal (which types a key,
PageDown by default) and teleop-device buttons: all go through `RecordPanel.command(name)`.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.gui import theme
from app.gui.agents import ScriptedExpert
from app.gui.context import AppContext
from app.gui.episode_review import EpisodeReview
from app.gui.jobs import JobRunner, describe_error
from app.gui.live_view import LiveView
from app.gui.panels.base import Panel
from app.gui.plot_widget import PlotWidget
from app.gui.recording import RecordController, RecordSettings, format_elapsed
from app.gui.scene_ranges import SceneRangesField
from app.gui.settings import read
from app.gui.status_light import StatusLight
from app.gui.teleop_agent import BUTTON_COMMANDS
from curation.operators import UNNAMED, operator_counts

# command → default keys (a foot pedal usually types PageDown / PageUp or a letter; all rebindable in
# the settings file under record/keys/<command>, comma separated).
DEFAULT_KEYS = {
    "toggle": "Return,Enter",
    "next": "N,PgDown",
    "discard": "Delete,PgUp",
    "fail": "X",
}
COMMAND_HELP = {
    "toggle": "start / stop & keep",
    "next": "keep and start the next",
    "discard": "discard this episode",
    "fail": "stop and keep as a failure",
}
DEVICE_BUTTONS_HELP = "Device buttons (SpaceMouse, VR controller) record, stop, discard and mark recoveries too; M marks a recovery."


def default_dataset_dir() -> str:
    return str(Path.home() / "demostation-data" / "dataset")


class RecordPanel(Panel):
    key = "record"
    title = "Record"
    icon_name = "record"
    hint = "Record demonstrations into a dataset. Drive with the keyboard or a device, or let the scripted expert demonstrate."
    wants_teleop_keys = True

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.controller = RecordController(ctx.station, self,
                                           extra_cameras=ctx.cameras.connected if ctx.cameras is not None else None)
        self.expert = ScriptedExpert()
        self._last_timing = ""
        self.reviewing: dict | None = None  # the saved episode being replayed before keep or discard
        self.practice_started: float | None = None  # time.monotonic() of a practice run (records nothing)
        self._recording_operator = ""
        self.session_operators: Counter[str] = Counter()  # episodes kept in this session, per operator
        self.dataset_operators: dict[str, int] | None = None  # per operator in the dataset (read in a job)
        self._operators_root = ""
        self.operator_job = JobRunner("operator counts", self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(10)
        self.build_header(layout)
        layout.addWidget(self._banner())

        self.live = LiveView(ctx.station, min_size=200)
        self.review = EpisodeReview()
        self.review.keep.connect(lambda _: self.keep_reviewed())
        self.review.discard.connect(lambda _: self.discard_reviewed())
        self.left_stack = QStackedWidget()
        self.left_stack.addWidget(self.live)
        self.left_stack.addWidget(self.review)
        scroll = self.side_column(self._session_group(), self._controls_group(), self._timing_group(),
                                  self._driver_group(), spacing=8)
        split = self.remember_splitter("main", QSplitter(Qt.Orientation.Horizontal))
        left = QWidget()
        left_col = QVBoxLayout(left)
        left_col.setContentsMargins(0, 0, 0, 0)
        left_col.addWidget(self.left_stack, 1)
        self.recent = QListWidget()
        self.recent.setMaximumHeight(110)
        self.recent_label = recent_label = theme.note_label("Episodes recorded in this session")
        left_col.addWidget(recent_label)
        left_col.addWidget(self.recent)
        split.addWidget(left)
        split.addWidget(scroll)
        split.setStretchFactor(0, 1)
        layout.addWidget(split, 1)

        c = self.controller
        c.state_changed.connect(self._on_state)
        c.sample.connect(self._on_sample)
        c.episode_saved.connect(self._on_saved)
        c.episode_discarded.connect(self._on_discarded)
        c.failed.connect(lambda msg: ctx.messages.alert("Recording", msg))
        ctx.station.device_events.connect(self._on_device_events)
        self._sweep_cell = ("", "")  # (scene text, tag) of a sweep cell picked in the Run panel
        ctx.bus.recollect.connect(self._recollect)
        ctx.dataset.changed.connect(self._on_current_dataset)
        if ctx.cameras is not None:  # the lab's own cameras are watched (and recorded) here too
            ctx.cameras.frame.connect(self.live.show_external)
            ctx.cameras.changed.connect(lambda: self.live.drop_external(set(ctx.cameras.connected())))
        self._clock = QTimer(self)
        self._clock.timeout.connect(self._tick_clock)
        self._clock.start(100)
        self._pending_samples: list[dict] = []
        self._timing_timer = QTimer(self)
        self._timing_timer.timeout.connect(self._show_samples)
        self._timing_timer.start(500)
        self.shortcuts: dict[str, list[QShortcut]] = {}
        self._bind_keys()
        self._restore_fields()
        # Remember the form as it is edited (writing the settings file at Start would stall the GUI
        # just as the recording begins).
        for edit in (self.dataset_edit, self.operator_edit, self.task_edit):
            edit.editingFinished.connect(self._save_fields)
        self.dataset_edit.editingFinished.connect(self.refresh_operators)
        self.goal_spin.editingFinished.connect(self._save_fields)
        self.goal_spin.valueChanged.connect(lambda _: self._update_count())
        self.review_check.toggled.connect(lambda _: self._save_fields())
        self.practice_check.toggled.connect(self._practice_toggled)
        for spin in (self.noise_spin, self.pause_spin, self.mistake_spin):
            spin.editingFinished.connect(self._save_fields)
        for check in (self.auto_end_check, self.reset_check, self.continuous_check):
            check.toggled.connect(lambda _: self._save_fields())
        self.driver_combo.currentIndexChanged.connect(lambda _: self._save_fields())
        self._on_state("idle")

    # -- building --------------------------------------------------------------------------------
    def _banner(self) -> QFrame:
        self.banner = QFrame()
        self.banner.setObjectName("RecordBanner")
        row = QHBoxLayout(self.banner)
        row.setContentsMargins(14, 8, 14, 8)
        self.rec_light = StatusLight("READY", "idle")
        f = self.rec_light.label.font()
        f.setPointSizeF(f.pointSizeF() + 4)
        f.setBold(True)
        self.rec_light.label.setFont(f)
        row.addWidget(self.rec_light)
        row.addStretch(1)
        self.episode_label = theme.note_label("no episode")
        row.addWidget(self.episode_label)
        row.addSpacing(24)
        self.elapsed_label = QLabel("00:00.0")
        self.elapsed_label.setObjectName("BigTime")
        row.addWidget(self.elapsed_label)
        row.addSpacing(24)
        self.count_label = QLabel("0 kept")
        self.count_label.setObjectName("BigNumber")
        row.addWidget(self.count_label)
        self.goal_bar = QProgressBar()
        self.goal_bar.setFormat("%v / %m episodes")
        self.goal_bar.setFixedWidth(170)
        self.goal_bar.setToolTip("Episodes kept in this session against the session's goal")
        self.goal_bar.setVisible(False)
        row.addSpacing(12)
        row.addWidget(self.goal_bar)
        return self.banner

    def _session_group(self) -> QGroupBox:
        box = QGroupBox("Session")
        form = QFormLayout(box)
        row = QHBoxLayout()
        self.dataset_edit = QLineEdit()
        self.dataset_edit.setPlaceholderText("folder of the dataset (created if missing)")
        self.dataset_edit.textChanged.connect(self.dataset_edit.setToolTip)  # a long path whole, on hover
        browse = QPushButton("…")
        browse.setProperty("role", "tool")
        browse.setToolTip("Choose the dataset folder")
        browse.clicked.connect(self._browse)
        row.addWidget(self.dataset_edit, 1)
        row.addWidget(browse)
        form.addRow("Dataset", row)
        self.operator_edit = QLineEdit()
        self.operator_edit.setPlaceholderText("who is demonstrating")
        form.addRow("Operator", self.operator_edit)
        self.task_edit = QLineEdit(self.ctx.task)
        self.task_edit.setToolTip("Stored as the episode's task; the station runs " + self.ctx.task)
        form.addRow("Task", self.task_edit)
        self.randomize_edit = SceneRangesField(self.ctx.settings)
        form.addRow("Randomise scene", self.randomize_edit)
        self.goal_spin = QSpinBox()
        self.goal_spin.setRange(0, 100000)
        self.goal_spin.setSpecialValueText("none")
        self.goal_spin.setSuffix(" episodes")
        self.goal_spin.setToolTip("How many episodes this session should keep; the banner shows the progress")
        form.addRow("Goal", self.goal_spin)
        self.operators_label = theme.note_label("", wrap=True)
        self.operators_label.setToolTip("Episodes per operator: the dataset's files (each stores its operator), "
                                        "and this session's in brackets")
        form.addRow("Operators", self.operators_label)
        self.review_check = QCheckBox("Replay each episode before keeping it")
        self.review_check.setToolTip("After Stop, the episode plays back here: Keep (Return) or Discard (Delete)")
        form.addRow(self.review_check)
        self.practice_check = QCheckBox("Practice: record nothing")
        self.practice_check.setToolTip("Start and Stop run practice attempts: no file, no journal, nothing counted")
        form.addRow(self.practice_check)
        return box

    def _driver_group(self) -> QGroupBox:
        box = QGroupBox("Who demonstrates")
        form = QFormLayout(box)
        self.driver_combo = QComboBox()
        self.driver_combo.addItem("Operator (connected input device)", "operator")
        self.driver_combo.addItem("Scripted expert", "expert")
        self.driver_combo.currentIndexChanged.connect(self._driver_changed)
        form.addRow(self.driver_combo)
        self.noise_spin = QDoubleSpinBox()
        self.noise_spin.setRange(0.0, 0.02)
        self.noise_spin.setSingleStep(0.001)
        self.noise_spin.setDecimals(3)
        self.noise_spin.setSuffix(" m")
        self.pause_spin = QDoubleSpinBox()
        self.pause_spin.setRange(0.0, 1.0)
        self.pause_spin.setSingleStep(0.1)
        self.mistake_spin = QDoubleSpinBox()
        self.mistake_spin.setRange(0.0, 1.0)
        self.mistake_spin.setSingleStep(0.1)
        form.addRow("Expert noise", self.noise_spin)
        form.addRow("Pause chance", self.pause_spin)
        form.addRow("Mistake chance", self.mistake_spin)
        self.auto_end_check = QCheckBox("End when the task succeeds or times out")
        self.auto_end_check.setChecked(True)
        self.reset_check = QCheckBox("New scene at each start")
        self.reset_check.setChecked(True)
        self.continuous_check = QCheckBox("Start the next episode automatically")
        form.addRow(self.auto_end_check)
        form.addRow(self.reset_check)
        form.addRow(self.continuous_check)
        return box

    def _controls_group(self) -> QGroupBox:
        box = QGroupBox("Episode")
        grid = QGridLayout(box)
        self.start_button = QPushButton("● Start")
        self.start_button.setProperty("role", "primary")
        self.stop_button = QPushButton("■ Stop && keep")
        self.next_button = QPushButton("Next »")
        self.discard_button = QPushButton("✕ Discard")
        self.discard_button.setProperty("role", "danger")
        self.fail_button = QPushButton("Keep as failure")
        self.start_button.clicked.connect(lambda: self.command("start"))
        self.stop_button.clicked.connect(lambda: self.command("stop"))
        self.next_button.clicked.connect(lambda: self.command("next"))
        self.discard_button.clicked.connect(lambda: self.command("discard"))
        self.fail_button.clicked.connect(lambda: self.command("fail"))
        grid.addWidget(self.start_button, 0, 0)
        grid.addWidget(self.stop_button, 0, 1)
        grid.addWidget(self.next_button, 1, 0)
        grid.addWidget(self.fail_button, 1, 1)
        grid.addWidget(self.discard_button, 2, 0, 1, 2)
        self.keys_label = theme.note_label("", wrap=True)
        grid.addWidget(self.keys_label, 3, 0, 1, 2)
        return box

    def _timing_group(self) -> QGroupBox:
        box = QGroupBox("Tick timing")
        col = QVBoxLayout(box)
        self.timing_light = StatusLight("not recording", "idle")
        col.addWidget(self.timing_light)
        self.timing_plot = PlotWidget("", x_label="", y_label="")
        self.timing_plot.empty_text = "tick error (ms) appears while recording"
        self.timing_plot.setMinimumHeight(90)
        self.timing_plot.setMaximumHeight(120)
        col.addWidget(self.timing_plot)
        return box

    # -- keys ------------------------------------------------------------------------------------
    def _bind_keys(self) -> None:
        lines = []
        for command, default in DEFAULT_KEYS.items():
            keys = read(self.ctx.settings, f"record/keys/{command}", default)
            seqs = [QKeySequence(k.strip()) for k in str(keys).split(",") if k.strip()]
            self.shortcuts[command] = []
            for seq in seqs:
                sc = QShortcut(seq, self)
                sc.setContext(Qt.ShortcutContext.WindowShortcut)
                sc.activated.connect(lambda c=command: self.command(c))
                self.shortcuts[command].append(sc)
            names = " / ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in seqs)
            lines.append(f"{names}: {COMMAND_HELP[command]}")
        self.keys_label.setText("\n".join(lines + [DEVICE_BUTTONS_HELP]))

    def command(self, name: str) -> bool:
        """One entry point for buttons, shortcuts, pedals and device buttons."""
        c = self.controller
        if self.practice_started is not None:  # every command ends the practice run (next: starts another)
            if name == "mark":
                return False
            stopped = self.stop_practice()
            return self.start_practice() if name == "next" else stopped
        if self.reviewing is not None:  # the replayed episode waits for a verdict
            if name in ("toggle", "stop", "start"):
                return self.keep_reviewed()
            if name == "next":
                return self.keep_reviewed() and self.start_recording()
            if name == "discard":
                return self.discard_reviewed()
            return False
        if name == "toggle":
            name = "stop" if c.recording else "start"
        if name == "start":
            return self.start_recording()
        if name == "stop":
            return c.stop()
        if name == "fail":
            return c.stop(success=False)
        if name == "next":
            return c.next() if c.recording else self.start_recording()
        if name == "discard":
            return c.discard()
        if name == "mark":
            return c.mark("recovery")
        raise ValueError(f"unknown record command {name!r}")

    def _on_device_events(self, events: list) -> None:
        """Buttons of the driving device (SpaceMouse, VR controller, keyboard's M…) → the same commands."""
        for event in events:
            name = BUTTON_COMMANDS.get(event)
            if name is not None and (self.isVisible() or self.controller.recording):
                self.command(name)

    # -- actions ---------------------------------------------------------------------------------
    def record_settings(self) -> RecordSettings:
        dataset = self.dataset_edit.text().strip()
        if not dataset:
            raise ValueError("choose a dataset folder first")
        return RecordSettings(dataset=Path(dataset).expanduser(), operator=self.operator_edit.text().strip(),
                              task=self.task_edit.text().strip() or self.ctx.task,
                              auto_end=self.auto_end_check.isChecked(), reset_scene=self.reset_check.isChecked(),
                              randomize=self.randomize_edit.ranges(),
                              tags=self._cell_tags())

    def _drive(self) -> None:
        """Hand the station to whoever demonstrates: the scripted expert or the operator's device."""
        if self.driver_combo.currentData() == "expert":
            self.expert = ScriptedExpert(noise=self.noise_spin.value(), pause_prob=self.pause_spin.value(),
                                         mistake_prob=self.mistake_spin.value())
            self.ctx.station.set_agent(self.expert)
        elif self.ctx.station.agent is None or self.ctx.station.agent is self.expert:
            self.ctx.station.set_agent(self.ctx.station.keyboard_agent)

    def start_recording(self) -> bool:
        if self.practice_check.isChecked():
            return self.start_practice()
        if self.reviewing is not None:
            self.ctx.messages.fail("keep or discard the episode being replayed first")
            return False
        try:
            settings = self.record_settings()
        except ValueError as exc:
            self.ctx.messages.fail(str(exc))
            return False
        self._drive()
        self._recording_operator = settings.operator
        return self.controller.start(settings)

    # -- practice: the same driving, nothing recorded ---------------------------------------------
    def start_practice(self) -> bool:
        """A practice attempt: the scene resets and the operator (or the expert) drives as when
        recording, but no recording session exists, so no journal and no file is written."""
        if self.controller.state != "idle" or self.reviewing is not None or self.practice_started is not None:
            return False
        self._drive()
        if self.reset_check.isChecked():
            self.ctx.station.request_reset()
        self.practice_started = time.monotonic()
        self._show_mode()
        self.ctx.messages.say("practice: nothing is recorded")
        return True

    def stop_practice(self) -> bool:
        if self.practice_started is None:
            return False
        self.practice_started = None
        if self.ctx.station.agent is self.expert:
            self.ctx.station.set_agent(self.ctx.station.keyboard_agent)
        self._show_mode()
        return True

    def _practice_toggled(self, on: bool) -> None:
        if not on:
            self.stop_practice()
        self._show_mode()

    # -- replay before keep or discard -----------------------------------------------------------
    def keep_reviewed(self, continue_session: bool = True) -> bool:
        info, self.reviewing = self.reviewing, None
        if info is None:
            return False
        self.review.stop()
        self.left_stack.setCurrentWidget(self.live)
        self._accept_saved(info, continue_session)
        self._show_mode()
        return True

    def discard_reviewed(self) -> bool:
        info = self.reviewing
        if info is None or not self.controller.discard_kept(info):
            return False
        self.reviewing = None
        self.review.stop()
        self.left_stack.setCurrentWidget(self.live)
        self._show_mode()
        return True

    # -- per-operator counts ---------------------------------------------------------------------
    def refresh_operators(self) -> None:
        """Count the dataset's episodes per operator from its files (in a job; ~1 ms a file)."""
        root = Path(self.dataset_edit.text().strip()).expanduser() if self.dataset_edit.text().strip() else None
        if root is None or self.operator_job.is_running():
            return
        self._operators_root = str(root)
        if not (root / "episodes").is_dir():
            self.dataset_operators = {}
            self._show_operators()
            return

        def job(progress, should_stop):
            return str(root), operator_counts(root)

        self.operator_job.start(job, on_done=self._on_operator_counts,
                                on_exception=lambda exc: self.operators_label.setText(
                                    f"cannot count: {describe_error(exc)}"))

    def _on_operator_counts(self, result) -> None:
        root, counts = result
        if root == self._operators_root:
            self.dataset_operators = counts
            self._show_operators()

    def _show_operators(self) -> None:
        names = list(self.dataset_operators or {})
        names += [n for n in self.session_operators if n not in names]
        if not names:
            self.operators_label.setText("no episodes yet")
            return
        parts = []
        for name in names:
            total = (self.dataset_operators or {}).get(name)
            today = self.session_operators.get(name, 0)
            parts.append(f"{name} {total if total is not None else '…'}" + (f" (+{today} now)" if today else ""))
        self.operators_label.setText(" · ".join(parts))

    def _recollect(self, perturbation: str, severity: float, tag: str) -> None:
        """Record under a sweep cell: its severity as the scene, and the cell's tag on each episode."""
        text = f"{perturbation}:{severity:g}"
        self.randomize_edit.setText(text)
        self.randomize_edit.save()
        self._sweep_cell = (text, tag)
        self.ctx.messages.say(f"recording under {perturbation} {severity:g}: episodes will be tagged {tag}")

    def _cell_tags(self) -> tuple[str, ...]:
        """The picked sweep cell's tag, while the scene field still holds that cell."""
        text, tag = self._sweep_cell
        return (tag,) if tag and self.randomize_edit.text().strip() == text else ()

    def _driver_changed(self) -> None:
        expert = self.driver_combo.currentData() == "expert"
        for w in (self.noise_spin, self.pause_spin, self.mistake_spin):
            w.setEnabled(expert)
        if not expert and self.ctx.station.agent is self.expert and not self.controller.recording:
            self.ctx.station.set_agent(self.ctx.station.keyboard_agent)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Dataset folder", self.dataset_edit.text() or str(Path.home()))
        if path:
            self.dataset_edit.setText(path)

    # -- controller events -----------------------------------------------------------------------
    def _show_mode(self) -> None:
        """Buttons and banner for practice and replay (on top of what the recorder's state sets)."""
        self._on_state(self.controller.state)

    def _on_state(self, state: str) -> None:
        for w in (self.recent_label, self.recent):  # the replay gets their room
            w.setVisible(self.reviewing is None)
        if self.practice_started is not None or self.reviewing is not None:
            self._on_mode()
            return
        recording = state == "recording"
        busy = state in ("starting", "stopping")
        self.start_button.setEnabled(state == "idle")
        self.stop_button.setEnabled(recording)
        self.fail_button.setEnabled(recording)
        self.discard_button.setEnabled(recording)
        self.next_button.setEnabled(recording or state == "idle")
        for w in (self.dataset_edit, self.operator_edit, self.task_edit, self.driver_combo, self.practice_check,
                  self.review_check, self.randomize_edit):
            w.setEnabled(state == "idle")
        self.banner.setProperty("recording", "true" if recording else "false")
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)
        if recording:
            self.rec_light.set_state("recording", "RECORDING")
            self.episode_label.setText(self.controller.episode_id or "")
            self.live.set_badge("REC", theme.RECORDING)
            self._pending_samples = []
            self.timing_plot.clear()
        elif busy:
            self.rec_light.set_state("busy", "starting…" if state == "starting" else "saving…")
            self.live.set_badge("")
        else:
            self._show_samples()
            self.rec_light.set_state("idle", "READY")
            self.live.set_badge("")
            if self._last_timing:  # keep the last episode's figures visible between episodes
                self.timing_light.set_state(self.timing_light.state, f"last episode · {self._last_timing}")

    def _on_mode(self) -> None:
        practising = self.practice_started is not None
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(practising)
        self.next_button.setEnabled(True)
        self.fail_button.setEnabled(False)
        self.discard_button.setEnabled(not practising)
        for w in (self.dataset_edit, self.operator_edit, self.task_edit, self.driver_combo, self.review_check):
            w.setEnabled(False)
        self.practice_check.setEnabled(practising)
        self.banner.setProperty("recording", "false")
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)
        if practising:
            self.rec_light.set_state("busy", "PRACTICE")
            self.episode_label.setText("nothing is recorded")
            self.live.set_badge("PRACTICE", theme.ACCENT)
        else:
            self.rec_light.set_state("warn", "REVIEW")
            self.episode_label.setText(f"{self.reviewing['id']}: keep or discard")
            self.live.set_badge("")

    def _on_sample(self, s: dict) -> None:
        """Every tick's timing; shown twice a second (redrawing at the tick rate costs the GUI more
        than the figures are worth)."""
        self._pending_samples.append(s)

    def _show_samples(self) -> None:
        if not self._pending_samples:
            return
        batch, self._pending_samples = self._pending_samples, []
        for s in batch:
            self.timing_plot.append("tick error (ms)", s["t"], s["tick_error_ms"])
        s = batch[-1]
        ok = s["missed"] == 0 and s["max_error_ms"] < 20.0
        warn = s["missed"] == 0 and s["max_error_ms"] < 50.0
        state = "ok" if ok else ("warn" if warn else "error")
        self._last_timing = (f"{s['rate_hz']:.1f} Hz · jitter {s['jitter_ms']:.1f} ms · "
                             f"max {s['max_error_ms']:.0f} ms · {s['missed']} missed")
        self.timing_light.set_state(state, self._last_timing)

    def _on_saved(self, info: dict) -> None:
        info = {**info, "operator": self._recording_operator}
        if self.review_check.isChecked() and self.controller.state == "idle":
            self.reviewing = info
            self.left_stack.setCurrentWidget(self.review)
            self.review.show_episode(Path(info["path"]).parent.parent, info["id"])
            self._update_count()
            self._show_mode()
            return
        self._accept_saved(info)

    def _accept_saved(self, info: dict, continue_session: bool = True) -> None:
        """The episode joins the dataset: listed, counted, announced to the other panels."""
        outcome = {True: "success", False: "failure", None: "no outcome"}[info["success"]]
        self.recent.insertItem(0, f"{info['id']}  ·  {info['duration_s']:.1f} s  ·  {outcome}")
        operator = info.get("operator") or UNNAMED
        self.session_operators[operator] += 1
        if self.dataset_operators is not None and self._operators_root == str(Path(info["path"]).parent.parent):
            self.dataset_operators[operator] = self.dataset_operators.get(operator, 0) + 1
        self._show_operators()
        self._update_count()
        self.ctx.messages.say(f"saved {info['id']} ({info['frames']} samples, {outcome})")
        dataset = self.dataset_edit.text().strip()
        self.ctx.dataset.set(dataset)  # recording into a dataset makes it the window's current one
        self.ctx.bus.episode_recorded.emit(dataset, info["id"])
        if continue_session and self.continuous_check.isChecked() and self.controller.state == "idle":
            QTimer.singleShot(300, self.start_recording)

    def _on_current_dataset(self, path: str) -> None:
        """A dataset opened in another panel is the one the next episode goes into."""
        if self.controller.state == "idle" and self.reviewing is None:  # a replayed episode keeps its dataset
            self.dataset_edit.setText(path)
            self._save_fields()
            if str(Path(path).expanduser()) != self._operators_root:
                self.refresh_operators()

    def _on_discarded(self, episode: str) -> None:
        self.recent.insertItem(0, f"{episode}  ·  discarded")
        self._update_count()
        self.ctx.messages.say(f"discarded {episode}")

    def kept_count(self) -> int:
        """Episodes kept in this session (one being replayed is not kept yet)."""
        return self.controller.counts.kept - (1 if self.reviewing is not None else 0)

    def _update_count(self) -> None:
        n = self.controller.counts
        kept = self.kept_count()
        extra = f" · {n.discarded} discarded" if n.discarded else ""
        self.count_label.setText(f"{kept} kept{extra}")
        goal = self.goal_spin.value()
        self.goal_bar.setVisible(goal > 0)
        if goal > 0:
            self.goal_bar.setRange(0, goal)
            self.goal_bar.setValue(min(kept, goal))
            self.goal_bar.setFormat(f"{kept} / {goal} episodes" + (" ✓" if kept >= goal else ""))

    def _tick_clock(self) -> None:
        if self.controller.recording:
            self.elapsed_label.setText(format_elapsed(self.controller.elapsed()))
        elif self.practice_started is not None:
            self.elapsed_label.setText(format_elapsed(time.monotonic() - self.practice_started))

    # -- persistence -----------------------------------------------------------------------------
    def _restore_fields(self) -> None:
        s = self.ctx.settings
        self.dataset_edit.setText(self.ctx.dataset.text() or read(s, "record/dataset", default_dataset_dir()))
        self.operator_edit.setText(read(s, "record/operator", ""))
        self.driver_combo.setCurrentIndex(max(0, self.driver_combo.findData(read(s, "record/driver", "operator"))))
        self.noise_spin.setValue(read(s, "record/expert_noise", 0.0))
        self.pause_spin.setValue(read(s, "record/expert_pause", 0.0))
        self.mistake_spin.setValue(read(s, "record/expert_mistake", 0.0))
        self.auto_end_check.setChecked(read(s, "record/auto_end", True))
        self.reset_check.setChecked(read(s, "record/reset_scene", True))
        self.continuous_check.setChecked(read(s, "record/continuous", False))
        self.goal_spin.setValue(int(read(s, "record/goal", 0)))
        self.review_check.setChecked(read(s, "record/review", False))
        self._driver_changed()
        self._update_count()
        self.refresh_operators()

    def _save_fields(self) -> None:
        s = self.ctx.settings
        s.setValue("record/dataset", self.dataset_edit.text().strip())
        s.setValue("record/operator", self.operator_edit.text().strip())
        s.setValue("record/driver", self.driver_combo.currentData())
        s.setValue("record/expert_noise", self.noise_spin.value())
        s.setValue("record/expert_pause", self.pause_spin.value())
        s.setValue("record/expert_mistake", self.mistake_spin.value())
        s.setValue("record/auto_end", self.auto_end_check.isChecked())
        s.setValue("record/reset_scene", self.reset_check.isChecked())
        s.setValue("record/continuous", self.continuous_check.isChecked())
        s.setValue("record/goal", self.goal_spin.value())
        s.setValue("record/review", self.review_check.isChecked())
        # Practice is never remembered: a restarted station that silently records nothing would lose a session.

    def save_state(self) -> None:
        super().save_state()
        self._save_fields()

    def on_shown(self) -> None:
        self.refresh_operators()

    def shutdown(self) -> None:
        if self.reviewing is not None:  # closing while replaying keeps the episode (nothing recorded is lost)
            self.keep_reviewed(continue_session=False)
        self.review.shutdown()
        self.operator_job.shutdown(5000)
        self.controller.shutdown()
