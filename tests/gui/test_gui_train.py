"""Train panel plumbing: the command line it builds, the metrics it follows, a failing run reported."""

import pytest

from app.gui.metrics_tail import MetricsTail
from app.gui.train_runs import TrainSpec

pytestmark = pytest.mark.gui


def test_the_form_becomes_the_train_command_line():
    spec = TrainSpec(dataset="/d", out="/r", head="transformer", objective="flow", steps=50, batch_size=8,
                     device="cpu", tags=["good"], exclude_tags=["bad"], outcomes=["success"], time_limit_min=2)
    argv = spec.argv()
    assert argv[:4] == ["train", "/d", "--out", "/r"]
    for flag, value in (("--head", "transformer"), ("--objective", "flow"), ("--steps", "50"), ("--device", "cpu"),
                        ("--batch-size", "8"), ("--tag", "good"), ("--exclude-tag", "bad"), ("--outcome", "success"),
                        ("--time-limit", "2")):
        assert argv[argv.index(flag) + 1] == value
    assert "--json" in argv
    with pytest.raises(ValueError, match="dataset"):
        TrainSpec(dataset="", out="/r").argv()
    with pytest.raises(ValueError, match="one step"):
        TrainSpec(dataset="/d", out="/r", steps=0).argv()


def test_metrics_tail_returns_only_complete_new_rows(tmp_path):
    path = tmp_path / "metrics.csv"
    tail = MetricsTail(path)
    assert tail.poll() == []
    path.write_text("step,time_s,loss,val_loss\n1,0.1,0.9,\n2,0.2,0.8")
    rows = tail.poll()
    assert rows == [{"step": 1.0, "time_s": 0.1, "loss": 0.9, "val_loss": None}]
    with open(path, "a") as f:
        f.write(",0.7\n3,0.3,nan,\n")
    rows = tail.poll()
    assert [r["step"] for r in rows] == [2.0, 3.0] and rows[0]["val_loss"] == 0.7 and rows[1]["loss"] is None
    path.write_text("step,loss\n1,0.5\n")  # a new run replaced the file
    assert tail.poll() == [{"step": 1.0, "loss": 0.5}]


def _train_panel():
    from app.gui.panels.train import TrainPanel

    return [TrainPanel]


def test_a_run_that_cannot_train_is_reported_as_failed(make_window, qtbot, tmp_path):
    w = make_window(panels=_train_panel(), start_station=False)
    panel = w.panels["train"]
    panel.dataset_edit.setText(str(tmp_path / "nowhere"))
    assert panel.start_training() is None  # checked before any process starts
    assert "no dataset at" in w.ctx.messages.history[-1][1]  # the reading commands' one rule (recorder.dataset.require_dataset)
    (tmp_path / "empty" / "episodes").mkdir(parents=True)
    panel.dataset_edit.setText(str(tmp_path / "empty"))
    panel.steps_spin.setValue(5)
    run = panel.start_training()
    assert run is not None and run.is_running()
    qtbot.waitUntil(lambda: not run.is_running(), timeout=120000)
    assert run.state == "failed" and run.error
    assert panel.table.item(0, 1).text() == "failed"
    assert any(s == "error" and "Training failed" in t for s, t in w.ctx.messages.history)


def test_stop_ends_a_run_as_stopped_with_a_checkpoint_at_the_step_it_reached(make_window, qtbot, tmp_path):
    import json

    from app.gui.train_runs import TrainRun
    from policy.checkpoint import load_policy
    from tests.episode_files import tiny_run_config, write_dataset

    data = write_dataset(tmp_path / "data", episodes=3, length=12, image_size=32)
    cfg = tiny_run_config().to_dict()
    cfg["train"].update(log_every=1, save_every=100000, val_every=100000)  # only the stop saves
    cfg["train"].pop("device")
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    w = make_window(panels=_train_panel(), start_station=False)
    panel = w.panels["train"]
    panel.dataset_edit.setText(str(data))
    panel.out_edit.setText(str(tmp_path / "run"))
    panel.config_edit.setText(str(tmp_path / "cfg.json"))
    panel.steps_spin.setValue(100000)
    run = panel.start_training()
    assert run is not None
    qtbot.waitUntil(lambda: run.step >= 1 or not run.is_running(), timeout=120000)
    assert run.is_running(), run.error or "\n".join(run.log[-5:])
    panel.stop_selected()  # SIGINT to the process, as Ctrl+C
    qtbot.waitUntil(lambda: not run.is_running(), timeout=120000)
    assert run.state == "stopped", run.error or "\n".join(run.log[-5:])
    assert panel.table.item(0, 1).text() == "stopped"
    assert not any(s == "error" for s, _ in w.ctx.messages.history)
    assert run.summary["stopped"] is True and run.step == run.summary["step"]
    _, ckpt = load_policy(run.run_dir)  # what "use this run" hands to the Run panel loads
    assert ckpt.step == run.step
    assert TrainRun.open(run.run_dir).state == "stopped"  # and it still reads "stopped" when reopened
