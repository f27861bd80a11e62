"""The Record panel's "Randomise scene" field: perturbation ranges drawn for each episode.

A thin view over `devices.sim.randomization.parse_ranges` (the same text `demostation record
--randomize` takes): it checks the text as it is edited, says what is wrong in its tooltip, and
keeps the last text in the GUI settings. Its own module so the Record panel's layout stays its own.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QLineEdit, QWidget

from app.gui.settings import read
from devices.sim.perturbations import perturbation_names
from devices.sim.randomization import SceneRanges, parse_ranges

SETTINGS_KEY = "record/randomize"
_HELP = ("Draw each episode's scene from perturbation ranges (NAME:LOW-HIGH, comma separated), "
         "e.g. object_color:0-0.5,table_color:0-0.5. Applied when the scene is reset; stored with "
         "every episode. Known: ")


class SceneRangesField(QLineEdit):
    """A line edit holding ``--randomize`` text; `ranges` parses it (ValueError when it is bad)."""

    validity_changed = Signal(bool)

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self.setPlaceholderText("none (the training scene)")
        self._help = _HELP + ", ".join(perturbation_names())
        self.setText(read(settings, SETTINGS_KEY, ""))
        self.textChanged.connect(self._check)
        self.editingFinished.connect(self.save)
        self._valid = True
        self._check()

    def ranges(self) -> SceneRanges:
        try:
            return parse_ranges(self.text())
        except ValueError as exc:
            raise ValueError(f"Randomise scene: {exc}") from None

    @property
    def valid(self) -> bool:
        return self._valid

    def save(self) -> None:
        self._settings.setValue(SETTINGS_KEY, self.text().strip())

    def _check(self) -> None:
        try:
            self.ranges()
            problem = ""
        except ValueError as exc:
            problem = str(exc).removeprefix("Randomise scene: ")
        valid = not problem
        self.setProperty("invalid", "false" if valid else "true")
        self.style().unpolish(self)  # the theme draws an invalid field's border red
        self.style().polish(self)
        self.setToolTip(self._help if valid else problem)
        if valid != self._valid:
            self._valid = valid
            self.validity_changed.emit(valid)
