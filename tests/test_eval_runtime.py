"""Evaluation through the runtime: latency modes, the report's fields, workers, errors, the sweep."""

import json

import pytest
from runtime_fakes import DyingPredictor, FailingPredictor

from app.cli import main
from policy.evaluation import ChunkAgent, EvalSettings, EvaluationError, ExpertAgent, evaluate
from policy.sweep import run_sweep, sweep_markdown, write_sweep


def cli_json(argv, capsys) -> dict:
    assert main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    return json.loads(out[0])


def test_eval_json_reports_latency_and_safety_interventions(capsys):
    r = cli_json(["eval", "expert-chunks", "--episodes", "1", "--latency", "300", "--json"], capsys)
    assert r["success_rate"] == 1.0 and r["latency"] == "300"
    assert r["chunk_latency_ms"]["p50"] == 300.0 and r["chunk_latency_ms"]["p95"] == 300.0
    assert isinstance(r["safety_interventions"], dict)
    assert r["predict_ms"]["p50"] > 0


def test_fixed_latency_is_reproducible_and_auto_measures(capsys):
    argv = ["eval", "expert-chunks", "--episodes", "1", "--seed", "4", "--latency", "150", "--json"]
    a, b = cli_json(argv, capsys), cli_json(argv, capsys)
    assert (a["mean_score"], a["sim_seconds"], a["safety_interventions"]) == \
           (b["mean_score"], b["sim_seconds"], b["safety_interventions"])
    auto = cli_json(["eval", "expert", "--episodes", "1", "--latency", "auto", "--json"], capsys)
    assert auto["latency"] == "auto" and auto["chunk_latency_ms"]["p50"] > 0
    assert auto["chunk_latency_ms"]["p50"] == pytest.approx(auto["predict_ms"]["p50"])


@pytest.mark.parametrize("argv", [
    ["eval", "expert", "--latency", "soon", "--episodes", "1"],
    ["eval", "expert", "--latency", "-3", "--episodes", "1"],
    ["eval", "expert", "--sweep", "--perturb", "lighting:0.5", "--episodes", "1"],
    ["eval", "expert", "--sweep", "--severities", "0.5,2", "--episodes", "1"],
    ["eval", "expert-chunks", "--n-execute", "0", "--episodes", "1"],
    ["eval", "/no/such/run", "--episodes", "1"],
    ["eval", "expert", "--workers", "0", "--episodes", "1"],
])
def test_bad_runtime_options_exit_2_with_one_line(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]


def test_workers_give_the_same_results_and_report_every_episode():
    settings = EvalSettings(episodes=2, seed=10, latency_ms=200.0)
    seen = []
    serial = evaluate(ExpertAgent(), settings)
    settings.workers = 2
    parallel = evaluate(ExpertAgent(), settings, progress=lambda d, t, m="": seen.append((d, t, m)))
    assert [(r.seed, r.score, r.steps, r.interventions) for r in serial.results] == \
           [(r.seed, r.score, r.steps, r.interventions) for r in parallel.results]
    assert [d for d, _, _ in seen] == [1, 2] and all(t == 2 for _, t, _ in seen)
    assert all(m.startswith("seed ") for _, _, m in seen)
    assert parallel.workers == 2 and parallel.rollouts_per_hour > 0


def test_an_error_in_one_episode_is_one_line_with_its_seed():
    agent = ChunkAgent(FailingPredictor, name="broken", uses_cameras=False)
    with pytest.raises(EvaluationError) as err:
        evaluate(agent, EvalSettings(episodes=2, seed=5))
    msg = str(err.value)
    assert "\n" not in msg and "seed 5" in msg and "ArithmeticError: the network produced garbage over two lines" in msg


def test_a_worker_that_fails_or_dies_is_reported_as_one_line():
    with pytest.raises(EvaluationError) as err:
        evaluate(ChunkAgent(FailingPredictor, uses_cameras=False), EvalSettings(episodes=2, seed=7, workers=2))
    assert "\n" not in str(err.value) and "garbage" in str(err.value) and "seed" in str(err.value)
    with pytest.raises(EvaluationError, match="died"):
        evaluate(ChunkAgent(DyingPredictor, uses_cameras=False), EvalSettings(episodes=2, workers=2))


def test_sweep_with_the_expert_writes_json_markdown_and_a_plot(tmp_path, monkeypatch, capsys):
    from devices.sim.perturbations import perturbation_names

    monkeypatch.chdir(tmp_path)  # experts write into ./sweep by default
    r = cli_json(["eval", "expert", "--sweep", "--episodes", "1", "--severities", "1", "--json"], capsys)
    names = perturbation_names()
    assert {c["perturbation"] for c in r["cells"]} == set(names) and len(r["cells"]) == len(names)
    assert r["baseline"]["success_rate"] == 1.0 and r["baseline"]["severity"] == 0.0
    files = {k: tmp_path / "sweep" / f for k, f in (("json", "sweep.json"), ("markdown", "sweep.md"), ("plot", "sweep.png"))}
    assert json.loads(files["json"].read_text())["cells"] == r["cells"]
    md = files["markdown"].read_text()
    assert all(f"| {n} |" in md for n in names) and "0 (baseline)" in md
    assert files["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and files["plot"].stat().st_size > 5000


def test_sweep_runs_three_severities_by_default_and_curves_start_at_the_shared_baseline(tmp_path):
    from app.cli import build_parser
    from policy.sweep import SWEEP_SEVERITIES

    assert SWEEP_SEVERITIES == (0.25, 0.5, 1.0)
    args = build_parser().parse_args(["eval", "expert", "--sweep"])
    assert tuple(float(s) for s in args.severities.split(",")) == SWEEP_SEVERITIES
    report = run_sweep(ExpertAgent(), EvalSettings(episodes=1, seed=2), perturbations=["object_size"])
    xs, ys = report.curve("object_size")
    assert xs == [0.0, 0.25, 0.5, 1.0] and ys[0] == report.baseline.success_rate
    assert "| object_size | 100% [21–100] (1.00)" in sweep_markdown(report)  # 1 / 1: Wilson 95 % [0.21, 1]
    paths = write_sweep(report, tmp_path / "out")
    assert sorted(p.name for p in paths.values()) == ["sweep.json", "sweep.md", "sweep.png"]
