"""Record and replay: every device's raw stream goes to a file and ``replay:FILE`` feeds it through
the same parsing and mapping code; corrupt files fail in one line; the shipped demo stream replays."""

import json
from pathlib import Path

import numpy as np
import pytest
from teleop_fakes import FakeHaptic, FakeHidApi, ScriptedXr, wait_until, xr_pose

from devices.teleop import ButtonAction, DeviceStatus, TeleopMapper, make_device
from devices.teleop.haptic import HapticStylusDevice, HapticTransport
from devices.teleop.keyboard import KeyboardDevice
from devices.teleop.openxr_adapter import XrSample
from devices.teleop.spacemouse import KNOWN_MODELS, SpaceMouseDevice, encode_reports, operator_twist_to_raw
from devices.teleop.stream_files import read_stream_header
from devices.teleop.synthetic import spacemouse_demo_events, spacemouse_demo_header
from devices.teleop.vr import OpenXRTransport, VRControllerDevice

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "teleop" / "spacemouse_demo.jsonl"
HOME = np.array([0.5, 0.0, 0.2, 1.0, 0.0, 0.0, 0.0])
COMPACT = KNOWN_MODELS[(0x256F, 0xC635)]


def replay_commands(path, **kw):
    dev = make_device(f"replay:{path}", realtime=False, **kw)
    return dev, list(dev.run_offline())


def test_spacemouse_session_replays_to_the_same_samples(tmp_path):
    api = FakeHidApi()
    stream = tmp_path / "sm.jsonl"
    with make_device("spacemouse", hid_api=api) as dev:
        dev.start_recording(stream)
        for k in range(5):
            api.feed(*encode_reports(COMPACT, operator_twist_to_raw([0.2 * k, 0, -0.1 * k, 0, 0.05 * k, 0]),
                                     button_mask=k % 2))
        assert wait_until(lambda: dev.read_latest().seq >= 15)
        live = dev.read_latest()
        dev.stop_recording()
    header = read_stream_header(stream)
    assert header["device"] == "spacemouse" and header["params"] == {"vendor_id": 0x256F, "product_id": 0xC635}
    replay, commands = replay_commands(stream)
    assert isinstance(replay, SpaceMouseDevice) and replay.name == dev.name
    assert len(commands) == 15
    np.testing.assert_allclose(commands[-1].twist, live.twist)


def test_keyboard_vr_and_haptic_streams_replay(tmp_path):
    kb = KeyboardDevice()
    with kb:
        kb.start_recording(tmp_path / "kb.jsonl")
        for key in ("w", "d"):
            kb.key_down(key)
        kb.key_up("w")
        assert wait_until(lambda: kb.read_latest().buttons == {"d"})
        kb.stop_recording()
    _, commands = replay_commands(tmp_path / "kb.jsonl")
    np.testing.assert_allclose(commands[-1].twist, [1, 0, 0, 0, 0, 0])

    source = ScriptedXr([], hand="left")  # serves nothing until the recording has started
    vr = VRControllerDevice(OpenXRTransport(source, rate_hz=500.0))
    with vr:
        vr.start_recording(tmp_path / "vr.jsonl")
        source.samples.extend(XrSample(xr_pose([0, 0.1 * k, 1]), trigger=0.1 * k, squeeze=1.0) for k in range(4))
        assert wait_until(lambda: source.index > len(source.samples))  # the last sample fully handled
        vr.stop_recording()
    replay, commands = replay_commands(tmp_path / "vr.jsonl")
    assert isinstance(replay, VRControllerDevice) and replay.hand == "left"
    assert ButtonAction.CLUTCH in commands[-1].held and commands[-1].gripper == pytest.approx(0.3)

    haptic = HapticStylusDevice(HapticTransport(FakeHaptic(path=lambda t: np.array([0.01, 0.02, 0.03]),
                                                           buttons=lambda t: 2)))
    with haptic:
        haptic.start_recording(tmp_path / "haptic.jsonl")
        assert wait_until(lambda: haptic.read_latest().seq > 30)
        haptic.stop_recording()
        live = haptic.read_command()
    replay, commands = replay_commands(tmp_path / "haptic.jsonl")
    assert isinstance(replay, HapticStylusDevice) and replay.model == "haptic/openhaptics"
    np.testing.assert_allclose(commands[-1].pose, live.pose)
    assert commands[-1].held == live.held


def test_the_shipped_demo_stream_is_byte_exact_and_drives_the_mapper():
    lines = DEMO.read_text().splitlines()
    header = json.loads(lines[0])
    assert header == {"format": "demostation-teleop-stream", "version": 1, **spacemouse_demo_header()}
    events = spacemouse_demo_events()
    assert len(lines) - 1 == len(events)
    assert [json.loads(line)["d"]["hex"] for line in lines[1:]] == [e.data.hex() for e in events]
    for e in events:  # every report is the real layout: 7-byte motion, 3-byte buttons
        assert (e.data[0], len(e.data)) in {(1, 7), (2, 7), (3, 3)}

    dev, commands = replay_commands(DEMO)
    mapper = TeleopMapper(dev.settings.mapper)
    mapper.reset(HOME)
    events_seen, grippers = [], []
    for cmd in commands:
        out = mapper.update(cmd, now=cmd.time)
        events_seen += out.events
        grippers.append(out.action.gripper)
    final = out.action
    assert events_seen == [ButtonAction.RECORD_TOGGLE]
    assert max(grippers) == 1.0 and final.gripper == 0.0  # closed, then opened again
    moved = final.position - HOME[:3]
    assert moved[0] < -0.03  # reached away from the operator (base -x at the station)
    assert moved[1] > 0.03  # carried to the operator's right (base +y)
    assert abs(moved[2]) < 0.02  # lifted and lowered again


