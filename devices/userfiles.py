"""Where user settings live, and how files are written so a crash never leaves half of one.

Shared by every settings store (teleop devices, cameras) and by anything that writes a result file
readers may open at any moment (sweep tables, plots).
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

CONFIG_DIR_ENV = "DEMOSTATION_CONFIG_DIR"


def config_dir() -> Path:
    """``$DEMOSTATION_CONFIG_DIR`` or the platform's config dir + ``demostation`` (tests point it elsewhere)."""
    env = os.environ.get(CONFIG_DIR_ENV)
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "demostation"


@contextmanager
def atomic_path(path: str | Path, tmp: str | Path | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is fsynced and replaces ``path`` in one
    rename. ``tmp`` names the temporary file where readers must recognise it (a recording's
    ``.h5.tmp``); by default a hidden per-process name.

    On any error the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tmp) if tmp is not None else path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a whole text file or nothing."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
