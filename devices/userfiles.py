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


@contextmanager
def atomic_dir(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; on success it becomes ``path`` in one rename
    (an existing ``path`` is replaced only with ``overwrite``, and removed only after the new one is
    in place). On any error the temporary folder is removed and ``path`` is left as it was, so a
    cancelled or failed export never leaves half a dataset behind."""
    import shutil

    path = Path(path)
    if path.exists() and not overwrite:
        raise ValueError(f"{path} exists; choose another --out or pass --force to replace it")
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{path} is a file; --out needs a folder name")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"folder {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.{os.getpid()}.old")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
