"""Where the GUI keeps what it remembers between sessions (QSettings, an INI file).

Only Qt-side state lives here: window geometry and splitter states, the last dataset, the
operator's name, device choices, form values. The file sits in ``$DEMOSTATION_CONFIG_DIR`` when
that is set (tests and portable installs), else in the platform's configuration folder, and the
main window receives the `QSettings` object instead of building its own, so tests hand it one in a
temporary folder and never touch a user's real configuration.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

SETTINGS_VERSION = 1
T = TypeVar("T")


def settings_path() -> Path:
    """The INI file the GUI reads and writes."""
    override = os.environ.get("DEMOSTATION_CONFIG_DIR")
    if override:
        base = Path(override)
    else:
        base = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)) / "demostation"
    return base / "gui.ini"


def open_settings(path: str | Path | None = None) -> QSettings:
    """Open (creating the folder of) the settings file; a newer file version is read as empty."""
    target = Path(path) if path is not None else settings_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    s = QSettings(str(target), QSettings.Format.IniFormat)
    stored = s.value("settings_version")
    if stored is not None and _to_int(stored, SETTINGS_VERSION) > SETTINGS_VERSION:
        # Written by a newer Demo Station: do not guess at its meaning, start clean in a side file.
        s = QSettings(str(target.with_suffix(f".v{SETTINGS_VERSION}.ini")), QSettings.Format.IniFormat)
    s.setValue("settings_version", SETTINGS_VERSION)
    return s


def _to_int(v: Any, default: int) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def read(settings: QSettings, key: str, default: T) -> T:
    """A typed read: INI files store text, so convert to the default's type (bad text → default)."""
    v = settings.value(key)
    if v is None:
        return default
    try:
        if isinstance(default, bool):
            return (v if isinstance(v, bool) else str(v).lower() in ("1", "true", "yes")) # type: ignore[return-value]
        if isinstance(default, int):
            return int(v)  # type: ignore[return-value]
        if isinstance(default, float):
            return float(v)  # type: ignore[return-value]
        if isinstance(default, str):
            return str(v)  # type: ignore[return-value]
        if isinstance(default, (list, tuple)):
            items = v if isinstance(v, (list, tuple)) else [v]
            return type(default)(str(i) for i in items)  # type: ignore[return-value]
    except (TypeError, ValueError):
        return default
    return v  # type: ignore[return-value]


def read_bytes(settings: QSettings, key: str) -> QByteArray | None:
    v = settings.value(key)
    return v if isinstance(v, QByteArray) and not v.isEmpty() else None
