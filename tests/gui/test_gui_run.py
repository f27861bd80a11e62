"""Run panel: the chunk projection, and a policy (the expert served as chunks) driving the live station
with e-stop, take-over and the episode counter."""

import numpy as np
import pytest

from app.gui.policy_run import CameraPose, camera_pose, project_points

pytestmark = pytest.mark.gui


def test_projection_conventions():
    cam = CameraPose(position=np.zeros(3), rotation=np.eye(3), fovy_deg=90.0)  # looks along -z, y up
    px = project_points(np.array([[0, 0, -1], [0.5, 0, -1], [0, 0.5, -1], [0, 0, 1]]), cam, 101, 101)
    assert np.allclose(px[0], [50, 50])
    assert px[1, 0] > 50 and np.isclose(px[1, 1], 50)  # right of centre
    assert px[2, 1] < 50  # up in the world is up in the image (smaller row)
    assert np.isnan(px[3]).all()  # behind the camera


def test_the_cube_projects_onto_red_pixels_of_the_scene_render():
    """The projection matches MuJoCo's own rendering: the cube's centre lands on the red cube."""
    from devices.sim.station import make_station

    st = make_station("pick_place", image_size=160)
    st.connect()
    try:
        st.reset(3)
        image = st.render("scene")
        cube = st.task_state()["cube_pos"] if "cube_pos" in st.task_state() else next(
            v for k, v in st.task_state().items() if "pos" in k)
        u, v = project_points(np.asarray(cube)[None, :3], camera_pose(st, "scene"), 160, 160)[0]
        r, g, b = image[int(round(v)), int(round(u))].astype(int)
        assert r > 100 and r > 2 * g and r > 2 * b, (u, v, (r, g, b))
    finally:
        st.disconnect()


def _panels():
    from app.gui.panels.run import RunPanel
    from app.gui.panels.station import StationPanel

    return [StationPanel, RunPanel]


def test_a_policy_runs_in_the_station_with_overlay_estop_and_take_over(make_window, qtbot):
    w = make_window(panels=_panels())
    w.show_panel("run")
    panel = w.panels["run"]
    c = panel.controller
    qtbot.waitUntil(lambda: w.ctx.station.is_alive, timeout=15000)
    assert panel.source() == "expert"
    assert panel.start()
    qtbot.waitUntil(lambda: c.state == "running", timeout=20000)
    scene = panel.live.views["scene"]
    qtbot.waitUntil(lambda: scene._overlay is not None and np.isfinite(scene._overlay).any(), timeout=10000)
    assert scene._overlay.shape[1] == 2 and len(scene._overlay) >= 8
    assert w.ctx.station.externally_driven

    # emergency stop: the arm holds still
    panel.emergency_stop()
    assert c.estopped and panel.run_light.state == "error"
    qtbot.wait(400)
    p0 = np.array(w.ctx.station.last_status["pose"][:3])
    qtbot.wait(600)
    assert np.linalg.norm(np.array(w.ctx.station.last_status["pose"][:3]) - p0) < 0.01
    panel.release_estop()
    assert not c.estopped

    # take over with the keyboard, then hand back
    panel.takeover_button.setChecked(True)
    qtbot.waitUntil(lambda: c.active_source == "teleop", timeout=3000)
    panel.takeover_button.setChecked(False)
    qtbot.waitUntil(lambda: c.active_source == "policy", timeout=3000)

    # the expert finishes the task: the counter counts it
    qtbot.waitUntil(lambda: len(c.stats.episodes) >= 1, timeout=40000)
    assert c.stats.episodes[0].took_over
    assert panel.counter_label.text().endswith("/ 1") or "/ " in panel.counter_label.text()
    c.continuous = False
    qtbot.waitUntil(lambda: c.state == "running", timeout=20000)
    assert c.stop()
    qtbot.waitUntil(lambda: c.state == "idle", timeout=20000)
    assert not w.ctx.station.externally_driven


def test_the_sweep_plot_draws_one_line_per_perturbation(make_window, qtbot):
    w = make_window(panels=_panels(), start_station=False)
    panel = w.panels["run"]
    report = {"task": "pick_place", "policy": "expert", "episodes_per_cell": 2,
              "baseline": {"perturbation": "none", "severity": 0.0, "success_rate": 1.0},
              "cells": [{"perturbation": p, "severity": s, "success_rate": r}
                        for p, rates in (("lighting", (1.0, 0.5, 0.0)), ("camera_pose", (1.0, 1.0, 0.5)))
                        for s, r in zip((0.25, 0.5, 1.0), rates, strict=True)]}
    panel.show_sweep(report)
    assert sorted(panel.sweep_plot.series_names()) == ["camera_pose", "lighting"]
    s = panel.sweep_plot.series("lighting")
    assert list(s.x) == [0.0, 0.25, 0.5, 1.0] and list(s.y) == [1.0, 1.0, 0.5, 0.0]


