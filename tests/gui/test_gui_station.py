import numpy as np
import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui


def test_station_panel_shows_every_camera_and_moves_with_the_keyboard(make_window, qtbot):
    w = make_window()
    panel = w.panels["station"]
    with qtbot.waitSignal(w.ctx.station.frames, timeout=15000) as blocker:
        pass
    frames = blocker.args[0]
    assert set(frames) == {"scene", "wrist"}
    assert all(f.ndim == 3 and f.std() > 1 for f in frames.values())
    qtbot.waitUntil(lambda: all(v.has_image() for v in panel.live.views.values()), timeout=5000)
    poses = []
    w.ctx.station.status.connect(lambda s: poses.append(np.array(s["pose"][:3])))
    qtbot.waitUntil(lambda: len(poses) > 2, timeout=5000)
    start = poses[-1].copy()
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=2000)
    qtbot.keyPress(panel.live, Qt.Key.Key_R)  # up
    qtbot.wait(700)
    qtbot.keyRelease(panel.live, Qt.Key.Key_R)
    qtbot.wait(200)
    assert poses[-1][2] > start[2] + 0.02
    # robot status reaches the panel, the device list shows the keyboard connected
    qtbot.waitUntil(lambda: panel.pose_label.text().startswith("("), timeout=3000)
    assert panel.device_combo.currentText() == "Keyboard"
    qtbot.waitUntil(lambda: panel.device_light.state == "ok", timeout=3000)
    qtbot.waitUntil(lambda: "Hz" in panel.rate_label.text(), timeout=3000)
    qtbot.waitUntil(lambda: panel.camera_lights["scene"].state == "ok", timeout=3000)


def test_typing_in_a_text_field_never_moves_the_robot(make_window, qtbot):
    from PySide6.QtWidgets import QLineEdit

    w = make_window()
    field = QLineEdit(w.panels["station"])
    field.show()
    field.setFocus()
    qtbot.waitUntil(field.hasFocus, timeout=2000)
    qtbot.keyPress(field, Qt.Key.Key_R)
    qtbot.wait(50)
    assert not w.teleop_keys._held
    assert not np.any(w.ctx.station.keyboard.read_command().twist)
    assert field.text() == "r"


def test_disconnecting_the_keyboard_holds_the_robot(make_window, qtbot):
    w = make_window()
    panel = w.panels["station"]
    qtbot.waitUntil(lambda: w.ctx.station.ticks > 0, timeout=15000)
    panel.disconnect_selected()
    qtbot.waitUntil(lambda: w.ctx.station.agent_name == "hold", timeout=3000)
    assert panel.device_light.state == "idle"
    assert panel.axes.motion is None and not panel.axes.flip_boxes["y"].isEnabled()
    panel.connect_selected()
    qtbot.waitUntil(lambda: w.ctx.station.agent_name == "keyboard", timeout=3000)


def test_a_recorded_spacemouse_stream_drives_the_station(make_window, qtbot):
    """The device picker lists the demo stream; connecting it replays real HID reports through the
    SpaceMouse parser and the mapper into the live station."""
    w = make_window()
    panel = w.panels["station"]
    qtbot.waitUntil(lambda: w.ctx.station.ticks > 0, timeout=15000)
    names = [panel.device_combo.itemText(i) for i in range(panel.device_combo.count())]
    assert names[0] == "Keyboard" and "SpaceMouse demo (recorded stream)" in names
    panel.device_combo.setCurrentIndex(names.index("SpaceMouse demo (recorded stream)"))
    qtbot.waitUntil(lambda: "pose" in w.ctx.station.last_status, timeout=5000)
    start = np.array(w.ctx.station.last_status["pose"][:3])
    panel.connect_selected()
    qtbot.waitUntil(lambda: w.ctx.station.agent_name == "replay", timeout=10000)
    qtbot.waitUntil(lambda: panel.device_light.state == "ok", timeout=5000)
    # the axes view follows the connected device: the stream's reach reads "away", the robot's -x
    qtbot.waitUntil(lambda: panel.axes.words.text() == "away -> robot -x", timeout=10000)
    assert panel.axes.flip_boxes["y"].isEnabled()
    qtbot.waitUntil(lambda: np.linalg.norm(np.array(w.ctx.station.last_status["pose"][:3]) - start) > 0.02,
                    timeout=10000)
    panel.disconnect_selected()
    qtbot.waitUntil(lambda: w.ctx.station.agent_name == "hold", timeout=3000)
    assert panel.device_light.state == "idle"
    assert panel.axes.motion is None and not panel.axes.flip_boxes["y"].isEnabled()


