"""Recording into a folder that refuses new files says so in one line, status 2, and never claims a
journal it could not create."""

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recorder.clock import SimulatedClock
from recorder.command_path import UnfilteredPath
from recorder.errors import UnwritableDatasetError
from recorder.session import RecordingSession
from tests.recorder_fakes import EndAfter, FakeRobot, ScriptedSource


class RefusingFileSystem:
    """A folder without write permission, as the OS answers it (the edge the recorder writes through)."""

    def open_new(self, path: Path):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))


def test_an_unwritable_folder_is_refused_before_any_sample(tmp_path):
    clock = SimulatedClock()
    robot = FakeRobot(clock)
    session = RecordingSession(tmp_path, robot, {}, ScriptedSource(), clock=clock, fs=RefusingFileSystem(),
                               control=UnfilteredPath(robot))
    with pytest.raises(UnwritableDatasetError) as info:
        session.record_episode(end=EndAfter(1.0))
    message = str(info.value)
    assert "\n" not in message and "permission denied" in message and "nothing was written" in message
    assert "journal" not in message  # no journal exists to be recovered
    assert not list((tmp_path / "episodes").glob("*"))


@pytest.fixture
def read_only_folder(tmp_path):
    """A real read-only file system (a read-only bind mount), which refuses even root."""
    folder = tmp_path / "ds" / "episodes"
    folder.mkdir(parents=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a read-only bind mount needs root")
    for args in (["--bind", str(folder), str(folder)], ["-o", "remount,bind,ro", str(folder)]):
        r = subprocess.run(["mount", *args], capture_output=True)
        if r.returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=False)
            pytest.skip(f"cannot bind-mount here: {r.stderr.decode().strip()}")
    try:
        yield folder.parent
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_demostation_record_into_a_read_only_dataset(read_only_folder):
    r = subprocess.run([sys.executable, "-m", "app", "record", "--out", str(read_only_folder), "--episodes", "1",
                        "--cameras", ""], capture_output=True, text=True, timeout=120,
                       cwd=Path(__file__).resolve().parents[1], env={**os.environ, "MUJOCO_GL": "egl"})
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert "cannot record into" in lines[0] and "read-only file system" in lines[0] and "journal" not in lines[0]
