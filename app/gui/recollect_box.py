"""The Run panel's "record more demos here" row: targeted re-collection from the sweep just shown.

A thin view over `policy.sweep_cells`: it lists the sweep's perturbed cells, worst first, and
asks (through `requested`) for a recording session under the chosen one; the Record panel takes
it from there (its scene field set to that cell, the episodes tagged ``sweep:NAME@SEVERITY``).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QWidget

from policy.sweep_cells import SweepCellRef, cells_of


class RecollectBox(QWidget):
    requested = Signal(str, float, str)  # perturbation, severity, tag

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.cells_combo = QComboBox()
        self.cells_combo.setToolTip("A cell of the last sweep (worst first): record demonstrations under it")
        self.record_button = QPushButton("Record demos here")
        self.record_button.clicked.connect(self._request)
        row.addWidget(self.cells_combo, 1)
        row.addWidget(self.record_button)
        self._cells: list[SweepCellRef] = []
        self.set_report(None)

    def set_report(self, report: dict | None) -> None:
        """Fill from a sweep report's JSON (None or a malformed one: nothing to pick)."""
        try:
            self._cells = cells_of(report) if report else []
        except (KeyError, TypeError, ValueError):
            self._cells = []
        self.cells_combo.clear()
        for c in self._cells:
            self.cells_combo.addItem(f"{c.perturbation} {c.severity:g}: {c.success_rate:.0%} of {c.episodes}")
        self.record_button.setEnabled(bool(self._cells))
        self.cells_combo.setEnabled(bool(self._cells))

    def _request(self) -> None:
        i = self.cells_combo.currentIndex()
        if 0 <= i < len(self._cells):
            c = self._cells[i]
            self.requested.emit(c.perturbation, c.severity, c.tag)
