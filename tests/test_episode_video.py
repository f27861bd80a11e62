"""One episode as an H.264 MP4 (`curation.episode_video`) and the one list of export formats."""

from __future__ import annotations

import av
import numpy as np
import pytest

from curation.episode_video import export_episode_video
from curation.export_formats import EXPORT_FORMATS, export_format
from curation.workspace import open_workspace
from recorder.jobs import Cancelled
from recorder.video import read_frames
from tests.episode_files import write_dataset


@pytest.fixture
def dataset(tmp_path):
    return write_dataset(tmp_path / "ds", episodes=2, length=30, image_size=32)


def test_the_cameras_play_side_by_side_in_h264_with_trims_applied(dataset, tmp_path):
    out = tmp_path / "ep0.mp4"
    with open_workspace(dataset) as ws:
        ws.add_trim("ep_000000", 1.0, 1.5)  # samples 10..14
        report = export_episode_video(ws, "ep_000000", out)
        with ws.dataset.open("ep_000000") as ep:
            kept = np.r_[0:10, 15:30]
            expected = np.concatenate([ep.images("scene", kept), ep.images("wrist", kept)], axis=2)
    assert report.frames == 25 and report.trimmed_frames == 5 and report.cameras == ["scene", "wrist"]
    frames, times, spec = read_frames(out)
    assert spec.codec == "h264" and spec.pix_fmt == "yuv420p" and (spec.width, spec.height) == (64, 32)
    assert frames.shape == expected.shape and np.allclose(times, np.arange(25) / 10.0)
    assert np.abs(frames.astype(int) - expected).mean() < 6  # lossy, but the same pictures
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == "h264"


def test_one_camera_odd_sizes_and_refusals(dataset, tmp_path):
    with open_workspace(dataset) as ws:
        r = export_episode_video(ws, "ep_000001", tmp_path / "wrist.mp4", cameras=["wrist"])
        assert (r.width, r.height, r.cameras) == (32, 32, ["wrist"])
        with pytest.raises(ValueError, match="inside the dataset"):
            export_episode_video(ws, "ep_000001", dataset / "v.mp4")
        with pytest.raises(ValueError, match="exists"):
            export_episode_video(ws, "ep_000001", tmp_path / "wrist.mp4")
        with pytest.raises(ValueError, match="no camera 'top'"):
            export_episode_video(ws, "ep_000001", tmp_path / "top.mp4", cameras=["top"])
        with pytest.raises(ValueError, match=r"\.mp4"):
            export_episode_video(ws, "ep_000001", tmp_path / "v.avi")
        before = (tmp_path / "wrist.mp4").read_bytes()
        with pytest.raises(Cancelled):
            export_episode_video(ws, "ep_000001", tmp_path / "wrist.mp4", overwrite=True, should_stop=lambda: True)
    assert (tmp_path / "wrist.mp4").read_bytes() == before  # a cancelled replace keeps the old video
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "wrist.mp4"]  # no temporary file left


def test_the_command_line_offers_exactly_the_registered_formats():
    from app.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["export"]
    fmt = next(a for a in sub._actions if a.dest == "format")
    assert sorted(fmt.choices) == sorted(EXPORT_FORMATS) and {"lerobot", "zarr", "robomimic"} <= set(fmt.choices)
    with pytest.raises(ValueError, match="unknown export format 'csv'"):
        export_format("csv")


def test_cameras_of_different_heights_are_padded_with_black_below():
    from curation.episode_video import tile

    tall = np.full((4, 6, 3), 100, np.uint8)
    short = np.full((2, 4, 3), 200, np.uint8)
    out = tile([tall, short], 4)
    assert out.shape == (4, 10, 3)
    assert (out[:, :6] == 100).all() and (out[:2, 6:] == 200).all() and (out[2:, 6:] == 0).all()
