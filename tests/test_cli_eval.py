import json
import subprocess
import sys

import pytest

from app.cli import main


def test_eval_expert_prints_one_json_object(capsys):
    assert main(["eval", "expert", "--task", "pick_place", "--episodes", "2", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    report = json.loads(out[0])
    for key in ("success_rate", "mean_score", "episodes", "seconds"):
        assert key in report
    assert report["episodes"] == 2 and report["success_rate"] == 1.0


@pytest.mark.parametrize("argv", [
    ["eval", "expert", "--task", "nope", "--episodes", "1"],
    ["eval", "expert", "--perturb", "lighting:3", "--episodes", "1"],
    ["eval", "expert", "--perturb", "nope:0.5", "--episodes", "1"],
    ["eval", "expert", "--perturb", "lighting", "--episodes", "1"],
    ["eval", "expert", "--episodes", "0"],
])
def test_bad_input_exits_2_with_one_line(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]


def test_video_writes_an_mp4_per_camera_and_episode(tmp_path, capsys):
    assert main(["eval", "expert", "--episodes", "1", "--video", str(tmp_path), "--json"]) == 0
    files = sorted(tmp_path.glob("*.mp4"))
    assert len(files) == 2 and all(p.stat().st_size > 1000 for p in files)
    steps = round(json.loads(capsys.readouterr().out)["sim_seconds"] * 10)  # one frame per 10 Hz period
    import av

    for path in files:
        with av.open(str(path)) as c:  # FFmpeg's own demuxer and decoder read it back
            stream = c.streams.video[0]
            # H.264 in yuv420p is what browsers play; OpenCV's mp4v (MPEG-4 part 2) is not
            assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
            frames = list(c.decode(stream))
        assert len(frames) == steps
        head = path.read_bytes()
        assert head.index(b"moov") < head.index(b"mdat")  # faststart: playable while it downloads


def test_module_entry_point_runs():
    r = subprocess.run([sys.executable, "-m", "app", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "eval" in r.stdout
