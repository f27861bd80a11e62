"""The one camera-layout check where datasets meet (merge) and where a policy meets a station;
an episode's `tags` attribute reaches curation's catalog (and survives a merge once)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from curation.merge import merge_datasets
from curation.workspace import open_workspace
from devices.camera import CameraInfo
from devices.cameras.layout import CameraLayout, CameraLayoutMismatch, check_policy_cameras
from tests.curation_fixtures import still_then_move, write_episode


def cam(name, w=96, h=96, mount="scene", **kw):
    return CameraInfo(name=name, width=w, height=h, mount=mount, **kw)


def test_a_policy_runs_only_with_the_cameras_it_was_trained_with():
    policy = CameraLayout((cam("scene", serial="A1"), cam("wrist", mount="wrist")))
    station = CameraLayout((cam("scene", serial="B2"), cam("wrist", mount="wrist"), cam("top")))
    warnings = check_policy_cameras(policy, station)  # an extra station camera is fine; another unit warns
    assert len(warnings) == 1 and "serial" in warnings[0]
    bad = [CameraLayout((cam("scene"),)),  # the wrist camera is missing
           CameraLayout((cam("scene", 128, 128), cam("wrist", mount="wrist"))),  # another image size
           CameraLayout((cam("scene", mount="wrist"), cam("wrist", mount="wrist")))]  # another viewpoint
    needles = ["'wrist' is missing", "size 128x128, expected 96x96", "mount 'wrist', expected 'scene'"]
    for layout, needle in zip(bad, needles, strict=True):
        with pytest.raises(CameraLayoutMismatch, match=needle) as err:
            check_policy_cameras(policy, layout)
        assert isinstance(err.value, ValueError) and "\n" not in str(err.value)


def _dataset(root, cameras: dict[str, tuple[int, int, str]], n=2, tags=None):
    for i in range(n):
        pose, grip = still_then_move(6, 6, 0, 6, 2, rng=np.random.default_rng(i))
        imgs = {c: np.full((len(pose), h, w, 3), 10 * i, np.uint8) for c, (w, h, _) in cameras.items()}
        path = write_episode(root, i, pose, grip, cameras=imgs, success=True)
        with h5py.File(path, "r+") as f:
            f.attrs["cameras"] = json.dumps([{"name": c, "width": w, "height": h, "mount": m}
                                             for c, (w, h, m) in cameras.items()])
            if tags is not None:
                f.attrs["tags"] = json.dumps(tags)
    return root


def test_merge_uses_the_shared_layout_check(tmp_path):
    a = _dataset(tmp_path / "a", {"scene": (10, 8, "scene"), "wrist": (10, 8, "wrist")})
    swapped = _dataset(tmp_path / "b", {"scene": (10, 8, "wrist"), "wrist": (10, 8, "wrist")})
    with pytest.raises(ValueError, match="camera layouts differ.*mount 'wrist', expected 'scene'"):
        merge_datasets([a, swapped], tmp_path / "m1")
    bigger = _dataset(tmp_path / "c", {"scene": (12, 8, "scene"), "wrist": (10, 8, "wrist")})
    with pytest.raises(ValueError, match=r"images of \(8, 10, 3\) in .* but \(8, 12, 3\) .*record at one image size"):
        merge_datasets([a, bigger], tmp_path / "m2")
    assert not (tmp_path / "m1" / "episodes").exists() and not (tmp_path / "m2" / "episodes").exists()
    same = _dataset(tmp_path / "d", {"scene": (10, 8, "scene"), "wrist": (10, 8, "wrist")})
    assert len(merge_datasets([a, same], tmp_path / "m3").episodes) == 4


def test_episode_tags_reach_the_catalog_once_and_carry_through_a_merge(tmp_path):
    tagged = _dataset(tmp_path / "t", {}, tags=["recovery"])
    plain = _dataset(tmp_path / "p", {})
    with open_workspace(tagged) as ws:
        assert [(t.tag, t.start, t.end) for t in ws.catalog.tags("ep_000000")] == [("recovery", None, None)]
        ws.catalog.remove_tag("ep_000001", "recovery")  # a curator disagrees with the file
    with open_workspace(tagged) as ws:  # seen before: the file's tag is not imported again
        assert len(ws.catalog.tags("ep_000000")) == 1 and ws.catalog.tags("ep_000001") == []
    out = tmp_path / "merged"
    merge_datasets([tagged, plain], out)
    with open_workspace(out) as ws:
        tags = {eid: [t.tag for t in ws.catalog.tags(eid)] for eid in ws.readable}
    # The source catalog's curation wins: once where it was kept, not at all where it was removed.
    assert tags == {"ep_000000": ["recovery"], "ep_000001": [], "ep_000002": [], "ep_000003": []}
