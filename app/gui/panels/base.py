"""What all panels share: a header, a settings prefix, and a shutdown hook for their workers."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QSplitter, QVBoxLayout, QWidget

from app.gui.context import AppContext
from app.gui.settings import read_bytes


class Panel(QWidget):
    key = "panel"
    title = "Panel"
    icon_name = ""
    hint = ""
    wants_teleop_keys = False  # the station's keyboard teleop is live while this panel is shown

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName(f"{self.key}_panel")
        self._splitters: dict[str, QSplitter] = {}

    def build_header(self, layout: QVBoxLayout, extra: QWidget | None = None) -> None:
        from PySide6.QtWidgets import QHBoxLayout

        row = QHBoxLayout()
        col = QVBoxLayout()
        col.setSpacing(2)
        title = QLabel(self.title)
        title.setObjectName("PanelTitle")
        col.addWidget(title)
        if self.hint:
            hint = QLabel(self.hint)
            hint.setObjectName("PanelHint")
            hint.setWordWrap(True)
            col.addWidget(hint)
        row.addLayout(col, 1)
        if extra is not None:
            row.addWidget(extra)
        layout.addLayout(row)

    @staticmethod
    def side_column(*groups: QWidget, spacing: int | None = None) -> QScrollArea:
        """The scrollable column of control groups every panel keeps beside its main view."""
        side = QWidget()
        col = QVBoxLayout(side)
        col.setContentsMargins(0, 0, 0, 0)
        if spacing is not None:
            col.setSpacing(spacing)
        for g in groups:
            col.addWidget(g)
        col.addStretch(1)
        return Panel.side_scroll(side)

    @staticmethod
    def side_scroll(content: QWidget) -> QScrollArea:
        scroll = QScrollArea()
        scroll.setObjectName("SideScroll")
        scroll.setWidget(content)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(360)
        scroll.setMaximumWidth(460)
        return scroll

    # -- persistence -----------------------------------------------------------------------------
    def remember_splitter(self, name: str, splitter: QSplitter) -> QSplitter:
        """Splitter positions are saved with the window layout and restored on the next start."""
        splitter.setObjectName(f"{self.key}_{name}")
        splitter.setChildrenCollapsible(False)
        self._splitters[name] = splitter
        return splitter

    def save_state(self) -> None:
        s = self.ctx.settings
        for name, sp in self._splitters.items():
            s.setValue(f"{self.key}/splitter_{name}", sp.saveState())

    def restore_state(self) -> None:
        s = self.ctx.settings
        for name, sp in self._splitters.items():
            state = read_bytes(s, f"{self.key}/splitter_{name}")
            if isinstance(state, QByteArray):
                sp.restoreState(state)

    def shutdown(self) -> None:
        """Stop this panel's workers (the window is closing)."""

    def on_shown(self) -> None:
        """Called when the panel becomes the visible one."""
