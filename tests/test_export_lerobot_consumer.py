"""The real consumer: LeRobot 0.4.4's own LeRobotDataset (in its own virtual environment, pyav video
backend) loads our export, and every frame's numbers and every video frame at its timestamp match
the curated source episodes."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from curation.export_lerobot import export_lerobot
from curation.workspace import open_workspace
from tests.lerobot_fixtures import lerobot_python, make_dataset, read_with_lerobot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def lerobot_env():
    return lerobot_python()


def test_lerobot_loads_every_frame_as_recorded(tmp_path, lerobot_env):
    root = make_dataset(tmp_path / "ds")
    out = tmp_path / "lerobot"
    with open_workspace(root) as ws:
        report = export_lerobot(ws, out)
        kept = {eid: np.flatnonzero(ws.catalog.kept_mask(eid)) for eid in report.episode_ids}
    assert "ep_000001" not in report.episode_ids and report.episodes == 3  # deleted: left out
    got, meta = read_with_lerobot(lerobot_env, out, tmp_path / "read.npz")
    assert meta["fps"] == 10 and meta["num_episodes"] == 3 and meta["num_frames"] == report.frames
    assert meta["camera_keys"] == ["observation.images.scene", "observation.images.wrist"]
    assert meta["names"]["observation.state"][3:7] == ["ee_pose.qw", "ee_pose.qx", "ee_pose.qy", "ee_pose.qz"]
    assert meta["names"]["action"] == ["x", "y", "z", "qw", "qx", "qy", "qz", "gripper"]
    assert set(meta["stats_keys"]) >= {"observation.state", "action", "observation.images.scene"}
    start = 0
    for e, eid in enumerate(report.episode_ids):
        idx = kept[eid]
        n = len(idx)
        rows = slice(start, start + n)
        with h5py.File(root / "episodes" / f"{eid}.h5", "r") as f:  # the raw file, read independently
            assert f["time"][idx[0]] == pytest.approx(0.5)  # the trimmed start is gone
            state = np.concatenate([f["obs/ee_pose"][()], f["obs/gripper"][()], f["obs/ee_wrench"][()]], 1)[idx]
            action = np.concatenate([f["command/ee_pose"][()], f["command/gripper"][()]], 1)[idx]
            images = {c: f[f"obs/images/{c}"][()][idx] for c in ("scene", "wrist")}
            times = f["time"][()][idx]
        np.testing.assert_array_equal(got["observation.state"][rows], state.astype(np.float32))
        np.testing.assert_array_equal(got["action"][rows], action.astype(np.float32))  # the requests, as trained
        np.testing.assert_array_equal(got["episode_index"][rows], e)
        np.testing.assert_array_equal(got["frame_index"][rows], np.arange(n))
        np.testing.assert_array_equal(got["index"][rows], np.arange(start, start + n))
        np.testing.assert_allclose(got["timestamp"][rows], np.arange(n) / 10.0, atol=1e-6)  # on the fps grid
        assert got["next.done"][rows].tolist() == [False] * (n - 1) + [True]
        assert got["next.reward"][rows][-1] == (0.0 if eid == "ep_000002" else 1.0)
        recovery = (times >= 1.0) & (times < 2.0) if eid == "ep_000002" else np.zeros(n, bool)
        np.testing.assert_array_equal(got["recovery"][rows], recovery)
        for cam, raw in images.items():
            dec = got[f"observation.images.{cam}"][rows].astype(int)
            err = np.abs(dec - raw).mean(axis=(1, 2, 3))
            # each frame the right one, within the codec's error (yuv420p halves the chroma of the sharp square)
            assert err.max() < 8.0, (eid, cam, err.max())
            if n > 1:  # and not a neighbour: those differ by a moved square
                assert (np.abs(dec[1:] - raw[:-1]).mean(axis=(1, 2, 3)) > 2 * err[1:]).all()
        ep_meta = meta["episodes"][e]
        assert ep_meta["length"] == n and ep_meta["dataset_from_index"] == start
        assert ep_meta["source_episode"] == eid and ep_meta["outcome"] == ("failure" if eid == "ep_000002"
                                                                           else "success")
        start += n
    assert meta["episodes"][report.episode_ids.index("ep_000003")]["tags"] == ["smooth"]
    assert set(meta["tasks"]) == {"pick_place"} and meta["total_tasks"] == 1


def test_import_reads_a_dataset_lerobot_itself_wrote(tmp_path, lerobot_env, capsys):
    """The producer side: LeRobot's own create/add_frame/save_episode (its AV1 encoder) writes the
    dataset, `demostation import` reads it."""
    import json
    import os
    import subprocess

    from app.cli import main
    from tests.lerobot_fixtures import ROOT
    from tests.lerobot_writer import LENGTHS, frame_image

    src = tmp_path / "foreign"
    r = subprocess.run([str(lerobot_env), str(ROOT / "tests" / "lerobot_writer.py"), str(src)], capture_output=True,
                       text=True, timeout=600, env={**os.environ, "PYTHONPATH": "", "HF_HUB_OFFLINE": "1",
                                                    "HF_HOME": str(tmp_path / "hf")})
    assert r.returncode == 0, r.stderr[-3000:]
    expected = json.loads((tmp_path / "foreign.expected.json").read_text())
    out = tmp_path / "imported"
    assert main(["import", str(src), "--from", "lerobot", "--out", str(out)]) == 0
    assert "imported 3 episodes" in capsys.readouterr().out
    with open_workspace(out) as ws:
        ids = ws.live_ids()
        assert len(ids) == len(LENGTHS)
        for e, eid in enumerate(ids):
            with ws.dataset.open(eid) as ep:
                assert len(ep.time) == LENGTHS[e] and ep.task == expected[e]["task"]
                np.testing.assert_allclose(ep.time, np.arange(LENGTHS[e]) / 10.0, atol=1e-6)
                np.testing.assert_array_equal(ep.action(), np.asarray(expected[e]["action"], np.float32))
                state = np.asarray(expected[e]["state"], np.float32)
                np.testing.assert_array_equal(ep.obs("ee_pose"), state[:, :7])
                np.testing.assert_array_equal(ep.obs("gripper"), state[:, 7:])
                images = ep.images("front", slice(None)).astype(int)
            want = np.stack([frame_image(e, k) for k in range(LENGTHS[e])]).astype(int)
            err = np.abs(images - want).mean(axis=(1, 2, 3))
            assert err.max() < 8.0, err  # LeRobot's AV1 at crf 30
            assert (np.abs(images[1:] - want[:-1]).mean(axis=(1, 2, 3)) > 2 * err[1:]).all()  # not a neighbour
            assert ws.catalog.provenance(eid)["episode_index"] == e
