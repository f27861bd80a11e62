"""The shared MP4 writer: H.264 yuv420p through PyAV, read back by FFmpeg's own decoder."""

import av
import numpy as np
import pytest

from recorder.video import Mp4Writer, available_codec, pad_even, read_frames


def test_h264_is_the_codec_here_and_frames_land_on_the_fps_grid(tmp_path):
    assert available_codec() in ("libx264", "libopenh264", "h264")  # AV1 only where no H.264 encoder exists
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (1, 1, 3))
    frames = [np.clip(base + np.linspace(0, 60, 64)[None, :, None] + 3 * i, 0, 255).astype(np.uint8)
              .repeat(48, 0) for i in range(25)]
    path = tmp_path / "v.mp4"
    with Mp4Writer(path, 64, 48, 10.0) as w:
        for f in frames:
            w.write(f)
    got, times, spec = read_frames(path)
    assert spec.codec == "h264" and spec.pix_fmt == "yuv420p" and (spec.width, spec.height) == (64, 48)
    assert len(got) == 25 and np.allclose(times, np.arange(25) / 10.0)
    assert np.abs(got.astype(int) - np.stack(frames)).mean() < 3  # lossy, but close on smooth images
    with av.open(str(path)) as c:
        assert c.streams.video[0].average_rate == 10


def test_odd_size_refused_and_error_inside_with_leaves_no_file(tmp_path):
    with pytest.raises(ValueError, match="even"):
        Mp4Writer(tmp_path / "odd.mp4", 63, 48, 10.0)
    path = tmp_path / "v.mp4"
    with pytest.raises(ValueError, match="uint8"), Mp4Writer(path, 64, 48, 10.0) as w:
        w.write(np.zeros((48, 64, 3), np.float32))
    assert not path.exists()
    assert pad_even(np.zeros((5, 7, 3), np.uint8)).shape == (6, 8, 3)
