"""The small reusable widgets: plot, image view, status light, settings."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from app.gui.image_view import ImageView, to_qimage
from app.gui.plot_widget import PlotWidget, Span, envelope, format_ticks, nice_ticks
from app.gui.settings import open_settings, read
from app.gui.status_light import StatusLight

pytestmark = pytest.mark.gui


def test_nice_ticks_are_round_and_cover_the_range():
    assert nice_ticks(0, 10, 5) == [0, 2, 4, 6, 8, 10]
    t = nice_ticks(-0.37, 0.81, 4)
    assert t[0] >= -0.37 and t[-1] <= 0.81 and len(t) >= 3
    assert all(abs(round(v / 0.2) * 0.2 - v) < 1e-9 for v in t)


def test_envelope_keeps_extremes_of_a_long_series():
    x = np.arange(100_000, dtype=float)
    y = np.sin(x / 500.0)
    y[54321] = 9.0
    xs, ys = envelope(x, y, 200)
    assert len(xs) <= 400
    assert ys.max() == 9.0 and np.isclose(ys.min(), y.min())
    assert np.all(np.diff(xs) >= 0)


def _painted_colours(widget) -> set:
    img = widget.grab().toImage()
    return {img.pixelColor(x, y).name() for x in range(0, img.width(), 3) for y in range(0, img.height(), 3)}


def test_plot_draws_series_spans_and_reports_clicks(qtbot):
    plot = PlotWidget("loss", x_label="step", log_y=True)
    qtbot.addWidget(plot)
    plot.resize(400, 240)
    plot.show()
    before = _painted_colours(plot)
    for i in range(1, 200):
        plot.append("train", i, 1.0 / i)
    plot.set_spans([Span(20, 60)])
    plot.set_cursor(100)
    after = _painted_colours(plot)
    assert "#4c9be8" in after and "#4c9be8" not in before  # the first series colour is drawn
    assert plot.series("train").x.shape == (199,)
    clicks = []
    plot.clicked.connect(clicks.append)
    r = plot._plot_rect()
    qtbot.mouseClick(plot, Qt.MouseButton.LeftButton, pos=QPoint(int(r.center().x()), int(r.center().y())))
    assert clicks and 80 < clicks[0] < 120
    with pytest.raises(ValueError):
        plot.set_series("bad", [1, 2], [1])


def test_image_view_draws_frame_and_overlay(qtbot):
    view = ImageView("scene")
    qtbot.addWidget(view)
    view.resize(200, 200)
    view.show()
    img = np.zeros((32, 32, 3), np.uint8)
    img[..., 2] = 200
    view.set_image(img)
    view.set_overlay(np.array([[2, 2], [30, 30], [np.nan, np.nan]]))
    grabbed = view.grab().toImage()
    centre = grabbed.pixelColor(100, 100)
    corner = grabbed.pixelColor(100, 30)
    assert centre.green() > 150  # the overlay line crosses the centre
    assert corner.blue() > 150 and corner.green() < 100  # the frame fills the widget
    with pytest.raises(ValueError):
        to_qimage(np.zeros((4, 4), np.uint8))


def test_status_light_rejects_unknown_states(qtbot):
    light = StatusLight("x")
    qtbot.addWidget(light)
    light.set_state("error", "broken")
    assert light.state == "error" and light.text() == "broken"
    with pytest.raises(ValueError):
        light.set_state("purple")


def test_settings_are_typed_and_a_newer_file_is_not_misread(tmp_path):
    path = tmp_path / "gui.ini"
    s = open_settings(path)
    s.setValue("record/operator", "ada")
    s.setValue("train/steps", 300)
    s.setValue("flag", True)
    s.sync()
    s2 = open_settings(path)
    assert read(s2, "record/operator", "") == "ada"
    assert read(s2, "train/steps", 0) == 300
    assert read(s2, "flag", False) is True
    assert read(s2, "missing", 1.5) == 1.5
    s2.setValue("train/steps", "not a number")
    assert read(s2, "train/steps", 7) == 7
    s2.setValue("settings_version", 99)
    s2.sync()
    s3 = open_settings(path)
    assert read(s3, "record/operator", "") == ""  # a newer format is not guessed at


def test_tick_labels_never_repeat_when_the_range_is_narrow():
    ticks = nice_ticks(1.1745, 1.1751, 8)
    labels = format_ticks(ticks)
    assert len(set(labels)) == len(labels) == len(ticks)
    assert labels[0] == "1.1745"
    assert format_ticks(nice_ticks(0, 6, 6)) == ["0", "1", "2", "3", "4", "5", "6"]  # plain ranges stay plain
