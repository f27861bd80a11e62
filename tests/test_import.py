"""`demostation import`: LeRobot v3.0 and robomimic into a Demo Station dataset that curates like a
recording, provenance kept; export after import round-trips numbers exactly, images within the codec's
error."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pyarrow.parquet as pq

from app.cli import main
from curation.export_lerobot import export_lerobot
from curation.export_robomimic import export_robomimic
from curation.workspace import open_workspace
from recorder.dataset import Dataset
from recorder.video import read_frames
from tests.lerobot_fixtures import make_dataset


def _data(folder):
    return pq.read_table(folder / "data/chunk-000/file-000.parquet").to_pydict()


def test_lerobot_import_then_export_round_trips(tmp_path, capsys):
    root = make_dataset(tmp_path / "ds")
    first = tmp_path / "first"
    with open_workspace(root) as ws:
        report = export_lerobot(ws, first)
        kept = {eid: np.flatnonzero(ws.catalog.kept_mask(eid)) for eid in report.episode_ids}
    imported = tmp_path / "imported"
    assert main(["import", str(first), "--from", "lerobot", "--out", str(imported), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["episodes"] == 3
    with open_workspace(imported) as ws:  # curates like any dataset
        assert ws.problems == [] and len(ws.live_ids()) == 3
        assert ws.catalog.record("ep_000001").outcome == "failure"  # source ep_000002
        assert [(t.tag, t.start is not None) for t in ws.catalog.tags("ep_000001")] == [("recovery", True)]
        assert [t.tag for t in ws.catalog.tags("ep_000002")] == ["smooth"]
        prov = ws.catalog.provenance("ep_000000")
        assert prov["from"] == "lerobot" and prov["episode_index"] == 0 and prov["source_episode"] == "ep_000000"
    with Dataset(imported).open("ep_000000") as ep:
        stored = ep.attrs["provenance"]
        assert (json.loads(stored) if isinstance(stored, str) else stored) == prov
        assert sorted(ep.obs_keys) == ["ee_pose", "ee_wrench", "gripper"]  # state split back by its names
    assert main(["validate", str(imported)]) == 0  # our own checker finds the files sound
    assert main(["curate", str(imported), "--detect-pauses"]) == 0
    second = tmp_path / "second"
    assert main(["export", str(imported), "--format", "lerobot", "--out", str(second)]) == 0
    a, b = _data(first), _data(second)
    for key in ("observation.state", "action", "timestamp", "frame_index", "episode_index", "index",
                "recovery", "next.done"):
        assert a[key] == b[key], key  # exact
    info_a = json.loads((first / "meta/info.json").read_text())
    info_b = json.loads((second / "meta/info.json").read_text())
    assert info_a["features"]["observation.state"]["names"] == info_b["features"]["observation.state"]["names"]
    for cam in ("scene", "wrist"):
        raw = np.concatenate([h5py.File(root / "episodes" / f"{eid}.h5", "r")[f"obs/images/{cam}"][()][kept[eid]]
                              for eid in report.episode_ids])
        got, times, _ = read_frames(second / f"videos/observation.images.{cam}/chunk-000/file-000.mp4")
        assert got.shape == raw.shape
        err = np.abs(got.astype(int) - raw).mean(axis=(1, 2, 3))
        assert err.max() < 10.0  # two generations of H.264 on a sharp 32x48 test pattern


def test_robomimic_import_keeps_numbers_and_images_exactly(tmp_path, capsys):
    root = make_dataset(tmp_path / "ds")
    h5 = tmp_path / "demos.h5"
    with open_workspace(root) as ws:
        export_robomimic(ws, h5)
    out = tmp_path / "imported"
    assert main(["import", str(h5), "--from", "robomimic", "--out", str(out)]) == 0
    assert "imported 3 episodes" in capsys.readouterr().out
    with h5py.File(h5, "r") as f, open_workspace(out) as ws:
        for i, eid in enumerate(ws.live_ids()):
            g = f[f"data/demo_{i}"]
            with ws.dataset.open(eid) as ep:
                np.testing.assert_array_equal(ep.action(), g["actions"][()])
                np.testing.assert_array_equal(ep.obs("ee_pose"), g["obs/ee_pose"][()])
                np.testing.assert_array_equal(ep.images("scene", slice(None)), g["obs/scene_image"][()])
            assert ws.catalog.provenance(eid)["demo"] == f"demo_{i}"
            assert ws.catalog.record(eid).outcome == g.attrs["outcome"]
