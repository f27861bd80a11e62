"""A thin view over a checkpoint comparison (`policy.compare`, ``compare.json``): a row per
perturbation and severity, a column per checkpoint, each cell the success rate with its Wilson
95 % interval and the mean score — the same text as ``compare.md``."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from policy.sweep import BASELINE, format_cell


class ComparisonTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 0, parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

    def show_report(self, report: dict) -> None:
        """Fill from a comparison summary (``CompareReport.summary()`` or compare.json)."""
        labels = [c["label"] for c in report["checkpoints"]]
        rows = report["rows"]
        self.clear()
        self.setColumnCount(2 + len(labels))
        self.setRowCount(len(rows))
        self.setHorizontalHeaderLabels(["perturbation", "severity", *labels])
        for i, row in enumerate(rows):
            name = "baseline" if row["perturbation"] == BASELINE else row["perturbation"]
            self.setItem(i, 0, QTableWidgetItem(name))
            self.setItem(i, 1, QTableWidgetItem(f"{float(row['severity']):g}"))
            for j, label in enumerate(labels):
                c = row["checkpoints"][label]
                item = QTableWidgetItem(format_cell(c["success_rate"], c["success_ci"], c["mean_score"]))
                lo, hi = c["score_ci"]
                item.setToolTip(f"{label}: {c['episodes']} episodes; mean score {c['mean_score']:.3f} "
                                f"(95 % interval {lo:.3f}–{hi:.3f})")
                self.setItem(i, 2 + j, item)

    def cell_texts(self) -> list[list[str]]:
        """Every cell's text, row by row (what a person reads; the tests compare it)."""
        return [[self.item(i, j).text() for j in range(self.columnCount())] for i in range(self.rowCount())]
