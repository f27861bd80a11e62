"""bench/timeline.py runs and prints one JSON object (on a short episode, so the suite stays quick);
bad input is one line on stderr and status 2."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]


def _run(*args):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(ROOT / "bench" / "timeline.py"), *args], capture_output=True,
                          text=True, timeout=240, env=env)


def test_the_timeline_bench_prints_its_figures():
    r = _run("300")
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["samples"] == 300 and out["duration_s"] == 30.0 and out["regions"] > 0
    for key in ("build_ms", "curation_update_ms", "step_ms_p50", "step_ms_p95", "zoom_ms_p50", "pan_ms_p50",
                "region_drag_ms_p50", "full_repaint_ms_p50"):
        assert out[key] > 0, key
    assert out["twin_followed"] is True


def test_the_timeline_bench_refuses_bad_input():
    r = _run("many")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().count("\n") == 0 and "SAMPLES" in r.stderr
