"""The sweep's progress path: counts that add up to the total, each naming its cell; a stop that ends
the rollouts; and the eval command's machine-readable progress stream and SIGTERM cancel."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from devices.sim.perturbations import perturbation_names
from policy.evaluation import EvalSettings, ExpertAgent
from policy.sweep import run_sweep
from recorder.jobs import Cancelled

REPO = Path(__file__).resolve().parents[1]


def test_sweep_progress_counts_every_rollout_and_names_its_cell():
    seen = []
    report = run_sweep(ExpertAgent(), EvalSettings(episodes=2, seed=0), severities=(0.5,), perturbations=["lighting"],
                       progress=lambda d, t, m="": seen.append((d, t, m)))
    assert [d for d, _, _ in seen] == [0, 1, 2, 3, 4] and {t for _, t, _ in seen} == {4}
    assert seen[0][2] == "4 rollouts: 2 conditions × 2 seeds"
    cells = [m.split(" — ")[0] for _, _, m in seen[1:]]
    assert cells == ["baseline", "baseline", "lighting, severity 0.5", "lighting, severity 0.5"]
    assert all(" — seed " in m for _, _, m in seen[1:])
    assert report.baseline.episodes == 2 and report.cells[0].episodes == 2


def test_a_stopped_sweep_raises_cancelled_after_the_rollout_under_way():
    seen = []
    with pytest.raises(Cancelled):
        run_sweep(ExpertAgent(), EvalSettings(episodes=2, seed=0), severities=(0.5,), perturbations=["lighting"],
                  progress=lambda d, t, m="": seen.append(d), should_stop=lambda: len(seen) >= 2)
    assert seen == [0, 1]


def test_eval_progress_json_lines_on_stderr(capsys):
    assert main(["eval", "expert", "--episodes", "2", "--progress-json", "--json"]) == 0
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.err.strip().splitlines()]
    assert [(x["done"], x["total"]) for x in lines] == [(1, 2), (2, 2)]
    assert lines[-1]["message"].startswith("seed 1: ")
    assert json.loads(captured.out)["episodes"] == 2


def test_sigterm_cancels_the_sweep_between_rollouts_and_writes_nothing(tmp_path):
    out = tmp_path / "sweep"
    proc = subprocess.Popen([sys.executable, "-m", "app", "eval", "expert", "--sweep", "--episodes", "20",
                             "--out", str(out), "--progress-json"], cwd=REPO, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        first = json.loads(proc.stderr.readline())
        assert first["done"] == 0 and first["total"] == 20 * (1 + 3 * len(perturbation_names()))
        assert json.loads(proc.stderr.readline())["done"] == 1
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read().strip().splitlines()
        assert proc.wait(60) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rest and rest[-1].startswith("demostation eval: cancelled after ") and "no sweep report written" in rest[-1]
    assert not (out / "sweep.json").exists()
