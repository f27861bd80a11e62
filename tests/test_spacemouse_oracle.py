"""Our SpaceMouse parser against an independent decoder: pyspacemouse 2.1.0 (an optional test
dependency in the ``dev`` extra; this file skips only when it is not installed).

Axis semantics come from the USB HID Usage Tables (1.4+), Generic Desktop page (0x01), usages 0x30-0x35:
X (0x30) is a linear translation from left to right, Y (0x31) from far to near (toward the user),
Z (0x32) from high to low (down); Rx/Ry/Rz (0x33-0x35) are rotations about those axes by the
right-hand rule. A SpaceMouse reports them as little-endian signed 16-bit counts, about ±350 at full
deflection. Our operator frame is x right, y away from the user, z up: the HID frame turned half a
turn about x, so y, z and the rotations about them change sign. pyspacemouse calls exactly that
convention ``AxisConvention.HID_Z_UP`` ("Translation: X=+HID_x, Y=-HID_y (away from user),
Z=-HID_z (up). Rotation: roll=+HID_Rx, pitch=-HID_Ry, yaw=-HID_Rz"), so after
``apply_axis_convention(spec, HID_Z_UP)`` its (x, y, z, roll, pitch, yaw) must equal our twist
(tx, ty, tz, rx, ry, rz), axis for axis.

The reports are built here byte by byte with ``struct`` (not with our encoder), in each model's own
layout: separate translation (id 1, 7 bytes) and rotation (id 2, 7 bytes) reports for the older and
wired models, one combined 13-byte report id 1 for the newer ones; pyspacemouse's ``devices.toml``
says which (its rotation axes read channel 2 or channel 1). They go through pyspacemouse's own
``SpaceMouseDevice.read`` via a stand-in for the easyhid handle (the outermost edge: it only hands
back the bytes), and through our ``SpaceMouseParser``.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from devices.teleop.spacemouse import KNOWN_MODELS, SpaceMouseParser

pyspacemouse = pytest.importorskip("pyspacemouse")

AXES = ("x", "y", "z", "roll", "pitch", "yaw")
SPECS = pyspacemouse.get_device_specs()


class ReportHandle:
    """The easyhid ``Device`` surface pyspacemouse's ``read`` uses: ``read(size)`` → one report."""

    def __init__(self) -> None:
        self.reports: list[bytes] = []

    def read(self, size: int) -> bytes:
        return self.reports.pop(0)[:size] if self.reports else b""

    def close(self) -> None:
        pass


def _oracle(name: str):
    info = pyspacemouse.apply_axis_convention(SPECS[name], pyspacemouse.AxisConvention.HID_Z_UP)
    handle = ReportHandle()
    return pyspacemouse.SpaceMouseDevice(info, device=handle), handle


def _combined(name: str) -> bool:
    """pyspacemouse's view of the layout: rotation on channel 1 means one 13-byte report."""
    return SPECS[name].mappings["yaw"].channel == 1


def _reports(counts, combined: bool) -> list[bytes]:
    c = [int(v) for v in counts]
    if combined:
        return [struct.pack("<B6h", 1, *c)]
    return [struct.pack("<B3h", 1, *c[:3]), struct.pack("<B3h", 2, *c[3:])]


def _axis_cases() -> list[np.ndarray]:
    cases = []
    for i in range(6):
        for v in (350, -350, 123, -7):
            a = np.zeros(6, int)
            a[i] = v
            cases.append(a)
    rng = np.random.default_rng(17)
    cases += list(rng.integers(-350, 351, size=(12, 6)))
    return cases


def test_pyspacemouse_lists_no_model_we_do_not_know_and_agrees_on_each_layout():
    assert {"SpaceNavigator", "SpaceMouseCompact", "UniversalReceiver"} <= set(SPECS)  # the oracle is real
    for name, spec in SPECS.items():
        ours = KNOWN_MODELS.get((spec.vendor_id, spec.product_id))
        assert ours is not None, f"pyspacemouse knows {name} {spec.vendor_id:04x}:{spec.product_id:04x}"
        assert ours.combined_report == _combined(name), name


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_axis_decodes_as_pyspacemouse_decodes_it(name):
    spec = SPECS[name]
    model = KNOWN_MODELS[(spec.vendor_id, spec.product_id)]
    combined = _combined(name)
    device, handle = _oracle(name)
    parser = SpaceMouseParser(model)
    for counts in _axis_cases():
        reports = _reports(counts, combined)
        assert [len(r) for r in reports] == ([13] if combined else [7, 7])
        for report in reports:
            handle.reports.append(report)
            device.read()
            assert parser.feed(report)
        state = device.read()  # nothing queued: the state the reports built
        theirs = np.array([getattr(state, a) for a in AXES])
        np.testing.assert_allclose(parser.twist, theirs, atol=1e-12, err_msg=f"{name} counts {counts.tolist()}")


def test_a_captured_spacenavigator_rotation_report_agrees():
    """A SpaceNavigator capture, ``02 00 00 e2 ff 00 00``: Ry = -30 counts."""
    device, handle = _oracle("SpaceNavigator")
    parser = SpaceMouseParser(KNOWN_MODELS[(0x046D, 0xC626)])
    report = bytes.fromhex("020000e2ff0000")
    handle.reports.append(report)
    state = device.read()
    parser.feed(report)
    assert state.pitch == pytest.approx(30 / 350) and parser.twist[4] == pytest.approx(state.pitch)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_each_button_is_one_distinct_button_in_both_decoders(name):
    """Every button pyspacemouse lists, pressed alone in a byte-exact report id 3, is exactly one held
    button for us too, and different buttons stay different."""
    spec = SPECS[name]
    if not spec.button_specs:
        return  # the SpaceMouse (USB) has none
    model = KNOWN_MODELS[(spec.vendor_id, spec.product_id)]
    device, handle = _oracle(name)
    parser = SpaceMouseParser(model)
    length = max(b.byte for b in spec.button_specs) + 1
    ours_by_theirs = {}
    for index, b in enumerate(spec.button_specs):
        assert b.channel == 3
        report = bytearray(length)
        report[0] = 3
        report[b.byte] = 1 << b.bit
        handle.reports.append(bytes(report))
        state = device.read()
        assert [i for i, v in enumerate(state.buttons) if v] == [index]
        parser.feed(bytes(report))
        assert len(parser.buttons) == 1, (name, spec.button_names[index], parser.buttons)
        ours_by_theirs[spec.button_names[index]] = next(iter(parser.buttons))
    assert len(set(ours_by_theirs.values())) == len(ours_by_theirs), ours_by_theirs
    unnamed = [t for t, o in ours_by_theirs.items() if o.startswith("button")]
    assert not unnamed, f"{name}: buttons pyspacemouse names that we leave unnamed: {unnamed}"
