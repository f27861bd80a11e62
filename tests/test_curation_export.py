"""Export to robomimic's layout (read back the way robomimic reads it), and the stored split."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from curation.export_robomimic import export_robomimic
from curation.split import make_split, split_dataset
from curation.workspace import open_workspace
from recorder.jobs import Cancelled
from tests.curation_fixtures import still_then_move, write_corrupt, write_episode


def _images(n: int, seed: int) -> np.ndarray:
    """Frames whose first pixel encodes their index, so any shuffle or off-by-one shows."""
    img = np.random.default_rng(seed).integers(0, 255, (n, 8, 10, 3), dtype=np.uint8)
    img[:, 0, 0, 0] = np.arange(n) % 256
    return img


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "ds"
    for i in range(5):
        pose, grip = still_then_move(12, 10, 12 + i, 10, 12, noise=0.002, rng=np.random.default_rng(i))
        write_episode(root, i, pose, grip, success=i != 3, cameras={"scene": _images(len(pose), i),
                                                                   "wrist": _images(len(pose), 10 + i)})
    return root


def robomimic_read(path, filter_key, obs_keys, dataset_keys=("actions", "rewards", "dones"), load_next_obs=True):
    """What robomimic does with the file: SequenceDataset.load_demo_info + load_dataset_in_memory,
    FileUtils.get_env_metadata_from_dataset and get_shape_metadata_from_dataset, step by step."""
    with h5py.File(path, "r") as f:
        demos = [elem.decode("utf-8") for elem in np.array(f[f"mask/{filter_key}"][:])]
        demos = [demos[i] for i in np.argsort([int(elem[5:]) for elem in demos])]
        out = {}
        for ep in demos:
            d = {"num_samples": f[f"data/{ep}"].attrs["num_samples"],
                 "obs": {k: f[f"data/{ep}/obs/{k}"][()] for k in obs_keys}}
            if load_next_obs:
                d["next_obs"] = {k: f[f"data/{ep}/next_obs/{k}"][()] for k in obs_keys}
            for k in dataset_keys:
                d[k] = f[f"data/{ep}/{k}"][()].astype("float32")
            out[ep] = d
        env_meta = json.loads(f["data"].attrs["env_args"])
        first = list(f["data"].keys())[0]
        shape_meta = {"ac_dim": f[f"data/{first}/actions"].shape[1],
                      "all_shapes": {k: f[f"data/{first}/obs/{k}"].shape[1:] for k in sorted(f[f"data/{first}/obs"])}}
        total = int(f["data"].attrs["total"])
    return out, env_meta, shape_meta, total


def test_export_writes_robomimic_layout_with_trims_applied_and_deleted_left_out(dataset, tmp_path):
    out = tmp_path / "demos.h5"
    with open_workspace(dataset) as ws:
        trim = ws.add_trim("ep_000001", 0.0, 1.2)  # the idle start: samples 0..11
        ws.catalog.delete_episode("ep_000002")
        split_dataset(ws, 0.25, seed=4)
        split = ws.catalog.split()
        report = export_robomimic(ws, out)
    assert trim
    assert report.demos == 4 and report.episodes == {"demo_0": "ep_000000", "demo_1": "ep_000001",
                                                      "demo_2": "ep_000003", "demo_3": "ep_000004"}
    obs_keys = ["ee_pose", "gripper", "ee_wrench", "scene_image", "wrist_image"]
    train, env_meta, shape_meta, total = robomimic_read(out, "train", obs_keys)
    valid, *_ = robomimic_read(out, "valid", obs_keys)
    assert set(train) | set(valid) == {"demo_0", "demo_1", "demo_2", "demo_3"} and not set(train) & set(valid)
    assert sorted(report.episodes[d] for d in valid) == split.ids("valid")
    assert env_meta["env_name"] == "demostation/pick_place" and env_meta["type"] == 2
    assert env_meta["env_kwargs"]["cameras"] == ["scene", "wrist"]
    assert shape_meta["ac_dim"] == 8 and shape_meta["all_shapes"]["scene_image"] == (8, 10, 3)
    demos = {**train, **valid}
    assert total == sum(d["num_samples"] for d in demos.values())
    with h5py.File(dataset / "episodes" / "ep_000001.h5", "r") as raw:
        raw_actions = np.concatenate([raw["action/ee_pose"][()], raw["action/gripper"][()]], axis=1)
        raw_scene = raw["obs/images/scene"][()]
        raw_pose = raw["obs/ee_pose"][()]
    d1 = demos["demo_1"]
    assert d1["num_samples"] == len(raw_actions) - 12
    np.testing.assert_array_equal(d1["actions"], raw_actions[12:])
    np.testing.assert_array_equal(d1["obs"]["scene_image"], raw_scene[12:])
    np.testing.assert_array_equal(d1["next_obs"]["scene_image"][:-1], raw_scene[13:])
    np.testing.assert_array_equal(d1["next_obs"]["ee_pose"][-1], raw_pose[-1])
    assert d1["dones"][-1] == 1 and d1["dones"][:-1].sum() == 0
    assert d1["rewards"][-1] == 1.0 and demos["demo_2"]["rewards"].sum() == 0.0  # ep_000003 failed
    with h5py.File(out, "r") as f:
        np.testing.assert_array_equal(f["data/demo_1/source_index"][()], np.arange(12, len(raw_actions)))
        assert f["data/demo_2"].attrs["episode_id"] == "ep_000003"
        assert f["mask/train"].dtype.kind == "S"


def test_export_refuses_to_overwrite_and_leaves_nothing_when_cancelled(dataset, tmp_path):
    out = tmp_path / "demos.h5"
    out.write_bytes(b"keep me")
    with open_workspace(dataset) as ws:
        with pytest.raises(ValueError, match="exists"):
            export_robomimic(ws, out)
        calls = []
        with pytest.raises(Cancelled):
            export_robomimic(ws, out, overwrite=True, should_stop=lambda: len(calls) > 2,
                             progress=lambda done, total, msg="": calls.append(done))
    assert out.read_bytes() == b"keep me"
    assert not (tmp_path / "demos.h5.tmp").exists()


def test_export_without_stored_split_uses_the_default_and_skips_bad_files(dataset, tmp_path):
    write_corrupt(dataset, 9)
    with open_workspace(dataset) as ws:
        report = export_robomimic(ws, tmp_path / "d.h5", next_obs=False)
    assert report.demos == 5 and len(report.valid) == 1 and report.split_source.startswith("default")
    assert any("ep_000009" in p for p in report.problems)
    with h5py.File(tmp_path / "d.h5", "r") as f:
        assert "next_obs" not in f["data/demo_0"]


def test_export_with_mismatched_cameras_is_a_clear_error(dataset, tmp_path):
    pose, grip = still_then_move(5, 10, 0, 0, 5)
    write_episode(dataset, 5, pose, grip, cameras={"front": _images(len(pose), 0)})
    with open_workspace(dataset) as ws, pytest.raises(ValueError, match="different cameras"):
        export_robomimic(ws, tmp_path / "x.h5")


def test_actions_are_the_sources_requests_when_every_episode_stores_them(tmp_path):
    root = tmp_path / "ds"
    requests = {}
    for i in range(2):
        pose, grip = still_then_move(5, 10, 5, 10, 5)
        requests[i] = np.concatenate([pose, grip.reshape(-1, 1)], 1) + np.float32(0.01)  # differs from applied
        write_episode(root, i, pose, grip, command=requests[i])
    with open_workspace(root) as ws:
        report = export_robomimic(ws, tmp_path / "c.h5")
    assert report.actions == "command"
    with h5py.File(tmp_path / "c.h5", "r") as f:
        assert f["data"].attrs["actions"] == "command"
        episode = {f[f"data/{d}"].attrs["episode_id"]: d for d in f["data"]}
        np.testing.assert_allclose(f[f"data/{episode['ep_000001']}/actions"][()], requests[1], atol=1e-6)
    pose, grip = still_then_move(5, 10, 5, 10, 5)
    write_episode(root, 2, pose, grip)  # an older recording: no requests stored, so none are used
    with open_workspace(root) as ws:
        report = export_robomimic(ws, tmp_path / "a.h5")
    assert report.actions == "applied"
    with h5py.File(tmp_path / "a.h5", "r") as f:
        episode = {f[f"data/{d}"].attrs["episode_id"]: d for d in f["data"]}
        np.testing.assert_allclose(f[f"data/{episode['ep_000001']}/actions"][:, :7], still_then_move(5, 10, 5, 10, 5)[0],
                                   atol=1e-6)


def test_split_is_seeded_deterministic_and_by_episode():
    ids = [f"ep_{i:06d}" for i in range(20)]
    a = make_split(ids, 0.2, seed=7)
    assert a == make_split(list(reversed(ids)), 0.2, seed=7)
    assert sum(s == "valid" for s in a.values()) == 4
    assert a != make_split(ids, 0.2, seed=8)
    assert sum(s == "valid" for s in make_split(ids[:3], 0.05, 0).values()) == 1  # at least one
    assert set(make_split(ids[:1], 0.5, 0).values()) == {"train"}  # never all of them
    with pytest.raises(ValueError, match="fraction"):
        make_split(ids, 1.0, 0)


def test_split_is_stored_undoable_and_leaves_deleted_out(dataset):
    with open_workspace(dataset) as ws:
        ws.catalog.delete_episode("ep_000004")
        assignment = split_dataset(ws, 0.5, seed=1)
        assert sorted(assignment) == ["ep_000000", "ep_000001", "ep_000002", "ep_000003"]
        stored = ws.catalog.split()
        assert stored.assignment == assignment and stored.seed == 1 and stored.val_fraction == 0.5
        split_dataset(ws, 0.25, seed=2)
        ws.catalog.undo()
        assert ws.catalog.split().assignment == assignment
        ws.catalog.undo()
        assert ws.catalog.split() is None
