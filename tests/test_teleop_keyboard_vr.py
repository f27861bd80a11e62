"""Keyboard key-state model and the VR controller (recorded OpenXR pose streams through a stand-in
adapter), both through the same device and mapper code as the live devices."""

import numpy as np
import pytest
from teleop_fakes import ScriptedXr, wait_until, xr_pose

from devices.geometry import quat_to_rotvec
from devices.teleop import ButtonAction, DeviceStatus, DeviceUnavailable, MotionMode, TeleopMapper, make_device
from devices.teleop.frames import STATION_BASE_FROM_OPERATOR
from devices.teleop.keyboard import KeyboardDevice, key_name
from devices.teleop.openxr_adapter import OpenXRAdapter, XrSample, runtime_status
from devices.teleop.vr import OpenXRTransport, VRControllerDevice

HOME = np.array([0.5, 0.0, 0.2, 1.0, 0.0, 0.0, 0.0])


# -- keyboard ----------------------------------------------------------------------------------------

def test_held_keys_become_a_twist_and_other_keys_actions():
    with make_device("keyboard") as kb:
        kb.key_down("W")
        kb.key_down("d")
        kb.key_down("Return")
        assert wait_until(lambda: kb.read_latest().buttons == {"w", "d", "enter"})
        cmd = kb.read_command()
        assert cmd.mode is MotionMode.DELTA
        np.testing.assert_allclose(cmd.twist, [1, 1, 0, 0, 0, 0])
        assert cmd.pressed == (ButtonAction.RECORD_TOGGLE,)
        kb.key_down("w")  # auto-repeat: nothing changes
        kb.key_up("w")
        kb.key_down("space")
        assert wait_until(lambda: kb.read_latest().buttons == {"d", "enter", "space"})
        cmd = kb.read_command()
        np.testing.assert_allclose(cmd.twist, [1, 0, 0, 0, 0, 0])
        assert cmd.pressed == (ButtonAction.GRIPPER_TOGGLE,)
        kb.key_down("a")  # opposite keys cancel
        assert wait_until(lambda: kb.read_latest().twist[0] == 0.0)
        kb.release_all()
        assert wait_until(lambda: kb.read_latest().buttons == frozenset())


def test_keyboard_drives_the_mapper_at_the_configured_speed():
    kb = KeyboardDevice()
    mapper = TeleopMapper(kb.settings.mapper)
    mapper.reset(HOME)
    with kb:
        kb.key_down("r")
        assert wait_until(lambda: kb.read_latest().twist[2] == 1.0)
        mapper.update(kb.read_command(), now=0.0)
        out = mapper.update(kb.read_command(), now=0.1)
    assert out.action.position[2] == pytest.approx(HOME[2] + 0.1 * kb.settings.mapper.translation_scale)


def test_key_aliases():
    assert key_name("Return") == "enter" and key_name("Escape") == "esc" and key_name(" ") == "space"


# -- VR controller -----------------------------------------------------------------------------------

def vr_device(samples, **kw):
    source = ScriptedXr(samples)
    return source, VRControllerDevice(OpenXRTransport(source, rate_hz=500.0), **kw)


def test_squeeze_is_the_clutch_and_the_trigger_closes_the_gripper():
    # the hand moves 10 cm away from the operator while squeezing, turning 0.3 rad about up
    samples = [XrSample(xr_pose([0.0, 0.0, 1.0]), trigger=0.0, squeeze=0.0),
               XrSample(xr_pose([0.0, 0.0, 1.0]), trigger=0.0, squeeze=0.9),
               XrSample(xr_pose([0.0, 0.1, 1.0], 0.3), trigger=0.8, squeeze=0.9),
               XrSample(xr_pose([0.0, 0.1, 1.0], 0.3), trigger=0.8, squeeze=0.4),  # hysteresis: still held
               XrSample(xr_pose([0.5, 0.5, 1.0]), trigger=0.8, squeeze=0.1)]  # released: motion ignored
    source, dev = vr_device(samples)
    mapper = TeleopMapper(dev.settings.mapper)
    mapper.reset(HOME)
    # every sample in order, through the same parsing as the reader thread (which may skip samples)
    outs = [mapper.update(cmd) for cmd in dev.run_offline(max_events=len(samples))]
    assert [o.clutch_engaged for o in outs] == [False, True, True, True, False]
    moved = outs[2].action
    travel = 0.1 - dev.settings.mapper.deadzone  # the first 2 mm of hand motion are jitter
    np.testing.assert_allclose(moved.position, HOME[:3] + STATION_BASE_FROM_OPERATOR @ [0, travel, 0], atol=1e-9)
    np.testing.assert_allclose(quat_to_rotvec(moved.quat), [0, 0, 0.3], atol=1e-9)
    assert moved.gripper == pytest.approx(0.8)
    np.testing.assert_allclose(outs[4].action.position, moved.position)


