"""Training honours the real curation catalog: soft deletes, applied trims, tags, outcomes, split."""

import numpy as np
import pytest
import torch
from episode_files import tiny_run_config, write_dataset

from curation.workspace import open_workspace
from policy.curation_seam import curation_for
from policy.selection import EpisodeFilter, select_episodes
from policy.windows import Windows, split_episodes
from recorder.dataset import Dataset


@pytest.fixture
def curated(tmp_path):
    root = write_dataset(tmp_path, episodes=4, length=12, image_size=32)
    with open_workspace(root) as ws:
        ws.add_trim("ep_000000", 0.0, 0.3)  # drops samples 0, 1, 2 (ticks at 0.0 … 0.2)
        ws.catalog.delete_episode("ep_000001")
        ws.catalog.add_tag("ep_000002", "recovery", 0.2, 0.5)
        ws.catalog.set_outcome("ep_000003", "failure")
        ws.catalog.set_split({"ep_000000": "train", "ep_000002": "train", "ep_000003": "valid"}, seed=0,
                             val_fraction=0.3)
    return root


def test_no_catalog_means_every_sample_and_no_catalog_is_created(tmp_path):
    root = write_dataset(tmp_path, episodes=1, length=5, image_size=32)
    assert curation_for(root) is None and not (root / "catalog.sqlite").exists()


def test_catalog_decisions_reach_the_windows(curated):
    view = curation_for(curated)
    sel = select_episodes(Dataset(curated), view)
    assert [e.id for e in sel] == ["ep_000000", "ep_000002", "ep_000003"] and sel.skipped == {"ep_000001": "deleted"}
    assert sel.episodes[0].kept.tolist() == list(range(3, 12))
    train_eps, val_eps = split_episodes(sel.episodes, 0.5, seed=0)
    assert [e.id for e in val_eps] == ["ep_000003"]  # the curator's split, not the fraction
    w = Windows(lambda: Dataset(curated), sel.episodes[:1], tiny_run_config().policy)
    with Dataset(curated).open("ep_000000") as ep:
        assert torch.allclose(w[0]["lowdim"][0, :3], torch.from_numpy(np.asarray(ep.obs("ee_pose")))[3, :3])
    no_recovery = select_episodes(Dataset(curated), view, EpisodeFilter(exclude_tags=("recovery",)))
    assert "ep_000002" not in [e.id for e in no_recovery]
    successes = select_episodes(Dataset(curated), view, EpisodeFilter(outcomes=("success",)))
    assert [e.id for e in successes] == ["ep_000000", "ep_000002"]  # the curator marked ep_000003 a failure


def test_train_cli_reads_the_catalog(curated, tmp_path, capsys):
    import json

    from app.cli import main

    cfg = tiny_run_config().to_dict()
    cfg["train"].pop("device")
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    assert main(["train", str(curated), "--out", str(tmp_path / "run"), "--config", str(tmp_path / "cfg.json"),
                 "--outcome", "success", "--steps", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["episodes"] == 2 and report["val_episodes"] == 0 and report["samples"] == 9 + 12
    assert report["skipped_episodes"] == {"ep_000001": "deleted", "ep_000003": "filtered out"}