def test_realtime_replay_paces_like_the_recording():
    dev = make_device(f"replay:{DEMO}")
    with dev:
        assert wait_until(lambda: dev.read_latest().seq > 5)
        t0 = dev.read_latest().time
        assert dev.status is DeviceStatus.OK
        assert not wait_until(lambda: dev.status is not DeviceStatus.OK, timeout=0.5)  # 6 s stream still playing
        assert dev.read_latest().time - t0 == pytest.approx(0.5, abs=0.2)


def test_replay_end_holds_the_robot():
    dev = make_device(f"replay:{DEMO}", realtime=False)
    mapper = TeleopMapper(dev.settings.mapper)
    mapper.reset(HOME)
    with dev:
        assert wait_until(lambda: dev.status is DeviceStatus.LOST)
        out = mapper.update(dev.read_command())
    assert out.hold and "replay of spacemouse_demo.jsonl finished" in out.message


def test_corrupt_streams_fail_in_one_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("hello\n")
    with pytest.raises(ValueError, match="is not a Demo Station device stream"):
        make_device(f"replay:{bad}")
    with pytest.raises(FileNotFoundError, match="no recorded device stream"):
        make_device(f"replay:{tmp_path / 'none.jsonl'}")
    with pytest.raises(ValueError, match="unknown device 'trackball'"):
        make_device("trackball")
    lines = DEMO.read_text().splitlines()
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(lines[:10] + ['{"t": 0.5, "k": "hid", "d": {"hex": "zz"}}'] + lines[10:20]) + "\n")
    dev = make_device(f"replay:{broken}", realtime=False)
    with dev:
        assert wait_until(lambda: dev.status is DeviceStatus.ERROR)
        message = dev.read_command().message
    assert "broken.jsonl line 11" in message and "hex" in message and "\n" not in message
    with pytest.raises(Exception, match="line 11"):
        list(make_device(f"replay:{broken}", realtime=False).run_offline())


def test_a_stream_cut_short_by_a_crash_replays_up_to_the_cut(tmp_path):
    text = DEMO.read_text()
    cut = tmp_path / "cut.jsonl"
    cut.write_text(text[: len(text) // 2 - 7])  # the last line ends mid-record
    _, commands = replay_commands(cut)
    assert 300 < len(commands) < 400


def test_a_full_disk_ends_the_stream_recording_not_the_teleop(tmp_path):
    class FullDisk:
        def write(self, text):
            raise OSError(28, "No space left on device")

        def flush(self):
            raise OSError(28, "No space left on device")

        def close(self):
            pass

    kb = KeyboardDevice()
    with kb:
        kb.start_recording(tmp_path / "kb.jsonl")
        kb.key_down("w")
        assert wait_until(lambda: kb.read_latest().buttons == {"w"})
        kb._writer._file = FullDisk()  # the disk fills up mid-recording
        kb.key_down("d")
        assert wait_until(lambda: kb.read_latest().buttons == {"w", "d"})
        cmd = kb.read_command()
        assert cmd.ok and "recording of the keyboard stream stopped" in cmd.message and "No space" in cmd.message
        kb.key_up("w")
        assert wait_until(lambda: kb.read_latest().buttons == {"d"})  # teleop goes on
    header = read_stream_header(tmp_path / "kb.jsonl")  # what was written before is kept
    assert header["device"] == "keyboard"


def test_a_malformed_report_inside_a_recording_is_skipped_as_it_was_live(tmp_path):
    lines = DEMO.read_text().splitlines()
    stream = tmp_path / "with_bad_report.jsonl"
    stream.write_text("\n".join(lines[:50] + ['{"t": 0.4, "k": "hid", "d": {"hex": "01ff"}}'] + lines[50:]) + "\n")
    dev, commands = replay_commands(stream)
    assert len(commands) == len(lines) - 1  # a command for every good report, none for the bad one
    assert dev.malformed_reports == 1 and "malformed" in commands[-1].message


def test_mouse_drags_record_and_replay(tmp_path):
    kb = KeyboardDevice()
    with kb:
        kb.start_recording(tmp_path / "mouse.jsonl")
        kb.mouse_drag("left", 75, 0)
        kb.mouse_drag("left", 150, 0)
        assert wait_until(lambda: kb.read_latest().twist[0] == 1.0)
        kb.stop_recording()
    _, commands = replay_commands(tmp_path / "mouse.jsonl")
    np.testing.assert_allclose(commands[-1].twist, [1, 0, 0, 0, 0, 0])
    assert len(commands) >= 2


def test_a_malformed_mouse_event_fails_in_one_line(tmp_path):
    kb = KeyboardDevice()
    with kb:
        kb.start_recording(tmp_path / "mouse.jsonl")
        kb.mouse_drag("left", 10, 0)
        assert wait_until(lambda: kb.read_latest().twist[0] != 0)
        kb.stop_recording()
    lines = (tmp_path / "mouse.jsonl").read_text().splitlines()
    bad = json.loads(lines[-1])
    bad["d"] = {"button": "left", "dx": "far"}
    # a bad line followed by a good one (a bad LAST line reads as a recording cut short by a crash)
    (tmp_path / "mouse.jsonl").write_text("\n".join(lines[:-1] + [json.dumps(bad), lines[-1]]) + "\n")
    with pytest.raises(Exception, match=f"mouse.jsonl line {len(lines)}.*numeric dx"):
        list(make_device(f"replay:{tmp_path / 'mouse.jsonl'}", realtime=False).run_offline())
