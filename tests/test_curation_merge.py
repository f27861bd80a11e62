"""Merging datasets recorded with different devices into one training dataset."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

from curation.merge import merge_datasets, parse_camera_map
from curation.stats import dataset_stats
from curation.workspace import open_workspace
from tests.curation_fixtures import file_hashes, still_then_move, write_episode


def _make(root, device, cameras, n=2, size=(8, 10), task="pick_place"):
    for i in range(n):
        pose, grip = still_then_move(12, 10, 0, 10, 3, rng=np.random.default_rng(i))
        imgs = {c: np.full((len(pose), *size, 3), 40 * k + i, np.uint8) for k, c in enumerate(cameras)}
        write_episode(root, i, pose, grip, device=device, cameras=imgs, success=True, task=task)
    return root


@pytest.fixture
def sources(tmp_path):
    a = _make(tmp_path / "spacemouse", "spacemouse", ["scene", "wrist"])
    b = _make(tmp_path / "vr", "vr", ["front", "wrist"])
    return a, b


def test_different_camera_names_need_a_mapping(sources, tmp_path):
    with pytest.raises(ValueError, match="camera sets differ.*--camera-map"):
        merge_datasets(list(sources), tmp_path / "merged")
    assert not (tmp_path / "merged" / "episodes").exists()  # nothing written before the check


def test_merge_with_camera_map_carries_curation_and_leaves_sources_untouched(sources, tmp_path):
    a, b = sources
    with open_workspace(b) as ws:
        ws.catalog.add_tag("ep_000001", "recovery", 0.5, 1.5)
        ws.add_trim("ep_000001", 0.0, 1.2)
        ws.catalog.delete_episode("ep_000000")
        ws.catalog.set_outcome("ep_000001", "failure")
    before = {p: file_hashes(p) for p in sources}
    out = tmp_path / "merged"
    report = merge_datasets([a, b], out, parse_camera_map(["front=scene"]))
    assert [e["id"] for e in report.episodes] == [f"ep_{i:06d}" for i in range(4)]
    assert report.cameras == ["scene", "wrist"]
    assert {p: file_hashes(p) for p in sources} == before
    # Unchanged episodes share the immutable bytes; renamed ones are rewritten.
    assert os.path.samefile(out / "episodes" / "ep_000000.h5", a / "episodes" / "ep_000000.h5")
    with h5py.File(out / "episodes" / "ep_000003.h5", "r") as f:
        assert sorted(f["obs/images"]) == ["scene", "wrist"] and sorted(f["obs/image_time"]) == ["scene", "wrist"]
        assert int(f["obs/images/scene"][0, 0, 0, 0]) == 1  # vr ep 1's "front" frames, now "scene"
        assert "scene" in f.attrs["cameras"] and "front" not in f.attrs["cameras"]
        assert f.attrs["device"] == "vr"
    with open_workspace(out) as ws:
        c = ws.catalog
        assert c.is_deleted("ep_000002") and not c.is_deleted("ep_000003")
        rec = c.record("ep_000003")
        assert rec.outcome == "failure" and [(t.tag, t.start, t.end) for t in rec.tags] == [("recovery", 0.5, 1.5)]
        assert not c.kept_mask("ep_000003")[:12].any()
        assert c.provenance("ep_000003") == {"source": str(b), "source_episode": "ep_000001",
                                             "camera_map": {"front": "scene"}}
        assert c.history() == []  # the carried state is the merged dataset's starting point
        stats = dataset_stats(ws).summary()
    assert stats["devices"] == {"spacemouse": 2, "vr": 1} and stats["deleted"] == 1


@pytest.mark.parametrize("case, match", [
    ("size", "images of"), ("task", "different tasks"), ("unused", "no source has"), ("collide", "same name"),
])
def test_merge_errors_are_clear(tmp_path, case, match):
    a = _make(tmp_path / "a", "spacemouse", ["scene"])
    b = _make(tmp_path / "b", "vr", ["scene"], size=(16, 16) if case == "size" else (8, 10),
              task="push_t" if case == "task" else "pick_place")
    mapping = {"unused": {"nope": "scene"}, "collide": {"scene": "x", "wrist": "x"}}.get(case, {})
    if case == "collide":
        b = _make(tmp_path / "c", "vr", ["scene", "wrist"])
    with pytest.raises(ValueError, match=match):
        merge_datasets([a, b], tmp_path / "out", mapping)


def test_merge_refuses_a_non_empty_target_and_bad_mappings(sources, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        merge_datasets(list(sources), tmp_path / "full")
    with pytest.raises(ValueError, match="OLD=NEW"):
        parse_camera_map(["front"])
    with pytest.raises(ValueError, match="one of the sources"):
        merge_datasets(list(sources), sources[0])
