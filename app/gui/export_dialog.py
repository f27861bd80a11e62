"""The dialog that asks where an export goes: what to write (a format, or which cameras), the
destination, and the options of the chosen kind.

It only asks; the Dataset panel's exporter runs the job. Two checks happen here, before anything
starts, so the answer comes while the person is still looking at the form: a destination inside the
dataset is refused with the core's own check (`curation.export_plan.refuse_inside_dataset`, the one
``demostation export --out`` uses), and an existing destination is replaced only after a "Replace"
confirmation. Both boxes open with `open()`, not `exec()`: the event loop keeps running.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.gui import theme
from curation.export_plan import refuse_inside_dataset


@dataclass(frozen=True)
class ExportChoice:
    """One entry of the "what" list: a format of the dataset, or a camera set of a video."""

    key: str
    label: str
    target: str  # "file" or "folder"
    suffix: str  # the destination's usual ending ("" for a plain folder)
    default_name: str  # the destination's name (in the dataset's parent folder) until the person types one
    tooltip: str = ""


class ExportDialog(QDialog):
    """Emits ``chosen(key, out, overwrite)`` once the destination is acceptable, then closes."""

    chosen = Signal(str, object, bool)

    def __init__(self, title: str, dataset: Path, choices: list[ExportChoice], what_label: str = "Format",
                 intro: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("ExportDialog")
        self.setMinimumWidth(620)
        self.dataset = Path(dataset)
        self.choices = {c.key: c for c in choices}
        self.confirm_box: QMessageBox | None = None  # the open "replace?" question (tests answer it)
        self._option_rows: list[tuple[QLabel, QWidget, set[str]]] = []
        self._default = ""

        col = QVBoxLayout(self)
        col.setSpacing(10)
        if intro:
            col.addWidget(theme.note_label(intro, wrap=True))
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.what_combo = QComboBox()
        for c in choices:
            self.what_combo.addItem(c.label, c.key)
            self.what_combo.setItemData(self.what_combo.count() - 1, c.tooltip, Qt.ItemDataRole.ToolTipRole)
        self.form.addRow(what_label, self.what_combo)
        row = QHBoxLayout()
        self.path_edit = QLineEdit()
        self.path_edit.textEdited.connect(lambda _: self.error_label.setText(""))
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse)
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.browse_button)
        self.form.addRow("Save to", row)
        col.addLayout(self.form)
        self.error_label = QLabel("")
        self.error_label.setObjectName("ExportError")
        self.error_label.setStyleSheet(f"color: {theme.BAD.name()};")
        self.error_label.setWordWrap(True)
        col.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setProperty("role", "primary")
        self.export_button.setDefault(True)
        self.buttons.accepted.connect(self.try_accept)
        self.buttons.rejected.connect(self.reject)
        col.addWidget(self.buttons)
        self.what_combo.currentIndexChanged.connect(lambda _: self._choice_changed())
        self._choice_changed()

    # -- building --------------------------------------------------------------------------------
    def add_option(self, label: str, widget: QWidget, for_keys: set[str]) -> None:
        """A form row shown only while one of ``for_keys`` is chosen."""
        text = QLabel(label)
        self.form.addRow(text, widget)
        self._option_rows.append((text, widget, set(for_keys)))
        self._show_options()

    def choice(self) -> ExportChoice:
        return self.choices[self.what_combo.currentData()]

    def destination(self) -> Path | None:
        text = self.path_edit.text().strip()
        return Path(text).expanduser() if text else None

    def _choice_changed(self) -> None:
        """Follow the choice with the default name, unless the person typed a destination of their own."""
        c = self.choice()
        current = self.path_edit.text().strip()
        if not current or current == self._default:
            self._default = str(self.dataset.parent / c.default_name)
            self.path_edit.setText(self._default)
        self.path_edit.setToolTip("a new folder (or an existing one to replace)" if c.target == "folder"
                                  else f"a {c.suffix} file")
        self.error_label.setText("")
        self._show_options()

    def _show_options(self) -> None:
        key = self.what_combo.currentData()
        for text, widget, keys in self._option_rows:
            text.setVisible(key in keys)
            widget.setVisible(key in keys)
        self.adjustSize()  # no empty band where the other format's options were

    def _browse(self) -> None:
        c = self.choice()
        start = str(self.destination() or self.dataset.parent / c.default_name)
        if c.target == "folder":
            # A folder export is a new folder: pick where it goes; its name stays the one in the field.
            parent = QFileDialog.getExistingDirectory(self, "Export into folder", str(Path(start).parent))
            if parent:
                self.path_edit.setText(str(Path(parent) / Path(start).name))
        else:
            path, _ = QFileDialog.getSaveFileName(self, "Export to file", start, f"*{c.suffix}",
                                                  options=QFileDialog.Option.DontConfirmOverwrite)
            if path:
                self.path_edit.setText(path if path.endswith(c.suffix) else path + c.suffix)
        self.error_label.setText("")

    # -- accepting -------------------------------------------------------------------------------
    def try_accept(self) -> None:
        """Refuse a destination inside the dataset; ask before replacing one that exists."""
        out = self.destination()
        if out is None:
            self.error_label.setText("give the destination to write")
            return
        try:
            refuse_inside_dataset(self.dataset, out)
        except ValueError as exc:
            self.error_label.setText(str(exc))
            return
        c = self.choice()
        if out.is_dir() and c.target == "file":
            self.error_label.setText(f"{out} is a folder; give a file name ending in {c.suffix}")
            return
        if out.exists() and not out.is_dir() and c.target == "folder":
            self.error_label.setText(f"{out} is a file; give a name for a new folder")
            return
        if not out.parent.is_dir():
            self.error_label.setText(f"folder {out.parent} does not exist")
            return
        if not out.exists():
            self._finish(out, overwrite=False)
            return
        kind = "folder" if out.is_dir() else "file"
        box = QMessageBox(QMessageBox.Icon.Question, "Replace?",
                          f"{out} exists.\nReplace this {kind} with the export? (The old one is removed only once "
                          "the new one is complete.)",
                          QMessageBox.StandardButton.Cancel, self)
        replace = box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.buttonClicked.connect(lambda b: self._finish(out, overwrite=True) if b is replace else None)
        box.finished.connect(lambda _: setattr(self, "confirm_box", None))
        self.confirm_box = box
        box.open()

    def _finish(self, out: Path, overwrite: bool) -> None:
        self.chosen.emit(self.choice().key, out, overwrite)
        self.accept()
