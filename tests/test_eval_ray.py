"""The Ray backend on a local two-CPU Ray cluster this module starts and stops: the same episodes as
the process pool, progress, cancellation, and a worker that dies being retried and reported."""

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import ray  # the `ray` extra, which scripts/setup.sh installs

from app.cli import main
from policy.evaluation import EvalSettings, EvaluationError, ExpertAgent, evaluate
from policy.sweep import run_sweep
from recorder.jobs import Cancelled

pytestmark = pytest.mark.slow  # Ray's start costs ~5 s, once for the module


@pytest.fixture(scope="module", autouse=True)
def ray_cluster():
    # The test module's classes travel by value, so the Ray workers need not import this file.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning")
    yield
    ray.shutdown()


@dataclass
class DiesOnce(ExpertAgent):
    """The expert, except that the worker running seed ``fatal_seed`` exits hard the first
    ``deaths`` times (counted in files under ``marker_dir``, which every worker sees)."""

    fatal_seed: int = 1
    marker_dir: str = ""
    deaths: int = 1

    def reset(self, station, seed: int) -> None:
        if seed == self.fatal_seed:
            died = len(list(Path(self.marker_dir).glob("died*")))
            if died < self.deaths:
                Path(self.marker_dir, f"died{died}").touch()
                os._exit(3)  # no exception, no cleanup: what a killed or out-of-memory worker looks like
        super().reset(station, seed)


def _episode(r) -> dict:
    """Everything an episode's outcome is (wall-clock timings aside)."""
    return dict(seed=r.seed, success=r.success, score=r.score, steps=r.steps, sim_seconds=r.sim_seconds,
                interventions=r.interventions, chunks=r.chunks, latency_ms=r.latency_ms,
                dropped_waypoints=r.dropped_waypoints, perturbations=r.perturbations)


def test_same_seeds_give_the_same_episodes_as_the_process_pool():
    base = dict(episodes=3, seed=5, perturbations={"lighting": 0.5})
    pool = evaluate(ExpertAgent(noise=0.3), EvalSettings(**base, workers=2))
    seen = []
    on_ray = evaluate(ExpertAgent(noise=0.3), EvalSettings(**base, backend="ray", workers=2),
                      progress=lambda d, t, m="": seen.append((d, t, m)))
    assert on_ray.backend == "ray" and pool.backend == "process" and on_ray.workers == 2
    assert [_episode(r) for r in on_ray.results] == [_episode(r) for r in pool.results]
    assert len({r["score"] for r in map(_episode, pool.results)}) > 1  # noise: the seeds really differ
    assert sorted(d for d, _, _ in seen) == [1, 2, 3] and {t for _, t, _ in seen} == {3}
    assert all(" seed " in f" {m}" for _, _, m in seen) and on_ray.retried == []


def test_a_worker_that_dies_is_retried_and_reported(tmp_path):
    seen = []
    report = evaluate(DiesOnce(fatal_seed=1, marker_dir=str(tmp_path)), EvalSettings(episodes=3, backend="ray"),
                      progress=lambda d, t, m="": seen.append(m))
    assert [r.seed for r in report.results] == [0, 1, 2] and all(r.success for r in report.results)
    assert len(report.retried) == 1 and report.retried[0].startswith("seed 1: worker died (")
    assert "retry 1 of 3" in report.retried[0] and report.retried[0] in seen
    assert len(list(tmp_path.glob("died*"))) == 1


def test_a_worker_that_keeps_dying_fails_the_evaluation_naming_its_seed(tmp_path):
    with pytest.raises(EvaluationError, match=r"episode seed 2: its Ray worker died 2 time\(s\).*--max-retries 1"):
        evaluate(DiesOnce(fatal_seed=2, marker_dir=str(tmp_path), deaths=5),
                 EvalSettings(episodes=3, backend="ray", max_retries=1))


def test_a_stop_request_cancels_the_ray_rollouts():
    seen = []
    with pytest.raises(Cancelled):
        evaluate(ExpertAgent(), EvalSettings(episodes=6, backend="ray", workers=1),
                 progress=lambda d, t, m="": seen.append(d), should_stop=lambda: len(seen) >= 1)
    assert seen == [1]


def test_a_sweep_on_ray_has_the_process_pool_cells():
    kw = dict(severities=(1.0,), perturbations=["lighting"])
    pool = run_sweep(ExpertAgent(noise=0.3), EvalSettings(episodes=2, workers=1), **kw)
    on_ray = run_sweep(ExpertAgent(noise=0.3), EvalSettings(episodes=2, backend="ray"), **kw)
    strip = lambda c: (c.perturbation, c.severity, c.episodes, c.success_rate, c.mean_score)  # noqa: E731
    assert [strip(c) for c in [on_ray.baseline, *on_ray.cells]] == [strip(c) for c in [pool.baseline, *pool.cells]]
    assert on_ray.backend == "ray"


def test_cli_backend_ray_json(capsys):
    import json

    assert main(["eval", "expert", "--episodes", "2", "--backend", "ray", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["backend"] == "ray" and report["episodes"] == 2 and report["retried"] == []


def test_cli_address_without_ray_backend_is_bad_usage(capsys):
    assert main(["eval", "expert", "--episodes", "1", "--address", "127.0.0.1:1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--backend ray" in err[0]


def test_cli_unreachable_cluster_is_one_line_and_exit_2(capsys):
    import socket

    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["eval", "expert", "--episodes", "1", "--backend", "ray", "--address", f"127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no Ray cluster answers at" in err[0] and "ray start --head" in err[0]


def test_a_local_cluster_started_by_the_backend_runs_this_checkout_and_prints_nothing(tmp_path):
    """Without PYTHONPATH the workers would import whichever copy of Demo Station is installed."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    script = ("import sys; sys.path.insert(0, sys.argv[1]); import ray\n"
              "from policy.evaluation import EvalSettings, ExpertAgent, evaluate\n"
              "class Where(ExpertAgent):\n"
              "    def episode_info(self):\n"
              "        import policy.evaluation as e; return {'file': e.__file__}\n"
              "ray.cloudpickle.register_pickle_by_value(sys.modules['__main__'])\n"
              "r = evaluate(Where(), EvalSettings(episodes=1, backend='ray', workers=1))\n"
              "print(r.results[0].info['file'])\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", script, str(root)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert Path(proc.stdout.strip()) == root / "policy" / "evaluation.py"
    assert proc.stderr.strip() == ""  # no Ray start-up notice for a front-end to mistake for an error


def test_sigterm_cancels_a_ray_evaluation_like_the_process_pool(tmp_path):
    """The command's cancel path on Ray: the rollouts stop, the local cluster is shut down, one line."""
    import json
    import signal
    import subprocess

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-m", "app", "eval", "expert", "--episodes", "200", "--backend", "ray",
                             "--workers", "1", "--progress-json"], cwd=tmp_path, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(root), "PYTHONUNBUFFERED": "1"})
    try:
        assert json.loads(proc.stderr.readline())["done"] == 1
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read().strip().splitlines()
        assert proc.wait(60) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rest and rest[-1].startswith("demostation eval: cancelled after ") and "no report written" in rest[-1]
    assert all(line.startswith("{") for line in rest[:-1])  # nothing else on stderr: progress lines only
