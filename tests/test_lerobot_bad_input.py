"""Bad LeRobot input and bad export requests: one line on stderr, exit status 2, nothing half-written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from curation.export_lerobot import export_lerobot
from curation.workspace import open_workspace
from recorder.jobs import Cancelled
from recorder.video import Mp4Writer, read_frames
from tests.curation_fixtures import still_then_move, write_episode
from tests.lerobot_fixtures import make_dataset


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = tmp_path_factory.mktemp("lerobot")
    with open_workspace(make_dataset(base / "ds", episodes=3)) as ws:
        export_lerobot(ws, base / "export")
    return base / "export"


def _copy(exported, tmp_path):
    import shutil

    dst = tmp_path / "src"
    shutil.copytree(exported, dst)
    return dst


def _edit_info(src, change):
    path = src / "meta/info.json"
    info = json.loads(path.read_text())
    change(info)
    path.write_text(json.dumps(info))


def _scene(src):
    return src / "videos/observation.images.scene/chunk-000/file-000.mp4"


def _shorten(src):
    frames, _, spec = read_frames(_scene(src))
    with Mp4Writer(_scene(src), spec.width, spec.height, 10) as w:
        for f in frames[:-4]:
            w.write(f)


def _other_fps(src):
    frames, _, spec = read_frames(_scene(src))
    with Mp4Writer(_scene(src), spec.width, spec.height, 15) as w:
        for f in frames:
            w.write(f)


CASES = {
    "other version": (lambda s: _edit_info(s, lambda i: i.update(codebase_version="v2.1")), "'v2.1'"),
    "unknown feature type": (lambda s: _edit_info(s, lambda i: i["features"].update(
        {"observation.quat": {"dtype": "quaternion", "shape": [4], "names": None}})), "unknown type 'quaternion'"),
    "missing video": (lambda s: _scene(s).unlink(), "missing"),
    "short video": (_shorten, "short or truncated video"),
    "mismatched fps": (_other_fps, "runs at 15 fps, the dataset at 10"),
    "no info": (lambda s: (s / "meta/info.json").unlink(), "not a LeRobot v3.0 dataset"),
    "not json": (lambda s: (s / "meta/info.json").write_text("{nope"), "not readable JSON"),
    "wrong action width": (lambda s: _edit_info(s, lambda i: i["features"]["action"].update(shape=[6])),
                           "action is [6]"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_lerobot_source_is_one_line_and_leaves_nothing(case, exported, tmp_path, capsys):
    src = _copy(exported, tmp_path)
    spoil, words = CASES[case]
    spoil(src)
    out = tmp_path / "imported"
    assert main(["import", str(src), "--from", "lerobot", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]  # no dataset, no temporary folder


def test_export_refusals_are_one_line(tmp_path, capsys):
    root = make_dataset(tmp_path / "ds", episodes=3)
    for argv, words in (
        (["--out", str(root / "inside")], "inside the dataset"),
        (["--out", str(tmp_path / "nofolder" / "x")], "does not exist"),
    ):
        assert main(["export", str(root), "--format", "lerobot", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0], err
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    assert main(["export", str(root), "--format", "lerobot", "--out", str(tmp_path / "taken")]) == 2
    assert "exists" in capsys.readouterr().err and (tmp_path / "taken" / "keep.txt").read_text() == "mine"
    pose, grip = still_then_move(3, 8, 3, 8, 3)
    write_episode(root, 7, pose, grip, rate_hz=15.0, cameras={"scene": np.zeros((len(pose), 32, 48, 3), np.uint8),
                                                               "wrist": np.zeros((len(pose), 32, 48, 3), np.uint8)})
    assert main(["export", str(root), "--format", "lerobot", "--out", str(tmp_path / "mixed")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "different rates" in err[0]


def test_cancelled_export_leaves_the_old_export_and_no_temporary_folder(tmp_path):
    root = make_dataset(tmp_path / "ds", episodes=3)
    out = tmp_path / "out"
    with open_workspace(root) as ws:
        export_lerobot(ws, out)
        before = sorted(p.relative_to(out) for p in out.rglob("*"))
        calls = iter(range(1000))
        with pytest.raises(Cancelled):
            export_lerobot(ws, out, overwrite=True, should_stop=lambda: next(calls) > 3)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "out"]


def test_bad_robomimic_source_is_one_line(tmp_path, capsys):
    import h5py

    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not hdf5 at all" * 10)
    nodata = tmp_path / "nodata.h5"
    with h5py.File(nodata, "w") as f:
        f["x"] = 1
    wide = tmp_path / "wide.h5"
    with h5py.File(wide, "w") as f:
        f["data/demo_0/actions"] = np.zeros((5, 7), np.float32)
        f["data/demo_0/obs/ee_pose"] = np.zeros((5, 7), np.float32)
    for src, words in ((garbage, "not an HDF5 file"), (nodata, "no data group"), (wide, "actions is (5, 7)"),
                       (tmp_path / "absent.h5", "is not a file")):
        out = tmp_path / "imported"
        assert main(["import", str(src), "--from", "robomimic", "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0], err
        assert not out.exists() and not list(tmp_path.glob(".imported*"))
