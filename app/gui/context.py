"""What every panel is given: the settings, the live station, and one place to report messages.

Panels never reach into the main window or into each other; they receive an `AppContext` and talk
through its signals, so a panel can be built and tested on its own over a bare context. The one
current dataset (`CurrentDataset`) lives here too, so every panel shows the same one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Signal

from app.gui.current_dataset import CurrentDataset
from app.gui.station_worker import StationWorker

if TYPE_CHECKING:
    from app.gui.external_cameras import ExternalCameras


class Messages(QObject):
    """Status-bar messages and errors. Errors always reach the window (status bar or a dialog)."""

    info = Signal(str)
    error = Signal(str)
    error_dialog = Signal(str, str)  # title, text: errors the user must acknowledge

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.history: list[tuple[str, str]] = []  # (severity, text), newest last; tests read it

    def say(self, text: str) -> None:
        self.history.append(("info", text))
        self.info.emit(text)

    def fail(self, text: str) -> None:
        self.history.append(("error", text))
        self.error.emit(text)

    def alert(self, title: str, text: str) -> None:
        self.history.append(("error", f"{title}: {text}"))
        self.error_dialog.emit(title, text)


class Bus(QObject):
    """Application-level events that more than one panel cares about."""

    episode_recorded = Signal(str, str)  # dataset path, episode id
    checkpoint_ready = Signal(str)  # a training run produced a usable checkpoint (run directory)
    show_panel = Signal(str)  # ask the window to bring a panel forward (its key)
    recollect = Signal(str, float, str)  # record demos under a sweep cell: perturbation, severity, tag


@dataclass
class AppContext:
    settings: QSettings
    station: StationWorker
    messages: Messages = field(default_factory=Messages)
    bus: Bus = field(default_factory=Bus)
    task: str = "pick_place"
    cameras: "ExternalCameras | None" = None  # the lab's own cameras (camera config file)
    dataset: CurrentDataset = field(init=False)  # the window's one current dataset (from the settings)

    def __post_init__(self) -> None:
        self.dataset = CurrentDataset(self.settings)
