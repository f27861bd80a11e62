"""Exporters and the trainer refuse exactly the episodes `validate` finds unusable, each named with why.

The damaged episodes are made here from sound ones (a NaN action, a missing ``obs/ee_pose``, an
image stream with fewer frames than ``time``), and the export is read back the way robomimic reads
it (``tests/test_curation_export.robomimic_read``: robomimic itself is not installed) plus h5py
structural checks.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from episode_files import tiny_run_config, write_dataset

from app.cli import main
from policy.trainer import train
from recorder.dataset import Dataset
from recorder.validate import UNUSABLE_KINDS, validate_dataset
from tests.test_curation_export import robomimic_read

DAMAGE = {1: "nan", 2: "missing", 3: "shape"}  # episode number → the kind validate reports


def _damage(root) -> None:
    eps = root / "episodes"
    with h5py.File(eps / "ep_000001.h5", "r+") as f:
        f["action/ee_pose"][5, 0] = np.nan
    with h5py.File(eps / "ep_000002.h5", "r+") as f:
        del f["obs/ee_pose"]
    with h5py.File(eps / "ep_000003.h5", "r+") as f:
        frames = f["obs/images/wrist"][:-3]
        del f["obs/images/wrist"]
        f["obs/images/wrist"] = frames


@pytest.fixture
def damaged(tmp_path):
    root = write_dataset(tmp_path / "ds", episodes=6, length=12, image_size=16)
    _damage(root)
    return root


def test_validate_rejects_each_damage_with_a_kind_consumers_refuse(damaged):
    report = validate_dataset(damaged)
    kinds = {p.episode: p.kind for p in report.problems}
    assert kinds == {f"ep_{n:06d}": kind for n, kind in DAMAGE.items()}
    assert set(DAMAGE.values()) <= UNUSABLE_KINDS


def test_export_leaves_out_each_damaged_episode_with_one_line_and_writes_sound_data(damaged, tmp_path, capsys):
    out = tmp_path / "demos.h5"
    assert main(["export", str(damaged), "--out", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    for n, kind in DAMAGE.items():
        lines = [line for line in err if f"ep_{n:06d}" in line]
        assert len(lines) == 1 and kind in lines[0], err
    obs_keys = ["ee_pose", "gripper", "ee_wrench", "scene_image", "wrist_image"]
    with h5py.File(out, "r") as f:
        assert sorted(f["data/demo_0/obs"]) == sorted(obs_keys)  # ee_pose not dropped for everyone
        eids = sorted(f[f"data/{d}"].attrs["episode_id"] for d in f["data"])
        assert eids == ["ep_000000", "ep_000004", "ep_000005"]
        for d in f["data"]:
            n = int(f[f"data/{d}"].attrs["num_samples"])
            for key in ("actions", *(f"obs/{k}" for k in obs_keys), *(f"next_obs/{k}" for k in obs_keys)):
                assert f[f"data/{d}/{key}"].shape[0] == n, (d, key)
            assert np.isfinite(f[f"data/{d}/actions"][()]).all()
    for subset in ("train", "valid"):
        demos, _, shape_meta, _ = robomimic_read(out, subset, obs_keys)
        assert shape_meta["ac_dim"] == 8
        for d in demos.values():
            assert all(np.isfinite(v).all() for v in d["obs"].values() if v.dtype.kind == "f")


def test_train_skips_each_damaged_or_unreadable_episode_with_one_line(damaged, tmp_path, torch_one_thread):
    (damaged / "episodes" / "ep_000007.h5").write_bytes(b"not hdf5 at all")
    lines: list[str] = []
    result = train(lambda: Dataset(damaged), tmp_path / "run", tiny_run_config(), notice=lines.append)
    assert result.episodes + result.val_episodes == 3
    for n, kind in DAMAGE.items():
        named = [line for line in lines if f"ep_{n:06d}" in line]
        assert len(named) == 1 and kind in named[0], lines
    assert sum("ep_000007" in line for line in lines) == 1, lines
    assert len(lines) == 4
