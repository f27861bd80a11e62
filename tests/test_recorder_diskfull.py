"""A full disk stops recording with one clear line; everything already written stays readable."""

import shutil

import pytest

from recorder.clock import SimulatedClock
from recorder.command_path import UnfilteredPath
from recorder.dataset import Dataset
from recorder.errors import DiskFullError
from recorder.session import RecordingSession
from recorder.validate import validate_dataset
from tests.full_disk import cli, fill, mount_tmpfs
from tests.recorder_fakes import BudgetFileSystem, EndAfter, FakeRobot, RateCamera, ScriptedSource


def test_a_disk_that_fills_mid_episode(tmp_path):
    fs = BudgetFileSystem(budget=10**9)
    clock = SimulatedClock()
    cams = {"scene": RateCamera("scene", clock, 15.0, phase_s=-1.0)}
    robot = FakeRobot(clock)
    session = RecordingSession(tmp_path, robot, cams, ScriptedSource(), clock=clock, fs=fs,
                               control=UnfilteredPath(robot))
    first = session.record_episode(end=EndAfter(3.0))
    per_episode = fs.used
    fs.budget = fs.used + per_episode // 2  # room for about half of the next episode's journal
    with pytest.raises(DiskFullError) as info:
        session.record_episode(end=EndAfter(3.0))
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"disk full in {tmp_path / 'episodes'} (No space left")
    assert "recording of ep_000001 stopped; earlier episodes are intact" in message

    ds = Dataset(tmp_path)  # here the disk has room again: the partial episode is recovered
    assert ds.episode_ids() == ["ep_000000", "ep_000001"] and ds.problems() == []
    with ds.open("ep_000000") as ep:
        assert ep.complete and len(ep) == first.frames == 31
    with ds.open("ep_000001") as ep:
        assert not ep.complete and 5 <= len(ep) < 31
    assert [(p.episode, p.kind) for p in validate_dataset(tmp_path).problems] == [("ep_000001", "incomplete")]


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A real 800 KB file system (tmpfs), where the OS itself answers ENOSPC."""
    yield from mount_tmpfs(tmp_path)


def test_demostation_record_on_a_full_tmpfs(tiny_tmpfs, tmp_path, capsys):
    from app.cli import main

    out = tiny_tmpfs / "ds"
    code = main(["record", "--out", str(out), "--episodes", "30", "--image-size", "32", "--json"])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "disk full" in err[0], err

    ds = Dataset(out)  # still full: what cannot be recovered yet is reported, not fatal
    complete = [e for e in ds.episode_ids() if ds.open(e).complete]
    assert len(complete) >= 1
    report = validate_dataset(out)
    assert all(p.episode not in complete for p in report.problems)  # finished episodes are all sound

    copy = tmp_path / "copy"
    shutil.copytree(out, copy)  # on a disk with room, the interrupted episode comes back
    again = Dataset(copy)
    assert again.problems() == [] and len(again) >= len(complete)
    assert not list((copy / "episodes").glob("*.journal"))


def test_a_disk_that_fills_while_finalising_keeps_the_journal(tmp_path, monkeypatch):
    import recorder.writer as writer_module

    def full(*args, **kwargs):  # what h5py raises when HDF5's flush on close hits ENOSPC
        raise RuntimeError("Can't close file (file write failed: errno = 28, error message = "
                           "'No space left on device', total write size = 2048)")

    clock = SimulatedClock()
    robot = FakeRobot(clock)
    session = RecordingSession(tmp_path, robot, {}, ScriptedSource(), clock=clock, control=UnfilteredPath(robot))
    monkeypatch.setattr(writer_module, "finalize_journal", full)
    with pytest.raises(DiskFullError, match="disk full in .*recording of ep_000000 stopped"):
        session.record_episode(end=EndAfter(1.0))
    assert (tmp_path / "episodes" / "ep_000000.journal").exists()
    monkeypatch.undo()
    ds = Dataset(tmp_path)  # sealed before the failure: recovered as a complete episode
    with ds.open("ep_000000") as ep:
        assert ep.complete and len(ep) == 11 and ep.success is True


@pytest.mark.slow
def test_export_onto_a_full_disk_is_one_line_and_leaves_nothing(tiny_tmpfs, tmp_path):
    data = tmp_path / "ds"
    assert cli("record", "--out", str(data), "--episodes", "3", "--image-size", "96").returncode == 0
    fill(tiny_tmpfs, leave_bytes=150_000)
    for fmt, out in (("robomimic", "demos.h5"), ("zarr", "demos.zarr"), ("lerobot", "demos_lerobot")):
        r = cli("export", str(data), "--format", fmt, "--out", str(tiny_tmpfs / out))
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 1, (fmt, r.returncode, r.stderr[-1500:])  # not -11 (SIGSEGV) nor 139
        assert len(lines) == 1 and "disk full" in lines[0], (fmt, lines[:3])
        assert sorted(p.name for p in tiny_tmpfs.iterdir()) == ["filler"], fmt  # no half-written export
    assert cli("validate", str(data)).returncode == 0  # the dataset itself is untouched


@pytest.mark.slow
def test_a_healthy_catalog_on_a_full_disk_is_reported_as_a_full_disk(tiny_tmpfs):
    data = tiny_tmpfs / "ds"
    assert cli("record", "--out", str(data), "--episodes", "2", "--image-size", "32").returncode == 0
    assert cli("curate", str(data), "--tag", "ep_000001", "kept").returncode == 0
    fill(tiny_tmpfs)
    for args in (("curate", str(data), "--stats"), ("curate", str(data), "--tag", "ep_000000", "x"),
                 ("export", str(data), "--format", "zarr", "--out", "/tmp/never-written.zarr")):
        r = cli(*args)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 1 and len(lines) == 1, (args, r.returncode, r.stderr[-800:])
        assert "disk full" in lines[0] and "move it aside" not in lines[0] and "not a readable" not in lines[0]
    (tiny_tmpfs / "filler").unlink()
    r = cli("curate", str(data), "--list", "--json")
    assert r.returncode == 0 and "kept" in r.stdout  # the catalog was never touched
