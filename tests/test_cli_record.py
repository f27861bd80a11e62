"""`demostation record`, `info` and `validate` end to end, small (2 episodes at 32 px)."""

import json

import numpy as np
import pytest

from app.cli import main
from recorder.dataset import Dataset


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "ds"
    argv = ["record", "--out", str(out), "--task", "pick_place", "--device", "expert", "--episodes", "2",
            "--image-size", "32", "--seed", "5", "--operator", "ada", "--expert-noise", "0.002",
            "--expert-pause-prob", "0.3", "--json"]
    return out, argv


def test_record_info_validate(recorded, capsys):
    out, argv = recorded
    assert main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["episodes"] == 2 and report["success_rate"] == 1.0
    assert [e["seed"] for e in report["recorded"]] == [5, 6]

    ds = Dataset(out)
    assert ds.episode_ids() == ["ep_000000", "ep_000001"]
    with ds.open("ep_000000") as ep:
        assert ep.operator == "ada" and ep.device == "expert" and ep.task == "pick_place" and ep.seed == 5
        assert ep.success is True and ep.score == 1.0 and ep.complete
        assert ep.camera_names == ["scene", "wrist"] and ep.images("wrist", 0).shape == (32, 32, 3)
        assert any(e["kind"] == "pause" for e in ep.events)  # the expert's injected events
        assert all(0 <= e["start"] <= ep.time[-1] for e in ep.events)
        assert ep.attrs["station"]["task"] == "pick_place" and ep.attrs["station"]["config"]["stiffness"] > 0
        assert ep.attrs["cameras"][0]["fx"] > 0 and ep.attrs["timing"]["missed_ticks"] == 0
        np.testing.assert_allclose(np.diff(ep.time), 0.1, atol=1e-9)
        # Staleness: headless station frames are rendered at the tick itself.
        np.testing.assert_allclose(ep.image_time("scene"), ep.time, atol=1e-9)
        # The episode ends about one second after success: the final actions hold still.
        assert np.ptp(ep.action_pose[-5:, :3], axis=0).max() < 0.01

    assert main(["info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["episodes"] == 2 and info["complete"] == 2 and info["rate_hz"] == 10.0
    assert info["tasks"] == {"pick_place": 2} and info["devices"] == {"expert": 2}
    assert info["frames"] == sum(e["frames"] for e in report["recorded"])
    assert info["duration_s"] == pytest.approx(info["frames"] / 10.0)

    assert main(["validate", str(out)]) == 0
    assert "all sound" in capsys.readouterr().out
    assert main(["validate", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True

    # Appending records after the existing episodes; a corrupt file is reported, not fatal.
    (out / "episodes" / "ep_000002.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    assert main(["record", "--out", str(out), "--episodes", "1", "--image-size", "32", "--cameras", "scene"]) == 0
    capsys.readouterr()
    assert Dataset(out).episode_ids() == ["ep_000000", "ep_000001", "ep_000003"]
    assert main(["validate", str(out), "--json"]) == 1
    v = json.loads(capsys.readouterr().out)
    assert v["ok"] is False and v["sound"] == 3
    assert [(p["episode"], p["kind"]) for p in v["problems"]] == [("ep_000002.h5", "unreadable")]
    assert main(["validate", str(out)]) == 1
    text = capsys.readouterr().out
    assert text.startswith("ep_000002.h5: unreadable:")
    assert main(["info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["episodes"] == 3 and len(info["problems"]) == 1


@pytest.mark.parametrize("argv", [
    ["record", "--out", "X", "--episodes", "0"],
    ["record", "--out", "X", "--cameras", "scene,top"],
    ["record", "--out", "X", "--device", "spacemouse"],
    ["record", "--out", "X", "--task", "nope"],
    ["record", "--out", "X", "--expert-pause-prob", "1.5"],
    ["record", "--out", "X", "--rate", "0"],
    ["record", "--out", "X", "--image-size", "4"],
    ["record", "--out", "X", "--image-size", "481"],  # beyond the station's 640x480 framebuffer
    ["record", "--out", "X", "--seed", "18446744073709551615"],  # >= 2**64: an unwritable journal attribute
    ["record", "--out", "X", "--seed", "9223372036854775807", "--episodes", "2"],  # the second seed overflows
    ["record", "--out", "X", "--seed", "-1"],
    ["record", "--out", "X", "--tail", "1e9"],  # recorded forever
    ["record", "--out", "", "--episodes", "1"],  # recorded into the current folder
    ["info", "MISSING"],
    ["validate", "MISSING"],
])
def test_bad_input_exits_2_with_one_line(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where `--out ""` would record if it were accepted
    argv = [str(tmp_path / a) if a in ("X", "MISSING") else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]
    assert not (tmp_path / "X" / "episodes").exists() or not any((tmp_path / "X" / "episodes").iterdir())
    assert not (tmp_path / "episodes").exists()
