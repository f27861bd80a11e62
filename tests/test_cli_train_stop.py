"""`demostation train` stopped by Ctrl+C / SIGTERM: the step finishes, `last` is saved, exit 130."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from episode_files import tiny_run_config, write_dataset

from app.stop_signals import EXIT_STOPPED, GracefulStop

ROOT = Path(__file__).resolve().parents[1]


def test_the_first_signal_asks_to_stop_and_the_second_aborts():
    said = []
    with GracefulStop(announce=said.append) as stop:
        assert not stop()
        os.kill(os.getpid(), signal.SIGINT)
        assert stop() and stop.signal_name == "SIGINT" and "stopping after the current step" in said[0]
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers given back


def _wait_for(pred, timeout, proc):
    end = time.monotonic() + timeout
    while not pred():
        if proc.poll() is not None:
            raise AssertionError(f"train ended early ({proc.returncode}): {proc.stderr.read()}")
        if time.monotonic() > end:
            proc.kill()
            raise AssertionError("train made no progress in time")
        time.sleep(0.1)


def test_sigint_saves_the_step_reached_as_a_loadable_checkpoint(tmp_path):
    from policy.checkpoint import load_policy, read_checkpoint

    data = write_dataset(tmp_path / "data", episodes=3, length=12, image_size=32)
    cfg = tiny_run_config().to_dict()
    cfg["train"].update(log_every=1, save_every=100000, val_every=100000)  # no periodic checkpoint
    cfg["train"].pop("device")
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "app", "train", str(data), "--out", str(run), "--config",
                             str(tmp_path / "cfg.json"), "--steps", "100000", "--device", "cpu", "--threads", "1",
                             "--json"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = run / "metrics.csv"
    _wait_for(lambda: metrics.exists() and len(metrics.read_text().splitlines()) >= 2, 120, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_STOPPED, err
    report = json.loads(out.strip())  # still one JSON object on stdout
    step = report["step"]
    assert report["stopped"] is True and step >= 1
    assert f"stopped at step {step}; checkpoint saved to" in err
    last = run / "checkpoints" / "last.safetensors"
    assert Path(report["checkpoint"]) == last and read_checkpoint(last).step == step
    rows = metrics.read_text().splitlines()
    assert int(rows[-1].split(",")[0]) == step  # the metrics end where the weights do
    net, ckpt = load_policy(run)  # "open the run": the network loads from the stopped run
    assert ckpt.step == step and sum(p.numel() for p in net.parameters()) > 0
