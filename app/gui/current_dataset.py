"""The window's one current dataset: what Record records into and Dataset, Train and Run show.

Before it each panel kept its own dataset field, so an episode recorded in the Record panel left
the Dataset panel saying "no dataset open" and the Train panel's field empty. Now a panel that
records into, opens or trains on a dataset makes it current here, and every panel follows the
`changed` signal. It is remembered in the settings file (the ``dataset/last`` key the panels read
before, so an existing configuration keeps its dataset) and comes back after a restart.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal

SETTINGS_KEY = "dataset/last"


def same_folder(a: str | Path | None, b: str | Path | None) -> bool:
    """Whether two dataset paths name the same folder (``~``, relative parts and links resolved)."""
    if not a or not b:
        return False
    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


class CurrentDataset(QObject):
    """The current dataset folder (or none yet), persisted in ``settings``."""

    changed = Signal(str)  # the new current dataset's path

    def __init__(self, settings: QSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._settings = settings

    @property
    def path(self) -> Path | None:
        """Read from the settings each time (an in-memory lookup), so they are the one record of it."""
        stored = self._settings.value(SETTINGS_KEY)
        return Path(str(stored)).expanduser() if stored else None

    def text(self) -> str:
        """The path as a form field shows it ("" when there is none)."""
        path = self.path
        return str(path) if path is not None else ""

    def set(self, path: str | Path) -> bool:
        """Make ``path`` current; emits `changed` (and writes the settings) only when it is a new folder."""
        text = str(path).strip()
        if not text:
            return False
        new = Path(text).expanduser()
        if same_folder(new, self.path):
            return False
        self._settings.setValue(SETTINGS_KEY, str(new))
        self.changed.emit(str(new))
        return True
