"""See the axes before you record (#17 what-must-hold 3): per-axis live motion in the operator's and
the robot's frame, a per-axis flip saved in the device settings, used by the mapper and the CLI."""

import json
from pathlib import Path

import numpy as np
import pytest
from teleop_fakes import FakeHidApi, wait_until

from app.cli import main
from devices.teleop import MapperSettings, SettingsStore, TeleopMapper, make_device
from devices.teleop.axes import AxisMonitor, format_motion
from devices.teleop.command import MotionMode, TeleopCommand
from devices.teleop.settings import DeviceSettings

DEMO = Path(__file__).resolve().parents[1] / "assets" / "teleop" / "spacemouse_demo.jsonl"
HOME = np.array([0.5, 0.0, 0.2, 1.0, 0.0, 0.0, 0.0])


def _delta(twist, t=0.0):
    return TeleopCommand(time=t, seq=0, device="test", mode=MotionMode.DELTA, twist=np.asarray(twist, float))


def test_rate_motion_is_shown_in_both_frames_as_the_mapper_will_move():
    monitor = AxisMonitor(MapperSettings())
    motion = monitor.update(_delta([0, 0.8, 0, 0, 0, 0.5]))
    np.testing.assert_allclose(motion.operator, [0, 0.8, 0, 0, 0, 0.5])
    np.testing.assert_allclose(motion.robot, [-0.8, 0, 0, 0, 0, 0.5], atol=1e-12)  # away = station base -x
    assert motion.dominant() == "away -> robot -x"
    assert "operator [x+0.00 y+0.80" in format_motion(motion) and "robot [x-0.80" in format_motion(motion)


def test_absolute_devices_show_the_hands_velocity():
    monitor = AxisMonitor(MapperSettings())
    pose = lambda x, t: TeleopCommand(time=t, seq=0, device="vr", mode=MotionMode.ABSOLUTE,  # noqa: E731
                                      pose=np.array([x, 0, 0, 1, 0, 0, 0.0]))
    assert not monitor.update(pose(0.0, 0.0)).operator.any()
    motion = monitor.update(pose(0.02, 0.1))  # 2 cm right in 0.1 s
    np.testing.assert_allclose(motion.operator[:3], [0.2, 0, 0], atol=1e-12)
    np.testing.assert_allclose(motion.robot[:3], [0, 0.2, 0], atol=1e-12)
    assert motion.unit == "m/s, rad/s"


def test_a_flipped_axis_is_reversed_in_the_view_and_in_the_mapper():
    flipped = MapperSettings(deadzone=0.0).with_flipped(["y", "rz"])
    assert flipped.axis_flip == (False, True, False, False, False, True)
    motion = AxisMonitor(flipped).update(_delta([0, 1, 0, 0, 0, 1]))
    np.testing.assert_allclose(motion.operator, [0, -1, 0, 0, 0, -1])
    mapper = TeleopMapper(flipped)
    mapper.reset(HOME)
    mapper.update(_delta([0, 1, 0, 0, 0, 0]), now=0.0)
    out = mapper.update(_delta([0, 1, 0, 0, 0, 0]), now=0.1)
    assert out.action.position[0] == pytest.approx(HOME[0] + 0.015)  # flipped: toward the operator
    with pytest.raises(ValueError, match="unknown axis 'w'"):
        MapperSettings().with_flipped(["w"])
    with pytest.raises(ValueError, match="axis_flip must have 6 entries"):
        MapperSettings(axis_flip=(True,))


def test_the_flip_is_saved_in_the_device_settings_and_a_live_device_uses_it(tmp_path):
    store = SettingsStore(tmp_path / "s.json")
    dev = make_device("spacemouse", hid_api=FakeHidApi(), store=store)
    with dev:
        dev.save_settings(DeviceSettings(mapper=dev.settings.mapper.with_flipped(["x"]), buttons=dev.settings.buttons))
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["devices"]["spacemouse/256f:c635"]["mapper"]["axis_flip"] == [True, False, False, False, False, False]
    again = make_device("spacemouse", hid_api=FakeHidApi(), store=SettingsStore(tmp_path / "s.json"))
    with again:
        assert again.settings.mapper.axis_flip[0] and wait_until(lambda: again.status.value == "ok")
    (tmp_path / "s.json").write_text(json.dumps({**doc, "devices": {"spacemouse/256f:c635": {
        "mapper": {"axis_flip": [True, "no", False, False, False, False]}}}}))
    with pytest.raises(ValueError, match=r"axis_flip\[1\] must be true or false"):
        SettingsStore(tmp_path / "s.json").load("spacemouse/256f:c635", DeviceSettings())


def test_watch_prints_both_frames_and_a_saved_flip_changes_what_the_robot_would_do(capsys):
    assert main(["devices", "--watch", f"replay:{DEMO}", "--fast"]) == 0
    out = capsys.readouterr().out
    assert "away -> robot -x" in out and "up -> robot +z" in out and "right -> robot +y" in out
    assert main(["devices", "--watch", f"replay:{DEMO}", "--fast", "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert plain["axis_flip"] == [] and plain["peak_operator"]["y"] > 0.5 and plain["peak_robot"]["x"] < -0.5
    assert main(["devices", "--watch", f"replay:{DEMO}", "--fast", "--json", "--flip", "y"]) == 0
    captured = capsys.readouterr()
    flipped = json.loads(captured.out)
    assert "flipped axes saved: y" in captured.err
    assert flipped["axis_flip"] == ["y"] and flipped["peak_robot"]["x"] > 0.5
    assert flipped["final"]["ee_pose"][0] > plain["final"]["ee_pose"][0]  # moved toward the operator instead
    assert main(["devices", "--watch", f"replay:{DEMO}", "--fast", "--json"]) == 0  # saved: still flipped
    assert json.loads(capsys.readouterr().out)["axis_flip"] == ["y"]
    assert main(["devices", "--watch", f"replay:{DEMO}", "--fast", "--json", "--flip", "none"]) == 0
    assert json.loads(capsys.readouterr().out)["axis_flip"] == []


@pytest.mark.parametrize("argv", [
    ["devices", "--watch", f"replay:{DEMO}", "--fast", "--flip", "q"],
    ["devices", "--flip", "y"],
])
def test_bad_flips_are_one_line(argv, capsys):
    assert main(argv) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_watch_without_a_spec_and_nothing_connected_says_so(capsys, monkeypatch):
    import app.commands.devices as cmd
    monkeypatch.setattr(cmd, "_connected_specs", lambda: [])
    assert main(["devices", "--watch", "--seconds", "0.1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no connected device to watch" in err[0]


def test_recording_uses_the_saved_flip(capsys):
    from recorder.teleop import TeleopSource

    assert main(["devices", "--watch", f"replay:{DEMO}", "--fast", "--json", "--flip", "z"]) == 0
    capsys.readouterr()
    source = TeleopSource.from_spec(f"replay:{DEMO}")
    assert source.device.settings.mapper.axis_flip == (False, False, True, False, False, False)
