"""Crash safety: SIGKILL a real recording process mid-episode, then open the dataset.

At most the last second of the killed episode may be lost, nothing else; the next open of the
dataset recovers the partial episode with no manual step.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from recorder.dataset import Dataset
from recorder.validate import validate_dataset

ROOT = Path(__file__).resolve().parents[1]


def _spawn(args):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_sigkill_mid_episode_loses_at_most_the_last_second(tmp_path):
    rate = 10.0
    proc = _spawn(["-m", "tests.live_recording_child", str(tmp_path), str(rate)])
    printed: dict[str, list[tuple[float, float]]] = {"ep_000000": [], "ep_000001": []}
    try:
        deadline = time.monotonic() + 30
        for line in proc.stdout:
            parts = line.split()
            if parts and parts[0] == "SAMPLE":
                printed[parts[1]].append((float(parts[3]), float(parts[4])))
                if parts[1] == "ep_000001" and int(parts[2]) >= 27:  # 2.7 s into the second episode
                    os.kill(proc.pid, signal.SIGKILL)
                    break
            assert time.monotonic() < deadline, "the recording process did not get going"
    finally:
        proc.kill()
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    assert (tmp_path / "episodes" / "ep_000001.journal").exists()  # what the crash left

    ds = Dataset(tmp_path)  # recovery happens here, with no manual step
    assert ds.recovery.recovered == ["ep_000001"] and ds.problems() == []
    with ds.open("ep_000000") as ep:  # the finished episode is untouched
        assert ep.complete and len(ep) == len(printed["ep_000000"]) >= 9
    with ds.open("ep_000001") as ep:
        assert not ep.complete and ep.attrs["recovered"] is True
        recorded = printed["ep_000001"]
        lost = len(recorded) - len(ep)
        print(f"recorded {len(recorded)} samples before SIGKILL, recovered {len(ep)}, lost {lost}")
        assert 0 <= lost <= rate * 1.0, f"lost {lost} samples (more than one second at {rate:g} Hz)"
        # What survived is exactly what was recorded, sample for sample.
        np.testing.assert_allclose(ep.time, [t for t, _ in recorded[:len(ep)]], atol=1e-6)
        np.testing.assert_allclose(ep.action_pose[:, 0], [x for _, x in recorded[:len(ep)]], atol=1e-5)
        assert ep.images("scene", len(ep) - 1).shape == (32, 32, 3)
    report = validate_dataset(tmp_path)
    assert [(p.episode, p.kind) for p in report.problems] == [("ep_000001", "incomplete")]
    assert not list((tmp_path / "episodes").glob("*.journal"))


def test_sigkill_of_demostation_record_then_info_recovers(tmp_path):
    out = tmp_path / "ds"
    proc = _spawn(["-m", "app", "record", "--out", str(out), "--episodes", "4", "--image-size", "32"])
    journal = out / "episodes" / "ep_000001.journal"
    try:
        deadline = time.monotonic() + 60
        while not (journal.exists() and journal.stat().st_size > 20_000):  # > a few blocks of the 2nd episode
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the recording did not reach its second episode"
            time.sleep(0.002)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(10)
    from app.cli import main

    assert main(["info", str(out), "--json"]) == 0
    ds = Dataset(out)
    assert ds.episode_ids() == ["ep_000000", "ep_000001"] and ds.problems() == []
    with ds.open("ep_000000") as ep:
        assert ep.complete and ep.success
    with ds.open("ep_000001") as ep:
        assert not ep.complete and len(ep) >= 10
    assert main(["validate", str(out)]) == 1  # the recovered episode is flagged incomplete
