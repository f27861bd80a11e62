"""The axes view (#17 what-must-hold 3): a connected SpaceMouse's live motion drawn in the operator's
and the robot's frame, and a flip switch per axis saved in the device settings — on a SpaceMouse whose
only stand-in is the ``hid`` handle (byte-exact reports)."""

import json

import numpy as np
import pytest
from teleop_fakes import FakeHidApi, wait_until

from devices.teleop import SettingsStore, make_device

pytestmark = pytest.mark.gui

PUSH_AWAY = bytes([1]) + np.array([0, -280, 0], "<i2").tobytes()  # HID y counts toward the user: negative = away


def test_pushing_the_cap_away_shows_away_and_robot_minus_x_and_a_flip_is_saved(qtbot, tmp_path):
    from app.gui.axes_view import AxesView

    view = AxesView(interval_ms=20)
    qtbot.addWidget(view)
    view.show()
    assert view.motion is None and "connect a device" in view.words.text()
    api = FakeHidApi()
    store = SettingsStore(tmp_path / "s.json")
    used = []
    with make_device("spacemouse", hid_api=api, store=store) as dev:
        view.set_device(dev, used.append)
        api.feed(PUSH_AWAY)
        assert wait_until(lambda: dev.read_latest() is not None)
        qtbot.waitUntil(lambda: view.words.text() == "away -> robot -x", timeout=3000)
        np.testing.assert_allclose(view.robot_pane.vector[:3], [-0.8, 0, 0], atol=1e-9)
        assert view.grab().width() > 0  # both panes paint (offscreen)
        view.flip_boxes["y"].click()
        qtbot.waitUntil(lambda: view.words.text() == "toward you -> robot +x", timeout=3000)
        assert used and used[-1].axis_flip == (False, True, False, False, False, False)
        assert dev.settings.mapper.axis_flip[1]
    saved = json.loads((tmp_path / "s.json").read_text())["devices"]["spacemouse/256f:c635"]["mapper"]
    assert saved["axis_flip"] == [False, True, False, False, False, False]
    qtbot.waitUntil(lambda: view.motion is None, timeout=3000)  # disconnected: nothing shown


def test_the_view_does_not_take_button_presses_from_the_mapper(qtbot):
    from app.gui.axes_view import AxesView
    from devices.teleop import ButtonAction
    from devices.teleop.spacemouse import KNOWN_MODELS, encode_reports

    view = AxesView(interval_ms=5)
    qtbot.addWidget(view)
    api = FakeHidApi()
    with make_device("spacemouse", hid_api=api) as dev:
        view.set_device(dev)
        compact = KNOWN_MODELS[(0x256F, 0xC635)]
        api.feed(*encode_reports(compact, np.zeros(6), button_mask=0b10), *encode_reports(compact, np.zeros(6), 0))
        assert wait_until(lambda: dev.read_latest().seq >= 4)
        qtbot.wait(50)  # the view polled several times
        assert dev.read_command().pressed == (ButtonAction.RECORD_TOGGLE,)
