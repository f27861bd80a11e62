"""SpaceMouse over HID: ids, both report layouts, buttons, malformed reports, hot-plug — driven by byte
reports through a stand-in ``hid`` module (the outermost call), everything above it real."""

import numpy as np
import pytest
from teleop_fakes import FakeHidApi, wait_until

from devices.teleop import ButtonAction, DeviceStatus, DeviceUnavailable, TeleopMapper, make_device, spacemouse
from devices.teleop.errors import MalformedInput
from devices.teleop.spacemouse import (
    KNOWN_MODELS,
    SpaceMouseParser,
    encode_reports,
    find_spacemice,
    identify,
    ignored_3dconnexion,
    operator_twist_to_raw,
)

COMPACT = KNOWN_MODELS[(0x256F, 0xC635)]
RECEIVER = KNOWN_MODELS[(0x256F, 0xC652)]
HOME = np.array([0.5, 0.0, 0.2, 1.0, 0.0, 0.0, 0.0])


@pytest.mark.parametrize("vid, pid, name", [
    (0x046D, 0xC626, "SpaceNavigator"), (0x046D, 0xC62B, "SpaceMouse Pro"),
    (0x256F, 0xC62E, "SpaceMouse Wireless (cable)"), (0x256F, 0xC62F, "SpaceMouse Wireless (receiver)"),
    (0x256F, 0xC635, "SpaceMouse Compact"), (0x256F, 0xC652, "Universal Receiver"),
    (0x256F, 0xC633, "SpaceMouse Enterprise"),
])
def test_known_models_are_recognised_by_vendor_and_product_id(vid, pid, name):
    assert identify(vid, pid).name.endswith(name)


@pytest.mark.parametrize("vid, pid", [
    (0x256F, 0xC650), (0x256F, 0xC651), (0x256F, 0xC654),  # CadMouse, CadMouse Wireless, CadMouse Pro Wireless
    (0x256F, 0xC664), (0x256F, 0xC665), (0x256F, 0xC6FF),  # keyboard / numpad class ids, an unknown id
    (0x046D, 0xC077), (0x1234, 0xC635),  # a Logitech mouse; a SpaceMouse product id of another vendor
])
def test_only_listed_models_are_spacemice_not_every_3dconnexion_device(vid, pid):
    """3Dconnexion sells CadMice, keyboards and numpads under 0x256f too (#17 defect 3)."""
    assert identify(vid, pid) is None


def test_separate_reports_translation_rotation_buttons():
    p = SpaceMouseParser(COMPACT)
    assert p.feed(bytes.fromhex("01" "5e01" "0000" "0000"))  # tx = +350: full right
    np.testing.assert_allclose(p.twist, [1, 0, 0, 0, 0, 0])
    # a SpaceNavigator capture: "02 00 00 e2 ff 00 00" (HID Ry, about the axis toward the user, -30
    # counts) is +30/350 about the operator's y (away from the user)
    assert p.feed(bytes.fromhex("02 00 00 e2 ff 00 00".replace(" ", "")))
    np.testing.assert_allclose(p.twist, [1, 0, 0, 0, 30 / 350, 0])
    assert p.feed(bytes.fromhex("030100"))
    assert p.buttons == {"left"}
    assert p.feed(bytes.fromhex("030300")) and p.buttons == {"left", "right"}
    assert not p.feed(bytes.fromhex("0401"))  # LED report: ignored


def test_combined_six_axis_report_of_newer_models():
    p = SpaceMouseParser(RECEIVER)
    raw = operator_twist_to_raw([0.2, -0.4, 0.6, 0.1, -0.3, 0.5])
    [report] = encode_reports(RECEIVER, raw)
    assert len(report) == 13 and report[0] == 1
    p.feed(report)
    np.testing.assert_allclose(p.twist, [0.2, -0.4, 0.6, 0.1, -0.3, 0.5], atol=2 / 350)


