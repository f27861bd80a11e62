"""The look: one style sheet (assets/theme.qss), the status colours, and the panel icons.

Colours that mean something (ok, warning, error, recording) are defined once here so an indicator
looks the same on every panel; everything else is in the style sheet.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QApplication, QLabel

ASSETS = Path(__file__).resolve().parents[2] / "assets"

# Status colours (indicator lights, plot highlights).
OK = QColor("#3fb27f")
WARN = QColor("#d8a235")
BAD = QColor("#e5534b")
IDLE = QColor("#6b7480")
ACCENT = QColor("#4c9be8")
RECORDING = QColor("#ff4d42")
TEXT = QColor("#d8dce2")
DIM = QColor("#8a93a0")
BASE = QColor("#1d2025")
PANEL = QColor("#252930")
GRID = QColor("#2f343c")

# Series colours for plots: distinguishable on the dark base, in a fixed order.
SERIES = [QColor(c) for c in ("#4c9be8", "#e5934b", "#3fb27f", "#c678dd", "#d8c435", "#56c2d6", "#e5534b",
                              "#a0a8b4")]

STATE_COLOURS = {"ok": OK, "warn": WARN, "error": BAD, "idle": IDLE, "recording": RECORDING, "busy": ACCENT}


def style_sheet() -> str:
    return (ASSETS / "theme.qss").read_text(encoding="utf-8")


def apply_theme(app: QApplication) -> None:
    """Fusion as the base style (identical on every platform), then our sheet on top."""
    app.setStyle("Fusion")
    app.setStyleSheet(style_sheet())


def icon(name: str) -> QIcon:
    """A panel icon from assets/icons (SVG); an empty icon when the file is missing."""
    path = ASSETS / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()


def note_label(text: str = "", wrap: bool = False) -> QLabel:
    """A secondary line (hints, details, summaries) in the dim style every panel uses for them."""
    label = QLabel(text)
    label.setObjectName("Dim")
    label.setWordWrap(wrap)
    return label
