"""The lab's own cameras (camera config file): listed, connected, shown live and recorded."""

import h5py
import pytest

from devices.cameras.config import CameraConfig, save_camera_configs
from devices.cameras.test_pattern import write_pattern_video

pytestmark = pytest.mark.gui


def test_a_configured_camera_is_shown_and_recorded(make_window, qtbot, tmp_path, monkeypatch):
    video = write_pattern_video(tmp_path / "bench.avi", frames=30, fps=15, width=64, height=48)
    save_camera_configs([CameraConfig(name="bench", kind="video", width=48, height=48, fps=15,
                                      options={"path": str(video)}),
                         CameraConfig(name="nowhere", kind="video", options={"path": str(tmp_path / "missing.avi")})])
    w = make_window()
    station = w.panels["station"]
    qtbot.waitUntil(lambda: w.ctx.station.is_alive, timeout=20000)
    assert set(station.external_lights) == {"bench", "nowhere"}
    assert station.external_lights["bench"].state == "idle"
    station._toggle_camera("nowhere")
    qtbot.waitUntil(lambda: station.external_lights.get("nowhere") is not None
                    and station.external_lights["nowhere"].state == "error", timeout=10000)
    station._toggle_camera("bench")
    qtbot.waitUntil(lambda: "bench" in w.ctx.cameras.connected(), timeout=10000)
    qtbot.waitUntil(lambda: "bench" in station.live.views and station.live.views["bench"].has_image(), timeout=10000)
    qtbot.waitUntil(lambda: station.external_lights["bench"].state == "ok", timeout=5000)

    w.show_panel("record")
    rec = w.panels["record"]
    rec.dataset_edit.setText(str(tmp_path / "ds"))
    rec.auto_end_check.setChecked(False)
    assert rec.command("start")
    qtbot.waitUntil(lambda: rec.controller.state in ("recording", "idle"), timeout=15000)
    assert rec.controller.state == "recording", w.ctx.messages.history[-2:]
    qtbot.waitUntil(lambda: "bench" in rec.live.views and rec.live.views["bench"].has_image(), timeout=5000)
    qtbot.wait(1200)
    assert rec.command("stop")
    qtbot.waitUntil(lambda: rec.controller.state == "idle" and rec.controller.counts.kept == 1, timeout=15000)
    (path,) = (tmp_path / "ds" / "episodes").glob("*.h5")
    with h5py.File(path) as f:
        n = len(f["time"])
        assert f["obs/images/bench"].shape == (n, 48, 48, 3)
        assert f["obs/images/scene"].shape[0] == n
    station._toggle_camera("bench")
    assert "bench" not in w.ctx.cameras.connected()
