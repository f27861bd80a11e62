"""ENOSPC at every place the command line writes, on a real full file system (a tmpfs).

Each command's output goes onto a disk with no space left; each must fail with one line that says
so (status 1), never crash inside HDF5 or FFmpeg (a signal), and leave nothing half-written that
takes the space; what it reads from is never touched. The byte-budget fake at the journal's edge
(`tests.recorder_fakes.BudgetFileSystem`) covers the recorder's own write path in
tests/test_recorder_diskfull.py, on any machine.
"""

from __future__ import annotations

import pytest

from tests.full_disk import cli, fill, mount_tmpfs

pytestmark = pytest.mark.slow

TINY_TRAINING = '{"train": {"steps": 3, "batch_size": 4, "val_fraction": 0.0}}'


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A small dataset, a LeRobot copy of it and a training configuration, on a disk with room."""
    base = tmp_path_factory.mktemp("source")
    data = base / "ds"
    assert cli("record", "--out", str(data), "--episodes", "2", "--image-size", "32").returncode == 0
    assert cli("export", str(data), "--format", "lerobot", "--out", str(base / "lerobot")).returncode == 0
    (base / "tiny.json").write_text(TINY_TRAINING)
    return base


@pytest.fixture
def full(tmp_path):
    for mnt in mount_tmpfs(tmp_path, size="1m"):
        fill(mnt)
        yield mnt


def _write_sites(src, full):
    data = str(src / "ds")
    return {
        "record": ("record", "--out", str(full / "rec"), "--episodes", "2", "--image-size", "32"),
        "export robomimic": ("export", data, "--format", "robomimic", "--out", str(full / "demos.h5")),
        "export zarr": ("export", data, "--format", "zarr", "--out", str(full / "demos.zarr")),
        "export lerobot": ("export", data, "--format", "lerobot", "--out", str(full / "demos_lerobot")),
        "import": ("import", str(src / "lerobot"), "--from", "lerobot", "--out", str(full / "imported")),
        "merge": ("curate", str(full / "merged"), "--merge", data),
        "train": ("train", data, "--out", str(full / "run"), "--config", str(src / "tiny.json")),
        "eval --video": ("eval", "expert", "--episodes", "1", "--video", str(full / "videos")),
        "eval --sweep": ("eval", "expert", "--episodes", "1", "--sweep", "--out", str(full / "sweep")),
    }


SITES = ["record", "export robomimic", "export zarr", "export lerobot", "import", "merge", "train", "eval --video",
         "eval --sweep"]
# What a failed command may leave, because it is what the next attempt starts from: a run's
# configuration (resuming), the interrupted episode's journal (recovered when there is room again).
KEPT = {"train": {"run/config.json"}, "record": {"rec/episodes/ep_000000.journal"}}


@pytest.mark.parametrize("site", SITES)
def test_a_full_disk_is_one_line_and_no_crash(site, source, full):
    r = cli(*_write_sites(source, full)[site])
    lines = [ln for ln in r.stderr.strip().splitlines() if not ln.startswith("[")]  # progress bars aside
    assert r.returncode == 1, (site, r.returncode, r.stderr[-2000:])  # a crash is a negative status
    assert len(lines) == 1 and ("disk full" in lines[0] or "No space left" in lines[0]), (site, lines[:4])
    assert "Traceback" not in r.stderr
    left = {str(p.relative_to(full)) for p in full.rglob("*") if p.is_file() and p.name != "filler"}
    assert left <= KEPT.get(site, set()), (site, left)  # nothing half-written takes the space
    assert cli("validate", str(source / "ds")).returncode == 0  # the source is untouched
