"""The Demo Station main window: a sidebar of panels over one live station.

Station, Record, Dataset, Train and Run share one `AppContext` (settings, the station worker, the
message bus); the window only arranges them, shows messages in the status bar (errors in red, and
in a dialog when the user must acknowledge them) and remembers its geometry and splitter layout.
"""

from __future__ import annotations

import gc
import sys
from typing import Callable

from PySide6.QtCore import QByteArray, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from app.gui import theme
from app.gui.context import AppContext
from app.gui.panels.base import Panel
from app.gui.settings import read, read_bytes
from app.gui.station_worker import StationWorker
from app.gui.status_light import StatusLight
from app.gui.teleop_keys import TeleopKeys

PanelFactory = Callable[[AppContext], Panel]
GIL_SWITCH_INTERVAL_S = 0.002


def default_panels() -> list[PanelFactory]:
    """The panels in sidebar order (each module imports its core packages lazily)."""
    from app.gui.panels.dataset import DatasetPanel
    from app.gui.panels.record import RecordPanel
    from app.gui.panels.run import RunPanel
    from app.gui.panels.station import StationPanel
    from app.gui.panels.train import TrainPanel

    return [StationPanel, RecordPanel, DatasetPanel, TrainPanel, RunPanel]


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext, panels: list[PanelFactory] | None = None, start_station: bool = True) -> None:
        super().__init__()
        self.ctx = ctx
        self.setWindowTitle(f"Demo Station — {ctx.task}")
        self.setMinimumSize(QSize(1000, 640))

        self.sidebar = QListWidget()
        self.sidebar.setObjectName("Sidebar")
        self.sidebar.setIconSize(QSize(22, 22))
        self.sidebar.setFixedWidth(150)
        self.stack = QStackedWidget()
        self.panels: dict[str, Panel] = {}
        for factory in panels if panels is not None else default_panels():
            panel = factory(ctx)
            self.panels[panel.key] = panel
            item = QListWidgetItem(theme.icon(panel.icon_name), panel.title)
            item.setToolTip(panel.hint)
            item.setData(Qt.ItemDataRole.UserRole, panel.key)
            self.sidebar.addItem(item)
            self.stack.addWidget(panel)
        self.sidebar.currentRowChanged.connect(self._show_row)

        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.sidebar)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self._build_status_bar()
        self._build_actions()
        ctx.messages.info.connect(self.show_info)
        ctx.messages.error.connect(self.show_error)
        ctx.messages.error_dialog.connect(self.show_error_dialog)
        ctx.bus.show_panel.connect(self.show_panel)
        ctx.station.failed.connect(self._on_station_failed)
        ctx.station.ready.connect(lambda info: self.station_light.set_state("ok", "station running"))

        self.teleop_keys = TeleopKeys(ctx.station.keyboard, self._teleop_active, self)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.teleop_keys)

        self.restore_layout()
        if start_station and not ctx.station.isRunning():
            ctx.station.start()
        # Everything built so far lives as long as the window: keep the cyclic garbage collector
        # from walking it again and again. A full collection over it took ~40 ms (measured), a
        # pause the operator would see as a stall in the live view; with the start-up objects
        # frozen, later collections only look at what is new.
        gc.collect()
        gc.freeze()
        # The station, recorder and controller threads run Python too; a thread waiting for the
        # interpreter lock gets it after at most this long. 2 ms instead of Python's 5 ms keeps the
        # event loop's waits short when several of them are busy.
        self._previous_switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)

    # -- layout ----------------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.message_label = QLabel("")
        bar.addWidget(self.message_label, 1)
        self.station_light = StatusLight("station starting…", "busy")
        bar.addPermanentWidget(self.station_light)
        self._clear_timer = QTimer(self)
        self._clear_timer.setSingleShot(True)
        self._clear_timer.timeout.connect(lambda: self.message_label.setText(""))

    def _build_actions(self) -> None:
        for i, key in enumerate(self.panels):
            act = QAction(f"Show {self.panels[key].title}", self)
            act.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            act.triggered.connect(lambda _=False, k=key: self.show_panel(k))
            self.addAction(act)

    def _show_row(self, row: int) -> None:
        if row < 0:
            return
        self.stack.setCurrentIndex(row)
        panel = self.stack.currentWidget()
        self.teleop_keys.release_all()
        if isinstance(panel, Panel):
            self.ctx.settings.setValue("window/panel", panel.key)
            panel.on_shown()

    def show_panel(self, key: str) -> None:
        keys = list(self.panels)
        if key in keys:
            self.sidebar.setCurrentRow(keys.index(key))

    def current_panel(self) -> Panel:
        return self.stack.currentWidget()  # type: ignore[return-value]

    def _teleop_active(self) -> bool:
        panel = self.stack.currentWidget()
        return self.isActiveWindow() and isinstance(panel, Panel) and panel.wants_teleop_keys

    # -- messages --------------------------------------------------------------------------------
    def show_info(self, text: str) -> None:
        self.message_label.setStyleSheet("")
        self.message_label.setText(text)
        self._clear_timer.start(8000)

    def show_error(self, text: str) -> None:
        self.message_label.setStyleSheet("color: #ff8a80;")
        self.message_label.setText(f"⚠ {text}")
        self._clear_timer.stop()  # errors stay until the next message

    def show_error_dialog(self, title: str, text: str) -> None:
        self.show_error(f"{title}: {text}")
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()  # not exec(): the event loop (and the station) keep running

    def _on_station_failed(self, message: str) -> None:
        if message.startswith("station stopped"):
            self.station_light.set_state("error", "station stopped")
        self.ctx.messages.fail(message)

    # -- persistence -----------------------------------------------------------------------------
    def restore_layout(self) -> None:
        s = self.ctx.settings
        geometry = read_bytes(s, "window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        state = read_bytes(s, "window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        for panel in self.panels.values():
            panel.restore_state()
        self.show_panel(read(s, "window/panel", next(iter(self.panels), "")))
        if self.sidebar.currentRow() < 0 and self.panels:
            self.sidebar.setCurrentRow(0)

    def save_layout(self) -> None:
        s = self.ctx.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        for panel in self.panels.values():
            panel.save_state()
        s.sync()

    def closeEvent(self, e: QCloseEvent) -> None:  # noqa: N802
        self.save_layout()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.teleop_keys)
        for panel in self.panels.values():
            panel.shutdown()
        if self.ctx.cameras is not None:
            self.ctx.cameras.shutdown()
        self.ctx.station.stop()
        gc.unfreeze()
        sys.setswitchinterval(self._previous_switch_interval)
        super().closeEvent(e)


def build_main_window(settings, task: str = "pick_place", station: StationWorker | None = None,
                      panels: list[PanelFactory] | None = None, start_station: bool = True) -> MainWindow:
    """The window as `demostation gui` builds it (tests pass settings in a temporary folder)."""
    from app.gui.external_cameras import ExternalCameras

    ctx = AppContext(settings=settings, station=station or StationWorker(task), task=task, cameras=ExternalCameras())
    return MainWindow(ctx, panels=panels, start_station=start_station)
