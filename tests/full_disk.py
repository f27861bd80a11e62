"""A real full disk for tests: a small tmpfs (root only, else the test skips), filled on demand, and
the command line run in its own process so a crash inside HDF5 or FFmpeg shows as a signal."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def mount_tmpfs(parent: Path, size: str = "800k"):
    """Yield a fresh tmpfs of ``size`` under ``parent`` (a generator for a fixture)."""
    mnt = parent / f"tmpfs-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(folder: Path, leave_bytes: int = 0) -> None:
    """Fill ``folder``'s file system until about ``leave_bytes`` are free."""
    free = shutil.disk_usage(folder).free - leave_bytes
    with open(folder / "filler", "wb") as f:
        while free > 0:
            n = min(free, 1 << 16)
            try:
                f.write(b"\0" * n)
                f.flush()
            except OSError:
                break
            free -= n


def cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=ROOT)