def test_controller_buttons_map_to_recorder_actions():
    samples = [XrSample(xr_pose([0, 0, 1])), XrSample(xr_pose([0, 0, 1]), buttons=frozenset({"primary"})),
               XrSample(xr_pose([0, 0, 1])), XrSample(xr_pose([0, 0, 1]), buttons=frozenset({"secondary"}))]
    source, dev = vr_device(samples)
    with dev:
        assert wait_until(lambda: source.done and dev.read_latest().seq >= 4)
        assert dev.read_command().pressed == (ButtonAction.RECORD_TOGGLE, ButtonAction.MARK_RECOVERY)


def test_untracked_controller_does_not_move_the_robot():
    samples = [XrSample(xr_pose([0, 0, 1]), squeeze=1.0), XrSample(None, squeeze=1.0)]
    source, dev = vr_device(samples)
    mapper = TeleopMapper(dev.settings.mapper)
    mapper.reset(HOME)
    with dev:
        assert wait_until(lambda: source.done and dev.read_latest().seq >= 2)
        out = mapper.update(dev.read_command())
    assert not out.hold and not out.clutch_engaged
    np.testing.assert_allclose(out.action.ee_pose, HOME)


def test_lost_runtime_holds_and_reconnects():
    source, dev = vr_device([XrSample(xr_pose([0, 0, 1]))])
    dev._reconnect_interval = 0.02
    mapper = TeleopMapper(dev.settings.mapper)
    mapper.reset(HOME)
    with dev:
        assert wait_until(lambda: dev.read_latest().pose is not None)
        source.lost = True
        source.available = False
        assert wait_until(lambda: dev.status is DeviceStatus.LOST)
        out = mapper.update(dev.read_command())
        assert out.hold and "VR controller" in out.message and "SessionLostError" in out.message
        source.lost = False
        source.available = True
        assert wait_until(lambda: dev.status is DeviceStatus.OK)
        assert source.opened >= 2


def test_without_a_runtime_the_error_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("XR_RUNTIME_JSON", str(tmp_path / "missing.json"))
    available, message = runtime_status()
    assert not available and "install Monado or SteamVR" in message
    with pytest.raises(DeviceUnavailable) as err:
        make_device("openxr").connect()
    assert "install Monado or SteamVR and set XR_RUNTIME_JSON" in str(err.value)
    assert "\n" not in str(err.value)


def test_a_runtime_manifest_the_loader_cannot_use_is_still_one_line(monkeypatch, tmp_path):
    manifest = tmp_path / "broken_runtime.json"
    manifest.write_text('{"file_format_version": "1.0.0", "runtime": {"library_path": "./nowhere.so"}}')
    monkeypatch.setenv("XR_RUNTIME_JSON", str(manifest))
    with pytest.raises(DeviceUnavailable) as err:
        OpenXRAdapter("left").open()
    assert "OpenXR" in str(err.value) and "\n" not in str(err.value)


# -- mouse (part of the keyboard device) ---------------------------------------------------------------

def test_mouse_drag_is_a_virtual_joystick_and_release_stops():
    with make_device("keyboard") as kb:
        r = kb.mouse_options.radius_px
        kb.mouse_drag("left", r / 2, -2 * r)  # right and up the screen (away), beyond full deflection
        assert wait_until(lambda: np.abs(kb.read_latest().twist).sum() > 0)
        np.testing.assert_allclose(kb.read_latest().twist, [0.5, 1.0, 0, 0, 0, 0])
        kb.mouse_drag("right", r, r / 4)  # turn and go down
        assert wait_until(lambda: kb.read_latest().twist[5] != 0)
        np.testing.assert_allclose(kb.read_latest().twist, [0, 0, -0.25, 0, 0, -1.0])
        kb.key_down("r")  # keys and mouse add up, then clip
        assert wait_until(lambda: kb.read_latest().twist[2] == 0.75)
        kb.mouse_release()
        assert wait_until(lambda: kb.read_latest().twist[5] == 0)
        np.testing.assert_allclose(kb.read_latest().twist, [0, 0, 1.0, 0, 0, 0])
        with pytest.raises(ValueError):
            kb.mouse_drag("middle", 1, 1)


def test_mouse_drag_moves_the_mapped_target():
    with make_device("keyboard") as kb:
        mapper = TeleopMapper(kb.settings.mapper)
        mapper.reset(HOME)
        kb.mouse_drag("left", kb.mouse_options.radius_px, 0)
        assert wait_until(lambda: kb.read_latest().twist[0] == 1.0)
        t0 = kb.read_latest().time
        first = mapper.update(kb.read_command(), now=t0)
        later = mapper.update(kb.read_command(), now=t0 + 0.5)
        moved = later.action.ee_pose[:3] - first.action.ee_pose[:3]
        assert np.linalg.norm(moved) > 0.01