def test_pushing_the_cap_away_moves_the_robot_away_and_its_rotation_follows():
    """HID Y increases from far to near (HID Usage Tables, Generic Desktop Y 0x31): pushing the cap
    away from the user reads negative counts, which must be +y (away) in the operator frame and move
    the robot away from the operator (base -x at the station); Ry by the right-hand rule about that
    same toward-the-user axis flips with it (#17 defect 1)."""
    p = SpaceMouseParser(COMPACT)
    p.feed(bytes([1]) + np.array([0, -350, 0], "<i2").tobytes())  # cap pushed away, full
    np.testing.assert_allclose(p.twist, [0, 1, 0, 0, 0, 0])
    p.feed(bytes([2]) + np.array([0, -175, 0], "<i2").tobytes())
    assert p.twist[4] == pytest.approx(0.5)
    api = FakeHidApi()
    dev = make_device("spacemouse", hid_api=api)
    mapper = TeleopMapper(dev.settings.mapper)
    mapper.reset(HOME)
    with dev:
        api.feed(bytes([1]) + np.array([0, -350, 0], "<i2").tobytes(), bytes([2]) + bytes(6))
        assert wait_until(lambda: dev.read_latest().seq >= 2)
        mapper.update(dev.read_command(), now=0.0)
        out = mapper.update(dev.read_command(), now=0.1)
    assert out.action.position[0] == pytest.approx(HOME[0] - 0.015)  # away from the operator = base -x
    assert out.action.position[1:] == pytest.approx(HOME[1:3])


def test_hid_axes_become_the_operator_frame():
    p = SpaceMouseParser(COMPACT)
    # pushing the cap down is +z in HID (z down): the operator frame has z up
    p.feed(bytes([1]) + np.array([0, 0, 350], "<i2").tobytes())
    assert p.twist[2] == pytest.approx(-1.0)
    p.feed(bytes([2]) + np.array([0, 0, 175], "<i2").tobytes())
    assert p.twist[5] == pytest.approx(-0.5)


@pytest.mark.parametrize("report", [b"", bytes.fromhex("01ff"), bytes.fromhex("02000000"), b"\x03"])
def test_malformed_reports_are_refused(report):
    with pytest.raises(MalformedInput):
        SpaceMouseParser(COMPACT).feed(report)


def _entry(pid, path, usage_page, usage, vid=0x256F, serial="R1"):
    return {"vendor_id": vid, "product_id": pid, "path": path, "serial_number": serial,
            "usage_page": usage_page, "usage": usage}


def test_enumeration_takes_the_receivers_multi_axis_interface_never_its_mouse_or_keyboard():
    """hidraw lists each top-level collection of the Universal Receiver: the multi-axis one (Generic
    Desktop 0x01 / Multi-axis Controller 0x08) carries the motion; the mouse (0x01/0x02) of a paired
    CadMouse, the keyboard (0x01/0x06) and consumer control (0x0c/0x01) never move (#17 defect 2)."""
    api = FakeHidApi()
    api.entries = [_entry(0xC652, b"/dev/hidraw2", 1, 2), _entry(0xC652, b"/dev/hidraw3", 1, 6),
                   _entry(0xC652, b"/dev/hidraw4", 12, 1), _entry(0xC652, b"/dev/hidraw5", 1, 8),
                   _entry(0xC650, b"/dev/hidraw6", 1, 2, serial="M1"),  # a CadMouse on its cable
                   _entry(0xC077, b"/dev/hidraw1", 1, 2, vid=0x046D, serial="")]
    found = find_spacemice(api)
    assert [(m.product_id, i["path"]) for m, i in found] == [(0xC652, b"/dev/hidraw5")]
    api.entries = api.entries[:3]  # the receiver with no SpaceMouse paired: no multi-axis interface
    assert find_spacemice(api) == []
    assert ignored_3dconnexion(FakeHidApi(0x256F, 0xC650)) == ["256f:c650"]


def test_an_interface_without_usage_information_is_taken_only_when_nothing_better_is_there():
    api = FakeHidApi()
    api.entries = [_entry(0xC635, "1-2:1.0", 0, 0), _entry(0xC635, b"/dev/hidraw9", 1, 8)]
    assert [i["path"] for _, i in find_spacemice(api)] == [b"/dev/hidraw9"]
    api.entries = api.entries[:1]  # libusb: usage page and usage are empty
    assert [i["path"] for _, i in find_spacemice(api)] == ["1-2:1.0"]