def _sweep_panel(make_window, tmp_path):
    w = make_window(panels=_panels(), start_station=False)
    w.ctx.settings.setValue("dataset/last", str(tmp_path / "dataset"))  # the expert's sweep goes beside it
    panel = w.panels["run"]
    panel.sweep_episodes.setValue(1)
    return w, panel


def test_the_sweep_reports_each_rollout_on_a_determinate_bar_to_the_end(make_window, qtbot, tmp_path):
    from devices.sim.perturbations import perturbation_names

    w, panel = _sweep_panel(make_window, tmp_path)
    total = 1 + 3 * len(perturbation_names())
    labels = []
    panel.sweep_progress.valueChanged.connect(lambda v: labels.append(panel.sweep_label.text()))
    panel.toggle_sweep()
    assert panel.sweep_progress.maximum() == 0  # busy while the policy loads
    qtbot.waitUntil(lambda: panel._sweep is None, timeout=120000)
    assert panel.sweep_progress.maximum() == total and panel.sweep_progress.value() == total
    assert labels[0].startswith(f"rollout 1 / {total} — baseline — seed 0: success")
    assert len(labels) == total  # one step per rollout
    assert any(t.startswith(f"rollout {total} / {total} — ") and ", severity 1 — " in t for t in labels)
    assert panel.sweep_label.text() == f"report: {tmp_path / 'sweep-expert'}"
    assert sorted(panel.sweep_plot.series_names()) == sorted(perturbation_names())


def test_cancelling_the_sweep_stops_it_and_says_nothing_was_written(make_window, qtbot, tmp_path):
    w, panel = _sweep_panel(make_window, tmp_path)
    panel.sweep_episodes.setValue(50)
    panel.toggle_sweep()
    qtbot.waitUntil(lambda: panel.sweep_progress.value() >= 1, timeout=60000)
    assert panel.sweep_label.text().startswith("rollout 1 / 800 — baseline — seed 0: ")
    panel.toggle_sweep()  # the same button cancels
    assert panel.sweep_button.text() == "Cancelling…" and not panel.sweep_button.isEnabled()
    qtbot.waitUntil(lambda: panel._sweep is None, timeout=30000)
    assert panel.sweep_label.text().startswith("sweep cancelled after ")
    assert "no report written" in panel.sweep_label.text()
    assert panel.sweep_button.text() == "Run sweep" and panel.sweep_button.isEnabled()
    assert not (tmp_path / "sweep-expert" / "sweep.json").exists()
    assert not any(sev == "error" for sev, _ in w.ctx.messages.history)


def test_the_comparison_view_shows_every_cell_of_the_report(make_window, tmp_path):
    from policy.compare import compare_checkpoints, compare_markdown
    from policy.evaluation import EvalSettings, ExpertAgent, expert_chunk_agent

    report = compare_checkpoints([("expert", "expert", ExpertAgent(), EvalSettings(episodes=1)),
                                  ("chunks", "expert-chunks", expert_chunk_agent(), EvalSettings(episodes=1))],
                                 severities=(1.0,), perturbations=["lighting"])
    w, panel = _sweep_panel(make_window, tmp_path)
    assert not panel.comparison_table.isVisibleTo(panel)
    panel.show_comparison(report.summary())
    table = panel.comparison_table
    assert table.isVisibleTo(panel)
    assert [table.horizontalHeaderItem(j).text() for j in range(table.columnCount())] == \
        ["perturbation", "severity", "expert", "chunks"]
    md_rows = [[c.strip() for c in line.strip("|").split("|")] for line in compare_markdown(report).splitlines()
               if line.startswith("| baseline") or line.startswith("| lighting")]
    assert table.cell_texts() == md_rows  # the view says what compare.md says
    assert sorted(panel.sweep_plot.series_names()) == ["chunks", "expert"]


def test_compare_every_source_runs_one_eval_over_all_of_them(make_window, tmp_path):
    w, panel = _sweep_panel(make_window, tmp_path)
    panel.sweep_compare.setChecked(True)
    with pytest.raises(ValueError, match="at least two sources"):
        panel.sweep_command()
    run = tmp_path / "runs" / "pick"
    panel.add_source(str(run), select=False)
    args, out = panel.sweep_command()
    assert args[:5] == ["-m", "app", "eval", "expert-chunks", str(run)] and "--sweep" in args
    assert out == tmp_path / "compare" and args[args.index("--out") + 1] == str(out)
    panel.sweep_compare.setChecked(False)
    args, out = panel.sweep_command()
    assert args[3:4] == ["expert-chunks"] and str(run) not in args and out == tmp_path / "sweep-expert"

