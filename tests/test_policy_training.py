import csv
import json

import pytest
import torch
from episode_files import tiny_run_config, write_dataset

from policy.checkpoint import read_checkpoint
from policy.tb_events import crc32c, read_scalars
from policy.trainer import train
from recorder.dataset import Dataset
from recorder.jobs import Cancelled

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data"), episodes=3, length=12, image_size=32)


def test_training_writes_checkpoints_metrics_and_tensorboard(data, tmp_path):
    run = tmp_path / "run"
    calls = []
    result = train(lambda: Dataset(data), run, tiny_run_config(),
                   progress=lambda d, t, m="": calls.append((d, t)))
    assert result.steps == 6 and result.episodes == 2 and result.val_episodes == 1
    assert result.best_val_loss is not None and result.device == "cpu"
    assert calls[-1] == (6, 6)
    rows = list(csv.DictReader((run / "metrics.csv").read_text().splitlines()))
    assert [int(r["step"]) for r in rows] == [2, 3, 4, 6] and rows[1]["val_loss"]
    tb = read_scalars(next((run / "tb").glob("events.out.tfevents.*")))
    assert (6, "train/loss", pytest.approx(float(rows[-1]["loss"]), rel=1e-6)) in tb
    assert any(tag == "val/loss" for _, tag, _ in tb)
    best, last = read_checkpoint(run / "checkpoints/best.safetensors"), read_checkpoint(run / "checkpoints/last.safetensors")
    assert last.step == 6 and last.meta["dataset"]["fingerprint"] == result.dataset_fingerprint
    assert "optim_groups" in last.meta and "optim_groups" not in best.meta
    assert last.meta["normalizer"]["action"]["low"] and json.loads((run / "config.json").read_text())["policy"]["horizon"] == 8
    # "auto" is saved resolved: these synthetic files store no command.
    assert last.config.policy.action_label == "applied"
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value TensorBoard's framing uses


def test_a_run_on_recorded_commands_saves_that_choice(tmp_path):
    from episode_files import write_episode

    for i in range(3):
        write_episode(tmp_path / "data", i, length=12, image_size=32, command_offset=0.02)
    result = train(lambda: Dataset(tmp_path / "data"), tmp_path / "run", tiny_run_config())
    saved = read_checkpoint(tmp_path / "run/checkpoints/last.safetensors")
    assert saved.config.policy.action_label == "command" and result.action_label == "command"


def test_resume_continues_and_refuses_other_data(data, tmp_path):
    run = tmp_path / "run"
    cfg = tiny_run_config()
    train(lambda: Dataset(data), run, cfg)
    cfg.train.steps = 9
    result = train(lambda: Dataset(data), run, cfg)
    assert result.steps == 9
    assert [int(r["step"]) for r in csv.DictReader((run / "metrics.csv").read_text().splitlines())][-2:] == [8, 9]
    other = write_dataset(tmp_path / "other", episodes=2, length=12, image_size=32, seed=5)
    cfg.train.steps = 12
    with pytest.raises(ValueError, match="other data"):
        train(lambda: Dataset(other), run, cfg)
    with pytest.raises(ValueError, match="already trained 9"):
        cfg.train.steps = 9
        train(lambda: Dataset(data), run, cfg)


def test_stopping_saves_last_and_raises_cancelled(data, tmp_path):
    run = tmp_path / "run"
    seen = {"step": 0}
    with pytest.raises(Cancelled):
        train(lambda: Dataset(data), run, tiny_run_config(),
              progress=lambda d, t, m="": seen.update(step=d), should_stop=lambda: seen["step"] >= 2)
    assert read_checkpoint(run / "checkpoints/last.safetensors").step == 2


@pytest.mark.parametrize("head,objective", [("transformer", "flow")])
def test_other_head_and_objective_train_end_to_end(data, tmp_path, head, objective):
    result = train(lambda: Dataset(data), tmp_path / "run", tiny_run_config(head=head, objective=objective))
    assert result.steps == 6 and torch.isfinite(torch.tensor(result.train_loss))


def test_nothing_to_train_on_is_a_clear_error(tmp_path):
    (tmp_path / "episodes").mkdir()
    with pytest.raises(ValueError, match="no episodes to train on"):
        train(lambda: Dataset(tmp_path), tmp_path / "run", tiny_run_config())


def test_train_cli_prints_one_json_object_and_rejects_bad_input(data, tmp_path, capsys):
    from app.cli import main

    cfg = tiny_run_config().to_dict()
    cfg["train"].pop("device")
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    argv = ["train", str(data), "--out", str(tmp_path / "run"), "--config", str(tmp_path / "cfg.json"),
            "--head", "transformer", "--objective", "flow", "--steps", "4", "--device", "cpu", "--json"]
    assert main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    report = json.loads(out[0])
    assert report["steps"] == 4 and report["device"] == "cpu"
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["policy"]["head"] == "transformer" and saved["policy"]["objective"] == "flow"
    for bad in (["train", str(tmp_path / "nope"), "--out", str(tmp_path / "r2")],
                ["train", str(data), "--out", str(tmp_path / "r3"), "--config", str(tmp_path / "missing.json")],
                ["train", str(data), "--out", str(tmp_path / "r4"), "--device", "cuda:7"] if not torch.cuda.is_available()
                else ["train", str(data), "--out", str(tmp_path / "r4"), "--preset", "tiny"]):
        assert main(bad) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "error" in err[0], err


def test_a_run_saved_before_labels_were_resolved_resumes_on_the_applied_command(tmp_path):
    from types import SimpleNamespace

    from policy.trainer import _check_resume

    cfg = tiny_run_config()
    cfg.policy.action_label = "applied"  # what "auto" resolves to on data without requests
    old = tiny_run_config()  # its saved config says "auto": written before the label was resolved
    ckpt = SimpleNamespace(meta={"dataset": {"fingerprint": "fp"}}, config=old, path=tmp_path / "r/checkpoints/last")
    _check_resume(ckpt, cfg, "fp")
    cfg.policy.action_label = "command"
    with pytest.raises(ValueError, match="another policy configuration"):
        _check_resume(ckpt, cfg, "fp")
