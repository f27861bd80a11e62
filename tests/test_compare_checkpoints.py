"""Comparing checkpoints: `eval A B --sweep` and `eval RUN --checkpoints --sweep` give one robustness
report (JSON, Markdown, plot) whose cells are each checkpoint's own sweep, with Wilson intervals."""

import json

import pytest
from episode_files import tiny_run_config, write_dataset

from app.cli import main
from devices.sim.perturbations import perturbation_names
from policy.evaluation import EvalSettings, ExpertAgent, expert_chunk_agent
from policy.sweep import run_sweep, wilson_interval
from policy.trainer import train
from recorder.dataset import Dataset

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("k, n, lo, hi", [
    # Wilson (1927) score intervals at 95 %, as tabulated by Newcombe (1998, Stat. Med. 17:857, table I)
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
    (0, 10, 0.0, 0.2775),
])
def test_wilson_interval_matches_the_published_values(k, n, lo, hi):
    got = wilson_interval(k, n)
    assert got == pytest.approx((lo, hi), abs=6e-5)


@pytest.mark.slow
def test_two_sources_give_one_report_whose_columns_are_their_own_sweeps(tmp_path, capsys):
    out = tmp_path / "cmp"
    argv = ["eval", "expert", "expert-chunks", "--sweep", "--episodes", "2", "--severities", "1",
            "--out", str(out), "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert [c["label"] for c in report["checkpoints"]] == ["expert", "expert-chunks"]
    on_file = json.loads((out / "compare.json").read_text())
    assert on_file["rows"] == report["rows"]
    kw = dict(severities=(1.0,), perturbations=["lighting", "object_size"])  # two cells re-run on their own
    alone = {"expert": run_sweep(ExpertAgent(), EvalSettings(episodes=2), **kw),
             "expert-chunks": run_sweep(expert_chunk_agent(), EvalSettings(episodes=2), **kw)}
    rows = {(r["perturbation"], r["severity"]): r["checkpoints"] for r in report["rows"]}
    assert len(rows) == 1 + len(perturbation_names())
    for label, sweep in alone.items():
        for cell in [sweep.baseline, *sweep.cells]:
            got = rows[(cell.perturbation, cell.severity)][label]
            assert got["success_rate"] == cell.success_rate and got["mean_score"] == cell.mean_score
            assert got["success_ci"] == list(cell.success_ci) and got["episodes"] == 2
            assert got["success_ci"][0] <= got["success_rate"] <= got["success_ci"][1]
            assert got["score_ci"][0] <= got["mean_score"] <= got["score_ci"][1]
    md = (out / "compare.md").read_text()
    assert "| perturbation | severity | expert | expert-chunks |" in md and "| baseline | 0 |" in md
    assert all(f"| {name} | 1 |" in md for name in perturbation_names())
    assert (out / "compare.png").read_bytes()[:8] == PNG and (out / "compare.png").stat().st_size > 10000


@pytest.mark.slow
@pytest.mark.usefixtures("torch_one_thread")
def test_every_checkpoint_of_a_run(tmp_path, capsys):
    data = write_dataset(tmp_path / "data", episodes=2, length=10, image_size=32)
    train(lambda: Dataset(data), tmp_path / "run", tiny_run_config())
    ckpts = sorted(p.stem for p in (tmp_path / "run" / "checkpoints").glob("*.safetensors"))
    assert len(ckpts) >= 2  # best and last
    assert main(["eval", str(tmp_path / "run"), "--checkpoints", "--sweep", "--episodes", "1", "--severities", "1",
                 "--out", str(tmp_path / "cmp"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [c["label"] for c in report["checkpoints"]] == [f"run/{c}" for c in ckpts]
    assert all(set(r["checkpoints"]) == {f"run/{c}" for c in ckpts} for r in report["rows"])
    assert (tmp_path / "cmp" / "compare.png").read_bytes()[:8] == PNG


@pytest.mark.parametrize("argv, words", [
    (["eval", "expert", "expert-chunks", "--episodes", "1"], "add --sweep"),
    (["eval", "expert", "--checkpoints", "--episodes", "1"], "add --sweep"),
    (["eval", "expert", "expert", "--sweep", "--episodes", "1"], "distinct"),
])
def test_bad_comparisons_exit_2_with_one_line(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]


def test_checkpoints_of_a_folder_that_is_no_run_is_one_line(tmp_path, capsys):
    assert main(["eval", str(tmp_path), "--checkpoints", "--sweep", "--episodes", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "checkpoints/*.safetensors" in err[0]
