"""Bad input gets one line and status 2, never a raw Python message (#18 "Messages and exit codes")."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from episode_files import write_dataset

from app.cli import main

ROOT = Path(__file__).resolve().parents[1]
LONG = "a" * 300  # longer than NAME_MAX (255) on every file system we run on


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.fixture
def dataset(tmp_path):
    return write_dataset(tmp_path / "ds", episodes=2, length=12, image_size=16)


@pytest.mark.parametrize("argv", [
    lambda ds, tmp: ["export", str(ds), "--out", str(tmp / f"{LONG}.h5")],
    lambda ds, tmp: ["curate", str(tmp / LONG), "--list"],
    lambda ds, tmp: ["validate", str(tmp / LONG)],
    lambda ds, tmp: ["info", str(tmp / LONG)],
    lambda ds, tmp: ["train", str(tmp / LONG), "--out", str(tmp / "run")],
    lambda ds, tmp: ["train", str(ds), "--out", str(tmp / LONG)],
])
def test_a_name_longer_than_the_file_system_allows_is_one_line(dataset, tmp_path, capsys, argv):
    assert main(argv(dataset, tmp_path)) == 2
    err = _one_error_line(capsys)
    assert "longer than the file system allows" in err and LONG not in err, err


def test_a_catalog_path_that_is_a_folder_is_one_line(dataset, tmp_path, capsys):
    (dataset / "catalog.sqlite").mkdir()
    assert main(["curate", str(dataset), "--list"]) == 2
    assert "is a folder" in _one_error_line(capsys)
    assert main(["export", str(dataset), "--out", str(tmp_path / "x.h5")]) == 2
    assert "is a folder" in _one_error_line(capsys)


@pytest.mark.parametrize("with_catalog", [False, True])
def test_a_read_only_dataset_is_one_line(with_catalog):
    """Run as an ordinary user: root writes into read-only folders. The dataset lives in a folder that
    user can reach (pytest's tmp_path is private to root)."""
    base = Path(tempfile.mkdtemp(prefix="demostation-ro-"))
    try:
        os.chmod(base, 0o755)
        ds = write_dataset(base / "ds", episodes=2, length=12, image_size=16)
        if with_catalog:
            assert main(["curate", str(ds), "--list"]) == 0
        for path in [ds, *ds.rglob("*")]:
            os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH | (0o555 if path.is_dir() else 0))
        as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
        if as_user and not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: a read-only folder cannot be made")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        r = subprocess.run([*as_user, sys.executable, "-m", "app", "curate", str(ds), "--list"], capture_output=True,
                           text=True, timeout=120, cwd=base, env=env)
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "read-only" in lines[0] and "OperationalError" not in lines[0], r.stderr
    finally:
        for path in [base, *base.rglob("*")]:
            os.chmod(path, 0o755)
        shutil.rmtree(base)


@pytest.mark.parametrize("damage,words", [
    ("timing is a list", "timing must be a JSON object"),
    ("rate_hz is a list", "rate_hz must be a number"),
    ("rate_hz is text", "rate_hz must be a number"),
    ("time has two columns", "time must be (T,) seconds"),
])
def test_validate_names_bad_attribute_types_in_its_own_words(dataset, capsys, damage, words):
    with h5py.File(dataset / "episodes" / "ep_000001.h5", "r+") as f:
        if damage == "timing is a list":
            f.attrs["timing"] = json.dumps(["x"])  # was: "dictionary update sequence element #0 ..."
        elif damage == "rate_hz is a list":
            f.attrs["rate_hz"] = np.array([10.0, 10.0])
        elif damage == "rate_hz is text":
            f.attrs["rate_hz"] = "ten"
        else:
            t = f["time"][()]
            del f["time"]
            f["time"] = np.stack([t, t], 1)  # was: "unsupported format string passed to numpy.ndarray.__format__"
    assert main(["validate", str(dataset)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    bad = [line for line in out if line.startswith("ep_000001")]
    assert len(bad) == 1 and words in bad[0] and "unreadable" not in bad[0], out
