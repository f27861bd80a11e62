"""Station panel: the live cameras, the input devices and the robot's status."""

from __future__ import annotations

import contextlib

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.gui import theme
from app.gui.axes_view import AxesView
from app.gui.context import AppContext
from app.gui.input_devices import InputDevice, discover
from app.gui.jobs import JobRunner, describe_error
from app.gui.live_view import LiveView
from app.gui.panels.base import Panel
from app.gui.settings import read
from app.gui.station_words import free_play_progress, gripper_text
from app.gui.status_light import StatusLight
from app.gui.teleop_keys import HELP as TELEOP_HELP


def _fmt_vec(v: np.ndarray, digits: int = 3) -> str:
    return "(" + ", ".join(f"{x:+.{digits}f}" for x in v) + ")"


class StationPanel(Panel):
    key = "station"
    title = "Station"
    icon_name = "station"
    hint = "Live view of the station, input devices and robot status. Click the view and drive with the keyboard."
    wants_teleop_keys = True

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.devices: list[InputDevice] = []
        self.device_job = JobRunner("device", self)
        worker = ctx.station

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(10)
        self.build_header(layout)

        self.live = LiveView(worker, min_size=220)
        # A scrolling column like the other panels': at 720 px high the groups keep their height
        # (squeezed, the robot's figures were drawn over each other) and the column scrolls instead.
        side = self.side_column(self._robot_group(), self._device_group(), self._axes_group(),
                                self._camera_group(), spacing=8)

        split = self.remember_splitter("main", QSplitter(Qt.Orientation.Horizontal))
        split.addWidget(self.live)
        split.addWidget(side)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)
        split.setSizes([900, 400])
        layout.addWidget(split, 1)
        help_label = theme.note_label(TELEOP_HELP)
        help_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(help_label)

        worker.status.connect(self._on_status)
        worker.timing.connect(self._on_timing)
        worker.failed.connect(self._on_failed)
        worker.ready.connect(lambda info: self.robot_light.set_state("ok", "connected · embedded MuJoCo station"))
        self._refresh = QTimer(self)
        self._refresh.timeout.connect(self._refresh_status)
        self._refresh.start(500)
        self.rediscover()

    # -- building --------------------------------------------------------------------------------
    def _robot_group(self) -> QGroupBox:
        box = QGroupBox("Robot")
        form = QFormLayout(box)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.robot_light = StatusLight("starting…", "busy")
        form.addRow(self.robot_light)
        self.controller_label = QLabel("—")
        self.pose_label = QLabel("—")
        self.gripper_label = QLabel("—")
        self.force_label = QLabel("—")
        self.task_label = QLabel("—")
        self.score_label = QLabel("—")
        self.rate_label = QLabel("—")
        for text, w in (("Controller", self.controller_label), ("Hand (m)", self.pose_label),
                        ("Gripper", self.gripper_label), ("Contact force", self.force_label),
                        ("Task", self.task_label), ("Progress", self.score_label), ("Control loop", self.rate_label)):
            form.addRow(text, w)
        row = QHBoxLayout()
        self.reset_button = QPushButton("New scene")
        self.reset_button.setToolTip("Re-randomise the objects (next seed) and send the hand home")
        self.reset_button.clicked.connect(lambda: self.ctx.station.request_reset())
        self.hold_button = QPushButton("Hold")
        self.hold_button.setToolTip("Stop commanding: the robot keeps its current pose")
        self.hold_button.clicked.connect(lambda: self.ctx.station.set_agent(None))
        row.addWidget(self.reset_button)
        row.addWidget(self.hold_button)
        form.addRow(row)
        return box

    def _device_group(self) -> QGroupBox:
        box = QGroupBox("Input device")
        col = QVBoxLayout(box)
        self.device_combo = QComboBox()
        # Device names can be long (a VR runtime, a serial path): elide them instead of widening the column.
        self.device_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.device_combo.setMinimumContentsLength(16)
        self.device_combo.currentIndexChanged.connect(lambda _: self._show_device())
        col.addWidget(self.device_combo)
        self.device_light = StatusLight("—", "idle")
        col.addWidget(self.device_light)
        self.device_detail = theme.note_label("", wrap=True)
        col.addWidget(self.device_detail)
        row = QHBoxLayout()
        self.connect_button = QPushButton("Connect")
        self.connect_button.setProperty("role", "primary")
        self.connect_button.clicked.connect(self.connect_selected)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.clicked.connect(self.disconnect_selected)
        self.rescan_button = QPushButton("Rescan")
        self.rescan_button.clicked.connect(self.rediscover)
        row.addWidget(self.connect_button)
        row.addWidget(self.disconnect_button)
        row.addWidget(self.rescan_button)
        col.addLayout(row)
        return box

    def _axes_group(self) -> QGroupBox:
        box = QGroupBox("Axes (check before you record)")
        col = QVBoxLayout(box)
        self.axes = AxesView()
        col.addWidget(self.axes)
        return box

    def _camera_group(self) -> QGroupBox:
        box = QGroupBox("Cameras")
        col = QVBoxLayout(box)
        self.camera_lights: dict[str, StatusLight] = {}
        for name in self.ctx.station.camera_names:
            light = StatusLight(f"{name}: waiting", "idle")
            self.camera_lights[name] = light
            col.addWidget(light)
        # The lab's own cameras from the camera config file, each with its connect button.
        self.external_box = QWidget()
        self.external_rows = QVBoxLayout(self.external_box)
        self.external_rows.setContentsMargins(0, 4, 0, 0)
        col.addWidget(self.external_box)
        self.external_lights: dict[str, StatusLight] = {}
        self.external_buttons: dict[str, QPushButton] = {}
        cams = self.ctx.cameras
        if cams is not None:
            cams.changed.connect(self._rebuild_external)
            cams.frame.connect(self.live.show_external)
            self._rebuild_external()
        return box

    def _rebuild_external(self) -> None:
        cams = self.ctx.cameras
        while self.external_rows.count():
            item = self.external_rows.takeAt(0)
            w = item.widget()
            if w is not None:
                w.setParent(None)
                w.deleteLater()
        self.external_lights, self.external_buttons = {}, {}
        if cams.problem:
            note = theme.note_label(f"camera config: {cams.problem}", wrap=True)
            self.external_rows.addWidget(note)
        elif not cams.configs:
            note = theme.note_label(f"No other cameras configured ({cams.path.name}; see docs/cameras.md)", wrap=True)
            self.external_rows.addWidget(note)
        for name in cams.configs:
            row = QWidget()
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            state, text = cams.status(name)
            light = StatusLight(text, state)
            button = QPushButton("Disconnect" if name in cams.connected() else "Connect")
            button.setProperty("role", "tool")
            button.clicked.connect(lambda _=False, n=name: self._toggle_camera(n))
            line.addWidget(light, 1)
            line.addWidget(button)
            self.external_lights[name] = light
            self.external_buttons[name] = button
            self.external_rows.addWidget(row)
        self.live.drop_external(set(cams.connected()))

    def _toggle_camera(self, name: str) -> None:
        cams = self.ctx.cameras
        if name in cams.connected():
            cams.disconnect_camera(name)
        elif not cams.connect_camera(name):
            self.ctx.messages.fail("another camera is still connecting")

    # -- devices ---------------------------------------------------------------------------------
    def rediscover(self) -> None:
        current = self.device_combo.currentText()
        connected = {d.spec: d for d in self.devices if d.is_connected}  # keep them across a rescan
        self.devices = [connected.get(d.spec, d) for d in discover(self.ctx.station)]
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        for d in self.devices:
            self.device_combo.addItem(d.name)
            self.device_combo.setItemData(self.device_combo.count() - 1, d.listing.message,
                                          Qt.ItemDataRole.ToolTipRole)
        wanted = current or read(self.ctx.settings, "station/device", "Keyboard")
        idx = self.device_combo.findText(wanted)
        self.device_combo.setCurrentIndex(max(0, idx))
        self.device_combo.blockSignals(False)
        self._show_device()

    def selected_device(self) -> InputDevice | None:
        i = self.device_combo.currentIndex()
        return self.devices[i] if 0 <= i < len(self.devices) else None

    def connect_selected(self) -> None:
        """Open the device on a worker (an OpenXR session or a HID open can take a while), then drive."""
        dev = self.selected_device()
        if dev is None or self.device_job.is_running():
            return
        self.device_light.set_state("busy", "connecting…")

        def done(_) -> None:
            self.ctx.station.set_agent(dev.agent())
            self.ctx.settings.setValue("station/device", dev.name)
            self.ctx.messages.say(f"{dev.name} connected and driving the robot")
            self._show_device()

        def failed(exc: BaseException) -> None:
            dev.last_error = describe_error(exc)
            self.ctx.messages.fail(f"{dev.name}: {dev.last_error}")
            self._show_device()

        self.device_job.start(lambda progress, should_stop: dev.connect(), on_done=done, on_exception=failed)

    def disconnect_selected(self) -> None:
        dev = self.selected_device()
        if dev is None:
            return
        if dev.is_connected and self.ctx.station.agent is getattr(dev, "_agent", None):
            self.ctx.station.set_agent(None)  # hold first, then close the device
        try:
            dev.disconnect()
        except Exception as exc:  # noqa: BLE001 - a device that fails to let go is reported, the panel goes on
            dev.last_error = describe_error(exc)
            self.ctx.messages.fail(f"{dev.name}: {dev.last_error}")
        self._show_device()

    def _show_device(self) -> None:
        dev = self.selected_device()
        if dev is None:
            self.device_light.set_state("idle", "no input device found")
            self.device_detail.setText("")
            self.axes.set_device(None)
            return
        st = dev.status()
        self.device_light.set_state(st.state, st.text)
        lines = [st.detail] if st.detail else []
        if st.last_error:
            lines.append(f"last error: {st.last_error}")
        self.device_detail.setText("\n".join(lines))
        self.axes.set_device(dev.device if st.connected else None,
                             dev.use_mapper_settings if st.connected else None)
        busy = self.device_job.is_running()
        self.connect_button.setEnabled(not busy and (not st.connected or bool(st.last_error)) and dev.available)
        self.disconnect_button.setEnabled(not busy and st.connected)

    # -- live status -----------------------------------------------------------------------------
    def _on_status(self, s: dict) -> None:
        if not self.isVisible():
            return
        self.controller_label.setText(s["agent"])
        self.pose_label.setText(_fmt_vec(s["pose"][:3]))
        self.gripper_label.setText(gripper_text(float(s["gripper"]), float(s["target_gripper"])))
        force = float(np.linalg.norm(s["wrench"][:3]))
        self.force_label.setText(f"{force:.1f} N")
        self.task_label.setText(f"{self.ctx.task} · seed {s['seed']}")
        self.score_label.setText(free_play_progress(bool(s["success"]), float(s["score"]), float(s["time"])))

    def _on_timing(self, t: dict) -> None:
        if self.isVisible():
            missed = f" · {t['missed']} missed" if t["missed"] else ""
            self.rate_label.setText(f"{t['rate_hz']:.1f} Hz · jitter {t['jitter_ms']:.1f} ms{missed}")

    def _on_failed(self, message: str) -> None:
        if message.startswith("station stopped"):
            self.robot_light.set_state("error", "station stopped (see status bar)")
        self.ctx.messages.fail(message)

    def _refresh_status(self) -> None:
        if not self.isVisible():
            return
        self._show_device()
        if self.ctx.cameras is not None:
            for name, light in self.external_lights.items():
                light.set_state(*self.ctx.cameras.status(name))
        for name, light in self.camera_lights.items():
            fps = self.live.fps(name)
            size = self.ctx.station.image_size
            if fps > 0:
                light.set_state("ok", f"{name}: {size}×{size} recorded · live {fps:.0f} fps")
            else:
                light.set_state("idle", f"{name}: waiting for frames")

    def shutdown(self) -> None:
        self.device_job.shutdown(5000)
        for dev in self.devices:
            if dev.is_connected and dev.device is not self.ctx.station.keyboard:
                with contextlib.suppress(Exception):
                    dev.disconnect()
