"""The Zarr export, read the way diffusion_policy's ReplayBuffer reads a store: ``zarr.open`` the
folder, ``meta/episode_ends`` gives episode ``i`` as rows ``ends[i-1]:ends[i]`` of every ``data/<key>``
(ReplayBuffer.get_episode_slice); ``copy_from_path`` copies the whole store into memory."""

import json

import h5py
import numpy as np
import zarr

from app.cli import main
from curation.workspace import open_workspace
from tests.lerobot_fixtures import make_dataset


def test_zarr_is_format_2_replay_buffer_with_trims_applied(tmp_path, capsys):
    root = make_dataset(tmp_path / "ds")
    out = tmp_path / "replay.zarr"
    assert main(["export", str(root), "--format", "zarr", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert json.loads((out / ".zgroup").read_text())["zarr_format"] == 2
    assert json.loads((out / "data" / "action" / ".zarray").read_text())["zarr_format"] == 2
    store = zarr.MemoryStore()
    zarr.copy_store(zarr.DirectoryStore(str(out)), store)  # ReplayBuffer.copy_from_store
    group = zarr.group(store=store)
    ends = group["meta"]["episode_ends"][:]
    assert ends.dtype == np.int64 and report["episode_ids"] == ["ep_000000", "ep_000002", "ep_000003"]
    with open_workspace(root) as ws:
        kept = {eid: np.flatnonzero(ws.catalog.kept_mask(eid)) for eid in report["episode_ids"]}
    for i, eid in enumerate(report["episode_ids"]):
        start = 0 if i == 0 else int(ends[i - 1])
        rows = slice(start, int(ends[i]))
        idx = kept[eid]
        with h5py.File(root / "episodes" / f"{eid}.h5", "r") as f:
            action = np.concatenate([f["command/ee_pose"][()], f["command/gripper"][()]], 1)[idx]
            np.testing.assert_array_equal(group["data"]["action"][rows], action.astype(np.float32))
            np.testing.assert_array_equal(group["data"]["ee_pose"][rows], f["obs/ee_pose"][()][idx])
            np.testing.assert_array_equal(group["data"]["scene"][rows], f["obs/images/scene"][()][idx])
    assert group.attrs["demostation"]["actions"] == "command"
