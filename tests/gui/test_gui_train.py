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


def test_an_untouched_form_is_demostation_train_with_no_flags(make_window, tmp_path):
    """The panel's defaults are the command's: the same command line, the same configuration."""
    from app.cli import build_parser
    from app.commands.train import build_config

    w = make_window(panels=_train_panel(), start_station=False)
    panel = w.panels["train"]
    panel.dataset_edit.setText("/d")
    panel.out_edit.setText("/r")
    argv = panel.spec().argv()
    assert argv == ["train", "/d", "--out", "/r", "--json"]
    from_panel = build_config(build_parser().parse_args(argv))
    from_cli = build_config(build_parser().parse_args(["train", "/d", "--out", "/r"]))
    assert from_panel.to_dict() == from_cli.to_dict()
    # On this CPU machine that is the cpu preset: transformer head, flow matching (the measured recipe).
    assert from_cli.policy.head == "transformer" and from_cli.policy.objective == "flow"


def test_the_form_shows_the_presets_own_values_and_facts(make_window):
    from app.gui.panels.train import HEADS as HEAD_WORDS
    from app.gui.panels.train import OBJECTIVES as OBJECTIVE_WORDS
    from policy.config import preset
    from policy.heads import HEADS
    from policy.objectives import OBJECTIVES
    from policy.preset_facts import PRESET_FACTS

    assert set(HEAD_WORDS) == set(HEADS) and set(OBJECTIVE_WORDS) == set(OBJECTIVES)
    w = make_window(panels=_train_panel(), start_station=False)
    panel = w.panels["train"]
    assert panel.preset_combo.currentData() == "auto"
    assert [panel.preset_combo.itemData(i) for i in range(panel.preset_combo.count())] == list(PRESET_FACTS)
    assert panel.head_combo.currentText() == "preset: cpu Transformer, gpu U-Net"  # auto: either, by machine
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("cpu"))
    cpu = preset("cpu")
    assert panel.head_combo.currentText() == "preset (Transformer)" and panel.head_combo.currentData() == ""
    assert panel.objective_combo.currentText() == "preset (flow matching)"
    assert panel.steps_spin.value() == 0 and f"{cpu.train.steps:,}" in panel.steps_spin.specialValueText()
    assert str(cpu.train.batch_size) in panel.batch_spin.specialValueText()
    assert PRESET_FACTS["cpu"].achieved.split(";")[0].split(" (")[0] in panel.preset_facts.text()
    # A choice that differs from the preset is passed; the preset's own choice is not.
    panel.head_combo.setCurrentIndex(panel.head_combo.findData("unet"))
    panel.dataset_edit.setText("/d")
    argv = panel.spec().argv()
    assert argv[argv.index("--head") + 1] == "unet" and argv[argv.index("--preset") + 1] == "cpu"
    assert "--objective" not in argv and "--steps" not in argv and "--outcome" not in argv
