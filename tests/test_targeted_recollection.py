"""Targeted re-collection: `record --from-sweep` records under a sweep's (worst) cell and tags the episodes."""

import json

import pytest

from app.cli import main
from policy.sweep import SweepCell, SweepReport, write_sweep
from policy.sweep_cells import load_sweep, pick_cell
from recorder.dataset import Dataset


def _cell(name, severity, rate):
    return SweepCell(perturbation=name, severity=severity, episodes=10, success_rate=rate, mean_score=rate)


@pytest.fixture
def sweep_dir(tmp_path):
    report = SweepReport(task="pick_place", policy="policy:run", seed=0, episodes_per_cell=10,
                         severities=[0.5, 1.0], latency="0", seconds=1.0, baseline=_cell("none", 0.0, 1.0),
                         cells=[_cell("object_color", 0.5, 0.0), _cell("object_color", 1.0, 0.0),
                                _cell("table_color", 0.5, 0.5), _cell("table_color", 1.0, 0.2),
                                _cell("lighting", 0.5, 1.0), _cell("lighting", 1.0, 1.0)])
    write_sweep(report, tmp_path / "sweep")
    return tmp_path / "sweep"


def test_pick_the_worst_or_a_named_cell(sweep_dir):
    cells = load_sweep(sweep_dir)
    worst = pick_cell(cells)
    assert (worst.perturbation, worst.severity, worst.tag) == ("object_color", 0.5, "sweep:object_color@0.5")
    assert pick_cell(cells, "table_color:0.5").success_rate == 0.5
    with pytest.raises(ValueError, match="no such cell"):
        pick_cell(cells, "camera_shift:1")
    with pytest.raises(ValueError, match="NAME:SEVERITY"):
        pick_cell(cells, "table_color")


def test_record_from_a_sweep_cell_perturbs_and_tags_every_episode(sweep_dir, tmp_path, capsys):
    out = tmp_path / "more"
    assert main(["record", "--out", str(out), "--episodes", "2", "--cameras", "scene", "--image-size", "32",
                 "--tail", "0.2", "--from-sweep", str(sweep_dir / "sweep.json"), "--json"]) == 0
    ds = Dataset(out)
    for eid in ds.episode_ids():
        with ds.open(eid) as ep:
            assert ep.attrs["scene"]["perturbations"] == {"object_color": 0.5}
            assert ep.attrs["tags"] == ["sweep:object_color@0.5"]
    capsys.readouterr()
    assert main(["curate", str(out), "--list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["episodes"]
    assert all([t["tag"] for t in e["tags"]] == ["sweep:object_color@0.5"] for e in listed) and len(listed) == 2


@pytest.mark.parametrize("extra, needle", [
    (["--cell", "camera_shift:0.5"], "no such cell"), (["--perturb", "object_color:0.2"], "same perturbation"),
])
def test_bad_cells_exit_2_in_one_line(sweep_dir, tmp_path, capsys, extra, needle):
    assert main(["record", "--out", str(tmp_path / "x"), "--from-sweep", str(sweep_dir), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err


def test_cell_without_a_sweep_and_a_missing_report_exit_2(tmp_path, capsys):
    assert main(["record", "--out", str(tmp_path / "x"), "--cell", "object_color:0.5"]) == 2
    assert "--from-sweep" in capsys.readouterr().err
    assert main(["record", "--out", str(tmp_path / "x"), "--from-sweep", str(tmp_path / "nope")]) == 2
    assert "no sweep report" in capsys.readouterr().err
