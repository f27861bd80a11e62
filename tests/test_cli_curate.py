"""`demostation curate` and `demostation export` end to end through the command line."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from app.cli import main
from tests.curation_fixtures import file_hashes, still_then_move, write_corrupt, write_episode


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "ds"
    for i in range(4):
        pose, grip = still_then_move(15, 12, 14, 12, 15, noise=0.003, rng=np.random.default_rng(i))
        write_episode(root, i, pose, grip, success=i != 2, device="spacemouse" if i % 2 else "vr")
    write_corrupt(root, 4)
    return root


def run_json(capsys, *argv):
    code = main([*map(str, argv), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def fail(capsys, *argv):
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, err.strip()


def test_detect_review_apply_and_undo(dataset, capsys):
    before = file_hashes(dataset)
    proposed = run_json(capsys, "curate", dataset, "--detect-pauses")
    assert proposed["episodes"] == 4 and proposed["pauses"] == 12 and not proposed["applied"]
    assert set(proposed["proposals"]) == {"ep_000000", "ep_000001", "ep_000002", "ep_000003"}
    assert [p["where"] for p in proposed["proposals"]["ep_000000"]] == ["start", "middle", "end"]
    assert any("ep_000004.h5" in p for p in proposed["problems"])  # reported, not fatal
    trims = run_json(capsys, "curate", dataset, "--trims")["trims"]
    assert {t["status"] for t in trims} == {"proposed"}
    run_json(capsys, "curate", dataset, "--reject-trim", trims[0]["id"])
    assert run_json(capsys, "curate", dataset, "--apply")["applied"] == 11
    stats = run_json(capsys, "curate", dataset, "--stats")
    assert stats["kept_samples"] < stats["samples"]
    assert run_json(capsys, "curate", dataset, "--undo")["undone"]["description"].startswith("applied trims")
    assert run_json(capsys, "curate", dataset, "--stats")["kept_samples"] == stats["samples"]
    assert file_hashes(dataset) == before


def test_min_pause_and_apply_in_one_go(dataset, capsys):
    strict = run_json(capsys, "curate", dataset, "--detect-pauses", "--min-pause", "2.0")
    assert strict["pauses"] == 0 and strict["settings"]["min_pause_s"] == 2.0
    done = run_json(capsys, "curate", dataset, "--detect-pauses", "--apply", "--episode", "ep_000001")
    assert done["applied"] and list(done["proposals"]) == ["ep_000001"]
    listing = run_json(capsys, "curate", dataset, "--list")["episodes"]
    assert [e["trims_applied"] for e in listing] == [0, 3, 0, 0]


def test_tags_outcomes_notes_deletes_and_repeated_undo(dataset, capsys):
    run_json(capsys, "curate", dataset, "--tag", "ep_000001", "recovery", "--range", "1.5:3")
    run_json(capsys, "curate", dataset, "--tag", "ep_000001", "shaky")
    run_json(capsys, "curate", dataset, "--outcome", "ep_000000", "failure")
    run_json(capsys, "curate", dataset, "--note", "ep_000003", "cube slipped twice")
    run_json(capsys, "curate", dataset, "--delete", "ep_000003")
    stats = run_json(capsys, "curate", dataset, "--stats")
    assert stats["episodes"] == 3 and stats["deleted"] == 1
    assert stats["outcomes"] == {"failure": 2, "success": 1}
    assert stats["tags"] == {"recovery": 1, "shaky": 1}
    assert stats["devices"] == {"vr": 2, "spacemouse": 1}
    ep1 = next(e for e in stats["per_episode"] if e["id"] == "ep_000001")
    assert ep1["duration_s"] == pytest.approx(6.8) and 0.3 < ep1["pause_fraction"] < 0.8
    assert ep1["path_length_m"] > 0.4 and set(ep1["action_range"]) >= {"x", "gripper"}
    run_json(capsys, "curate", dataset, "--restore", "ep_000003")
    undone = [run_json(capsys, "curate", dataset, "--undo")["undone"]["description"] for _ in range(6)]
    assert undone == ["restore ep_000003", "delete ep_000003", "note ep_000003", "outcome ep_000000 failure",
                      "tag ep_000001 shaky", "tag ep_000001 recovery 1.5:3"]
    assert run_json(capsys, "curate", dataset, "--undo")["undone"] is None
    stats = run_json(capsys, "curate", dataset, "--stats")
    assert stats["tags"] == {} and stats["outcomes"] == {"success": 3, "failure": 1}


@pytest.mark.parametrize("argv, message", [
    (["--tag", "ep_000099", "x"], "unknown episode 'ep_000099'"),
    (["--outcome", "nope", "success"], "unknown episode 'nope'"),
    (["--tag", "ep_000001", "recovery", "--range", "3:1"], "bad range 3:1"),
    (["--tag", "ep_000001", "recovery", "--range", "abc"], "bad range 'abc'"),
    (["--trim", "ep_000001", "0:500"], "ends after the episode"),
    (["--outcome", "ep_000001", "great"], "outcome must be one of"),
    (["--split", "1.5"], "validation fraction"),
    (["--detect-pauses", "--min-pause", "-1"], "min_pause_s"),
    (["--range", "1:2"], "--range goes with --tag"),
    (["--reject-trim", "77"], "unknown trim id 77"),
])
def test_bad_input_exits_2_with_one_line(dataset, capsys, argv, message):
    code, err = fail(capsys, "curate", dataset, *argv)
    assert code == 2 and message in err and len(err.splitlines()) == 1, err


def test_missing_dataset_exits_2(tmp_path, capsys):
    code, err = fail(capsys, "curate", tmp_path / "nothing", "--stats")
    assert code == 2 and "no dataset" in err


def test_split_then_export_robomimic(dataset, capsys, tmp_path):
    first = run_json(capsys, "curate", dataset, "--split", "0.25", "--seed", "3")
    again = run_json(capsys, "curate", dataset, "--split", "0.25", "--seed", "3")
    assert first["valid"] == again["valid"] and len(first["valid"]) == 1 and len(first["train"]) == 3
    run_json(capsys, "curate", dataset, "--detect-pauses", "--apply")
    out = tmp_path / "demos.h5"
    report = run_json(capsys, "export", dataset, "--format", "robomimic", "--out", out)
    assert report["demos"] == 4 and report["valid"] == 1 and report["trimmed_samples"] > 0
    with h5py.File(out, "r") as f:
        valid = [b.decode() for b in f["mask/valid"][()]]
        assert [report["episodes"][v] for v in valid] == first["valid"]
        assert sum(f[f"data/{d}"].attrs["num_samples"] for d in f["data"]) == f["data"].attrs["total"]
    code, err = fail(capsys, "export", dataset, "--out", out)
    assert code == 2 and "--force" in err


def test_merge_from_the_command_line(dataset, tmp_path, capsys):
    other = tmp_path / "other"
    pose, grip = still_then_move(5, 10, 0, 0, 5)
    write_episode(other, 0, pose, grip, device="haptic")
    merged = tmp_path / "merged"
    report = run_json(capsys, "curate", merged, "--merge", dataset, other)
    assert report["episodes"] == 5
    stats = run_json(capsys, "curate", merged, "--stats")
    assert stats["devices"] == {"vr": 2, "spacemouse": 2, "haptic": 1}


def test_tag_events_from_the_command_line(tmp_path, capsys):
    root = tmp_path / "ds"
    pose, grip = still_then_move(10, 20, 10, 20, 10)
    write_episode(root, 0, pose, grip, events=[{"kind": "recovery", "start": 2.0, "end": 3.0, "label": ""}])
    assert run_json(capsys, "curate", root, "--tag-events")["added"] == 1
    assert run_json(capsys, "curate", root, "--stats")["tags"] == {"recovery": 1}
    assert run_json(capsys, "curate", root, "--tag-events", "pause")["added"] == 0


def test_trim_events_from_the_command_line(tmp_path, capsys):
    root = tmp_path / "ds"
    pose, grip = still_then_move(10, 20, 10, 20, 10)
    write_episode(root, 0, pose, grip, events=[{"kind": "mistake", "start": 1.0, "end": 2.0, "label": ""},
                                               {"kind": "recovery", "start": 2.0, "end": 3.0, "label": ""}])
    result = run_json(capsys, "curate", root, "--trim-events", "--apply")
    assert result["found"] == 1 and result["applied"] is True and len(result["trim_ids"]) == 1
    (trim,) = run_json(capsys, "curate", root, "--trims")["trims"]
    assert (trim["start"], trim["end"], trim["status"], trim["source"]) == (1.0, 2.0, "applied", "logged-events")


@pytest.mark.parametrize("target", ["episodes/ep_000001.h5", "catalog.sqlite", "demos.h5", "."])
def test_export_never_writes_into_the_dataset_even_with_force(dataset, capsys, target):
    run_json(capsys, "curate", dataset, "--stats")  # the catalog exists
    catalog = (dataset / "catalog.sqlite").read_bytes()
    before = file_hashes(dataset)
    code, err = fail(capsys, "export", dataset, "--out", dataset / target, "--force")
    assert code == 2 and "inside the dataset" in err and len(err.splitlines()) == 1, err
    assert file_hashes(dataset) == before and (dataset / "catalog.sqlite").read_bytes() == catalog
    assert not (dataset / "demos.h5").exists()


@pytest.mark.parametrize("command", [["validate"], ["info"], ["curate", "--stats"], ["train", "--out", "RUN"],
                                     ["export", "--out", "OUT/demos.h5"]])
def test_every_reading_command_refuses_a_folder_that_is_not_a_dataset(tmp_path, capsys, command):
    """One rule: /etc-like folders are never "0 episodes, all sound" for one command and refused by another."""
    other = tmp_path / "notes"
    other.mkdir()
    (other / "readme.txt").write_text("not episodes")
    argv = [command[0], other, *[str(tmp_path / a) if a.isupper() or "/" in a else a for a in command[1:]]]
    code, err = fail(capsys, *argv)
    assert code == 2 and err == f"demostation {command[0]}: error: {other} is not a dataset: it has no episodes/ folder", err


def test_an_unreadable_episodes_folder_is_refused_not_sound(dataset, capsys):
    import os

    if os.geteuid() == 0:
        pytest.skip("root reads every folder")
    (dataset / "episodes").chmod(0)
    try:
        code, err = fail(capsys, "validate", dataset)
    finally:
        (dataset / "episodes").chmod(0o755)
    assert code == 2 and "cannot be read" in err


def test_a_reader_that_closes_the_pipe_early_gets_no_traceback(dataset):
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "app", "info", str(dataset)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # `| head -0`: gone before the command prints
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err, err


@pytest.mark.parametrize("flag,says", [(["--threads", "-1"], "threads must be"),
                                       (["--time-limit", "-1"], "time limit must be"),
                                       (["--time-limit", "nan"], "time_limit_s")])
def test_train_refuses_negative_budgets_with_one_line(dataset, capsys, tmp_path, flag, says):
    code, err = fail(capsys, "train", dataset, "--out", tmp_path / "run", *flag)
    assert code == 2 and len(err.splitlines()) == 1 and says in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", [["train", "DATA", "--out", "RUN", "--config", "FILE"],
                                     ["cameras", "--config", "FILE"]])
def test_deeply_nested_json_is_named_in_one_line(dataset, capsys, tmp_path, command):
    hostile = tmp_path / "nested.json"
    hostile.write_text("[" * 200_000 + "]" * 200_000)
    subs = {"DATA": str(dataset), "RUN": str(tmp_path / "run"), "FILE": str(hostile)}
    code, err = fail(capsys, *[subs.get(a, a) for a in command])
    assert code == 2 and len(err.splitlines()) == 1 and "nested too deeply" in err and str(hostile) in err, err


def test_one_nan_time_skips_that_episode_and_only_that_one(dataset, capsys, tmp_path):
    with h5py.File(dataset / "episodes" / "ep_000001.h5", "r+") as f:
        f["time"][-1] = np.nan
    stats = run_json(capsys, "curate", dataset, "--stats")
    assert stats["episodes"] == 3, stats  # four written, the NaN one and the corrupt one skipped
    report = run_json(capsys, "export", dataset, "--out", tmp_path / "demos.h5")
    assert report["demos"] == 3 and any("ep_000001" in p and "finite" in p for p in report["problems"]), report