def test_station_words_an_open_gripper_is_open_and_free_play_never_times_out(make_window, qtbot):
    w = make_window()
    panel = w.panels["station"]
    qtbot.waitUntil(lambda: panel.gripper_label.text() != "—", timeout=15000)
    assert panel.gripper_label.text().startswith("open")  # the hand starts open (gripper 0 = open)
    status = {}
    w.ctx.station.status.connect(status.update)
    qtbot.waitUntil(lambda: bool(status), timeout=5000)
    status.update(timed_out=True, done=True, success=False, time=25.0)  # past pick_place's 20 s
    panel._on_status(status)
    assert "timed out" not in panel.score_label.text() and "25.0 s" in panel.score_label.text()


def _window_driven_by_the_demo_stream(make_window, qtbot):
    """A new window whose Station panel has connected the recorded SpaceMouse stream."""
    w = make_window()
    panel = w.panels["station"]
    qtbot.waitUntil(lambda: w.ctx.station.ticks > 0, timeout=15000)
    names = [panel.device_combo.itemText(i) for i in range(panel.device_combo.count())]
    panel.device_combo.setCurrentIndex(names.index("SpaceMouse demo (recorded stream)"))
    panel.connect_selected()
    qtbot.waitUntil(lambda: w.ctx.station.agent_name == "replay", timeout=10000)
    return w, panel


def _x_moves_while(w, panel, qtbot, words: str, samples: int = 3) -> list[float]:
    """The robot's x displacement over each status tick for which the axes view reads ``words``."""
    moves: list[float] = []
    last = {"x": None}

    def on_status(status):
        x = float(status["pose"][0])
        if last["x"] is not None and panel.axes.words.text() == words:
            moves.append(x - last["x"])
        last["x"] = x

    w.ctx.station.status.connect(on_status)
    try:
        qtbot.waitUntil(lambda: len([m for m in moves if abs(m) > 1e-4]) >= samples, timeout=20000)
    finally:
        w.ctx.station.status.disconnect(on_status)
    return [m for m in moves if abs(m) > 1e-4]


def test_a_flip_in_the_window_reverses_the_robot_and_is_kept(make_window, qtbot):
    """The flip box in the Station panel reaches the agent that drives the robot (not only the
    axes view) and is saved with the device, so the next window starts flipped."""
    w, panel = _window_driven_by_the_demo_stream(make_window, qtbot)
    qtbot.waitUntil(lambda: panel.axes.words.text() == "away -> robot -x", timeout=10000)
    before = _x_moves_while(w, panel, qtbot, "away -> robot -x")
    assert np.median(before) < 0
    axis = "y"  # the operator axis whose motion reads "away" (devices.teleop.axes.OPERATOR_WORDS)
    panel.axes.flip_boxes[axis].setChecked(True)
    panel.disconnect_selected()  # the recorded stream plays once: play it again, now flipped
    qtbot.waitUntil(lambda: w.ctx.station.agent_name == "hold", timeout=3000)
    panel.connect_selected()
    qtbot.waitUntil(lambda: w.ctx.station.agent_name == "replay", timeout=10000)
    # a flip corrects the device's reading: the same push now reads "toward you", which the
    # operator frame maps to robot +x, and the robot follows
    qtbot.waitUntil(lambda: panel.axes.words.text() == "toward you -> robot +x", timeout=10000)
    after = _x_moves_while(w, panel, qtbot, "toward you -> robot +x")
    assert np.median(after) > 0, "the axes view flipped but the robot still moves the old way"
    panel.disconnect_selected()
    qtbot.waitUntil(lambda: w.ctx.station.agent_name == "hold", timeout=3000)
    w.close()

    _, panel = _window_driven_by_the_demo_stream(make_window, qtbot)
    assert panel.axes.flip_boxes[axis].isChecked()
    assert not any(box.isChecked() for a, box in panel.axes.flip_boxes.items() if a != axis)
    qtbot.waitUntil(lambda: panel.axes.words.text() == "toward you -> robot +x", timeout=10000)