def test_linux_reads_through_the_hidraw_backend_and_falls_back_to_libusb(monkeypatch):
    import sys
    monkeypatch.setattr(sys, "platform", "linux")
    api = spacemouse._hid_module()
    assert api.__name__ == "hidraw" and spacemouse.backend_name(api) == "hidraw"
    assert {"enumerate", "device"} <= set(dir(api))  # the same API as the libusb ``hid`` module
    monkeypatch.setitem(sys.modules, "hidraw", None)  # a wheel without the hidraw module
    api = spacemouse._hid_module()
    assert api.__name__ == "hid" and spacemouse.backend_name(api) == "libusb"


def test_error_lines_name_the_device_files_and_the_udev_rule():
    api = FakeHidApi()
    api.unplug()
    with pytest.raises(DeviceUnavailable) as err:
        make_device("spacemouse", hid_api=api).connect()
    msg = str(err.value)
    assert "/dev/hidraw*" in msg and str(spacemouse.UDEV_RULES) in msg and "hidraw backend" in msg
    api = FakeHidApi()
    api.refuse_open = True
    with pytest.raises(DeviceUnavailable) as err:
        make_device("spacemouse", hid_api=api).connect()
    assert "at /dev/hidraw7" in str(err.value) and "udev" in str(err.value) and "\n" not in str(err.value)
    libusb = FakeHidApi()
    libusb.__name__ = "hid"
    libusb.unplug()
    with pytest.raises(DeviceUnavailable) as err:
        make_device("spacemouse", hid_api=libusb).connect()
    assert "/dev/bus/usb" in str(err.value) and "libusb backend" in str(err.value)


def test_the_udev_rules_file_covers_every_model_and_nothing_else():
    """One rule per listed model, USB (bus 0003) and Bluetooth (0005) alike, no vendor-wide match, and
    numbered before systemd's 73-seat-late.rules so TAG+="uaccess" takes effect."""
    import re
    from pathlib import Path
    rules = spacemouse.UDEV_RULES
    assert int(rules.name.split("-")[0]) < 73
    matched = set()
    for line in rules.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = re.fullmatch(r'SUBSYSTEM=="hidraw", KERNELS=="000\[35\]:([0-9A-F]{4}):([0-9A-F]{4})\.\*", '
                         r'MODE="0660", GROUP="plugdev", TAG\+="uaccess"', line)
        assert m, line
        matched.add((int(m[1], 16), int(m[2], 16)))
    assert matched == set(KNOWN_MODELS)
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert '"*.rules"' in pyproject  # shipped as package data


def test_no_spacemouse_is_a_one_line_error():
    api = FakeHidApi()
    api.unplug()
    with pytest.raises(DeviceUnavailable) as err:
        make_device("spacemouse", hid_api=api).connect()
    assert "no SpaceMouse found" in str(err.value) and "\n" not in str(err.value)


def test_deflection_moves_the_target_and_buttons_become_actions():
    api = FakeHidApi()
    dev = make_device("spacemouse", hid_api=api)
    mapper = TeleopMapper(dev.settings.mapper)
    mapper.reset(HOME)
    with dev:
        assert dev.name.endswith("SpaceMouse Compact") and dev.model == "spacemouse/256f:c635"
        api.feed(*encode_reports(COMPACT, operator_twist_to_raw([0, 1, 0, 0, 0, 0]), button_mask=0b10))
        assert wait_until(lambda: dev.read_latest().buttons == {"right"})
        cmd = dev.read_command()
        assert cmd.ok and cmd.pressed == (ButtonAction.RECORD_TOGGLE,)
        np.testing.assert_allclose(cmd.twist, [0, 1, 0, 0, 0, 0])
        first = mapper.update(cmd, now=0.0)
        out = mapper.update(dev.read_command(), now=0.1)
        assert dev.read_command().pressed == ()  # a press is reported once
        api.feed(*encode_reports(COMPACT, np.zeros(6), button_mask=0b01))
        assert wait_until(lambda: dev.read_latest().buttons == {"left"})
        toggled = mapper.update(dev.read_command(), now=0.2)
    # away from the operator = base -x at the station; 0.15 m/s full scale (minus deadzone: none at full)
    assert out.action.position[0] == pytest.approx(HOME[0] - 0.015)
    assert first.events == (ButtonAction.RECORD_TOGGLE,) and out.events == ()
    assert toggled.action.gripper == 1.0


def test_unplugged_mid_teleop_the_robot_holds_then_resumes_on_reconnect():
    api = FakeHidApi()
    dev = make_device("spacemouse", hid_api=api)
    dev._reconnect_interval = 0.02
    mapper = TeleopMapper(dev.settings.mapper)
    mapper.reset(HOME)
    with dev:
        api.feed(*encode_reports(COMPACT, operator_twist_to_raw([1, 0, 0, 0, 0, 0])))
        assert wait_until(lambda: dev.read_latest().twist[0] == 1.0)
        api.unplug()
        api.feed(b"\x01")  # wake the blocked read: it now raises OSError
        assert wait_until(lambda: dev.status is DeviceStatus.LOST)
        cmd = dev.read_command()
        held = mapper.update(cmd, now=1.0)
        assert held.hold and "SpaceMouse Compact lost" in held.message and "reconnecting" in held.message
        assert "\n" not in held.message
        np.testing.assert_allclose(cmd.twist, np.zeros(6))  # no stale deflection survives the loss
        api.plug_in()
        assert wait_until(lambda: dev.status is DeviceStatus.OK)
        assert "reconnected" in dev.message
        measured = HOME + [0.01, 0, 0, 0, 0, 0, 0]
        resumed = mapper.update(dev.read_command(), robot_pose=measured, now=1.5)
        assert not resumed.hold
        np.testing.assert_allclose(resumed.action.ee_pose, measured)
        api.feed(*encode_reports(COMPACT, operator_twist_to_raw([0, 0, 1, 0, 0, 0])))
        assert wait_until(lambda: dev.read_latest().twist[2] == 1.0)


def test_malformed_report_on_a_live_device_is_skipped_and_counted():
    api = FakeHidApi()
    with make_device("spacemouse", hid_api=api) as dev:
        api.feed(b"\x01\x00", *encode_reports(COMPACT, operator_twist_to_raw([0.5, 0, 0, 0, 0, 0])))
        assert wait_until(lambda: dev.read_latest().twist[0] == pytest.approx(0.5))
        assert dev.malformed_reports == 1
        cmd = dev.read_command()
        assert cmd.ok and "malformed" in cmd.message


def test_spacemouse_pro_family_buttons_map_to_all_recorder_actions():
    pro = KNOWN_MODELS[(0x256F, 0xC632)]
    api = FakeHidApi(0x256F, 0xC632)
    with make_device("spacemouse", hid_api=api) as dev:
        for bit in (12, 13, 14, 15):  # buttons 1..4
            api.feed(*encode_reports(pro, np.zeros(6), button_mask=1 << bit),
                     *encode_reports(pro, np.zeros(6), button_mask=0))
        assert wait_until(lambda: dev.read_latest().seq >= 16)  # 4 presses x (motion, buttons) x 2
        assert dev.read_command().pressed == (ButtonAction.RECORD, ButtonAction.STOP, ButtonAction.DISCARD,
                                              ButtonAction.MARK_RECOVERY)


def test_lab_listing_shows_a_connected_spacemouse_with_its_ids():
    from devices.teleop.discovery import list_devices

    listings = [d for d in list_devices(hid_api=FakeHidApi(0x256F, 0xC652)) if d.kind == "spacemouse"]
    assert [(d.spec, d.status) for d in listings] == [("spacemouse:256f:c652", "connected")]
    assert "combined 6-axis report" in listings[0].message and "/dev/hidraw7" in listings[0].message
    api = FakeHidApi()
    api.unplug()
    [missing] = [d for d in list_devices(hid_api=api) if d.kind == "spacemouse"]
    assert missing.status == "not found"
    dev = make_device("spacemouse:256f:c652", hid_api=FakeHidApi(0x256F, 0xC652))
    with dev:
        assert dev.model == "spacemouse/256f:c652"


def test_an_enumeration_failure_is_one_line_naming_the_backend():
    class Refusing(FakeHidApi):
        def enumerate(self, vendor_id=0, product_id=0):
            raise OSError("Access denied (insufficient permissions)")

    with pytest.raises(DeviceUnavailable) as err:
        make_device("spacemouse", hid_api=Refusing()).connect()
    assert "HID enumeration failed" in str(err.value) and "/dev/hidraw*" in str(err.value)
    assert "\n" not in str(err.value)
    api = FakeHidApi()
    with make_device("spacemouse", hid_api=api) as dev:
        assert (dev.transport.backend, dev.transport.device_file) == ("hidraw", "/dev/hidraw7")
