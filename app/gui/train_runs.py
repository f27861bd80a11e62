"""Training runs launched from the GUI: `demostation train ... --json` in its own process.

Training must never share the GUI's interpreter (its GIL, its memory): each run is a `QProcess`
running the same command an engineer would type. The GUI follows it through the run folder the
trainer writes (``metrics.csv`` one row per log step, ``config.json``, checkpoints) and through the
process itself (exit status, the one JSON object on stdout, error lines on stderr).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from app.gui.metrics_tail import MetricsTail, read_metrics
from app.stop_signals import EXIT_STOPPED
from policy.config import DEFAULT_DEVICE, DEFAULT_PRESET

REPO_ROOT = Path(__file__).resolve().parents[2]
STATES = ("starting", "running", "finished", "failed", "stopped")


@dataclass
class TrainSpec:
    """The form's values; `argv` turns them into the `demostation train` command line."""

    dataset: str
    out: str
    # None (and "" for cameras): the preset's, as `demostation train` without the flag. The
    # defaults here are the command's own (policy.config), so an untouched form trains exactly
    # what the command trains by default.
    head: str | None = None
    objective: str | None = None
    steps: int | None = None
    batch_size: int | None = None
    device: str = DEFAULT_DEVICE
    preset: str = DEFAULT_PRESET
    cameras: str = ""
    tags: list[str] = field(default_factory=list)
    exclude_tags: list[str] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    time_limit_min: float | None = None
    threads: int | None = None
    config_file: str = ""  # JSON overrides (what the form does not show)

    def argv(self) -> list[str]:
        if not self.dataset:
            raise ValueError("choose the dataset to train on")
        if not self.out:
            raise ValueError("choose a folder for the run")
        if self.steps is not None and self.steps < 1:
            raise ValueError("train for at least one step")
        args = ["train", self.dataset, "--out", self.out, "--json"]
        if self.preset != DEFAULT_PRESET:
            args += ["--preset", self.preset]
        if self.device != DEFAULT_DEVICE:
            args += ["--device", self.device]
        if self.head:
            args += ["--head", self.head]
        if self.objective:
            args += ["--objective", self.objective]
        if self.steps is not None:
            args += ["--steps", str(int(self.steps))]
        if self.batch_size:
            args += ["--batch-size", str(int(self.batch_size))]
        if self.cameras:
            args += ["--cameras", self.cameras]
        for t in self.tags:
            args += ["--tag", t]
        for t in self.exclude_tags:
            args += ["--exclude-tag", t]
        for o in self.outcomes:
            args += ["--outcome", o]
        if self.time_limit_min:
            args += ["--time-limit", f"{self.time_limit_min:g}"]
        if self.threads:
            args += ["--threads", str(int(self.threads))]
        if self.config_file:
            args += ["--config", self.config_file]
        return args


BACKGROUND_NICENESS = 10
# How long a stopped run may take to finish its step and write `last` before it is killed: a CPU
# step plus a checkpoint write take a few seconds, on a busy 2-core machine several times that.
STOP_GRACE_MS = 60000


def lower_priority(proc: QProcess) -> None:
    """Background work yields the CPU to the live station and the GUI (nice +10 on Unix).

    Training and sweeps would otherwise take every core at the same priority as the recorder's
    tick thread and the event loop, and the live view would stutter while they run.
    """
    if not proc.waitForStarted(5000):
        return
    pid = int(proc.processId())
    if pid > 0 and hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):  # not permitted on this system: the run still works, only less politely
            os.setpriority(os.PRIO_PROCESS, pid, BACKGROUND_NICENESS)


class TrainRun(QObject):
    """One run: launched here (with a process) or opened from disk (finished earlier)."""

    changed = Signal()  # state, progress or metrics changed
    metrics = Signal(list)  # new metric rows

    def __init__(self, run_dir: str | Path, spec: TrainSpec | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run_dir = Path(run_dir)
        self.spec = spec
        self.state = "finished"
        self.rows: list[dict] = []
        self.summary: dict | None = None
        self.error = ""
        self.log: list[str] = []
        self.started_at: float | None = None
        self.ended_at: float | None = None
        # A form that leaves the steps to the preset learns them from the run's config.json (`poll`).
        self.total_steps = spec.steps if spec and spec.steps else self._steps_from_config()
        self._process: QProcess | None = None
        self._stdout = b""
        self._stopping = False
        self._tail = MetricsTail(self.run_dir / "metrics.csv")
        self._poll = QTimer(self)
        self._poll.timeout.connect(self.poll)

    # -- opening a finished run ------------------------------------------------------------------
    @classmethod
    def open(cls, run_dir: str | Path, parent: QObject | None = None) -> "TrainRun":
        run = cls(run_dir, parent=parent)
        if not (run.run_dir / "config.json").exists() and not (run.run_dir / "metrics.csv").exists():
            raise ValueError(f"{run.run_dir} is not a training run (no config.json or metrics.csv)")
        run.rows = read_metrics(run.run_dir / "metrics.csv")
        summary = run.run_dir / "summary.json"
        if summary.exists():
            try:
                run.summary = json.loads(summary.read_text())
            except (OSError, ValueError):
                run.summary = None
        # summary.json is written only when training reached its end (steps or time limit); a run
        # with checkpoints and no summary was stopped (or killed) and resumes from `last`.
        run.state = "finished" if run.summary is not None else "stopped"
        return run

    def _steps_from_config(self) -> int:
        try:
            return int(json.loads((self.run_dir / "config.json").read_text())["train"]["steps"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    # -- launching -------------------------------------------------------------------------------
    def start(self, python: str = sys.executable) -> None:
        if self.spec is None:
            raise RuntimeError("this run was opened from disk; start a new one from the form")
        argv = ["-m", "app"] + self.spec.argv()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        proc = QProcess(self)
        proc.setWorkingDirectory(str(REPO_ROOT))
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        env.insert("PYTHONPATH", str(REPO_ROOT) + os.pathsep + env.value("PYTHONPATH", ""))
        proc.setProcessEnvironment(env)
        proc.readyReadStandardOutput.connect(self._on_stdout)
        proc.readyReadStandardError.connect(self._on_stderr)
        proc.finished.connect(self._on_finished)
        proc.errorOccurred.connect(self._on_error)
        self._process = proc
        self.state = "starting"
        self.started_at = time.monotonic()
        self.log.append("$ demostation " + " ".join(self.spec.argv()))
        proc.start(python, argv)
        lower_priority(proc)
        self._poll.start(500)
        self.changed.emit()

    def stop(self) -> None:
        """Stop the run as Ctrl+C would: SIGINT, which `demostation train` takes as "finish the step,
        save `last`, exit 130" (app/stop_signals.py). Killed if it has not ended `STOP_GRACE_MS` later."""
        proc = self._process
        if proc is None or proc.state() == QProcess.ProcessState.NotRunning:
            return
        self._stopping = True
        pid = int(proc.processId())
        if pid > 0:
            try:
                os.kill(pid, signal.SIGINT)
            except OSError:
                proc.terminate()
        QTimer.singleShot(STOP_GRACE_MS, self._kill_if_running)
        self.changed.emit()

    def _kill_if_running(self) -> None:
        if self._process is not None and self._process.state() != QProcess.ProcessState.NotRunning:
            self._process.kill()

    def is_running(self) -> bool:
        return self.state in ("starting", "running")

    def wait(self, ms: int) -> bool:
        return self._process is None or self._process.waitForFinished(ms)

    # -- following -------------------------------------------------------------------------------
    def poll(self) -> None:
        if not self.total_steps:
            self.total_steps = self._steps_from_config()
        rows = self._tail.poll()
        if rows:
            self.rows.extend(rows)
            if self.state == "starting":
                self.state = "running"
            self.metrics.emit(rows)
            self.changed.emit()

    def _on_stdout(self) -> None:
        self._stdout += bytes(self._process.readAllStandardOutput())

    def _on_stderr(self) -> None:
        text = bytes(self._process.readAllStandardError()).decode("utf-8", "replace")
        for line in text.replace("\r", "\n").splitlines():
            if line.strip():
                self.log.append(line.rstrip())
        del self.log[:-400]
        if self.state == "starting":
            self.state = "running"
            self.changed.emit()

    def _on_error(self, err: QProcess.ProcessError) -> None:
        if err == QProcess.ProcessError.FailedToStart:
            self.state = "failed"
            self.error = f"could not start the training process ({self._process.errorString()})"
            self.ended_at = time.monotonic()
            self._poll.stop()
            self.changed.emit()

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self.poll()
        self._poll.stop()
        self.ended_at = time.monotonic()
        out = self._stdout.decode("utf-8", "replace").strip().splitlines()
        if out:
            try:
                self.summary = json.loads(out[-1])
            except ValueError:
                self.log.append(out[-1])
        normal = status == QProcess.ExitStatus.NormalExit
        if code == 0 and normal:
            self.state = "finished"
        elif (code == EXIT_STOPPED and normal) or self._stopping:
            # Stopped on request (here, or by a signal from elsewhere): `last` holds the step it reached,
            # and the JSON object says which (``{"stopped": true, "step": N, "checkpoint": ...}``).
            self.state = "stopped"
        else:
            self.state = "failed"
            errors = [line for line in self.log if "error" in line.lower() or "failed" in line.lower()]
            self.error = (errors[-1] if errors else (self.log[-1] if self.log else f"exit status {code}"))
        self.changed.emit()

    # -- what the panel shows --------------------------------------------------------------------
    @property
    def step(self) -> int:
        steps = [r["step"] for r in self.rows if r.get("step") is not None]
        return int(max(steps)) if steps else 0

    @property
    def last_loss(self) -> float | None:
        for r in reversed(self.rows):
            if r.get("loss") is not None:
                return r["loss"]
        return None

    @property
    def best_val(self) -> float | None:
        vals = [r["val_loss"] for r in self.rows if r.get("val_loss") is not None]
        return min(vals) if vals else None

    def elapsed(self) -> float:
        if self.started_at is None:
            return float(self.rows[-1].get("time_s") or 0.0) if self.rows else 0.0
        return (self.ended_at or time.monotonic()) - self.started_at

    def checkpoint(self) -> Path | None:
        """The checkpoint a policy would run with: best, else last."""
        for name in ("best", "last"):
            p = self.run_dir / "checkpoints" / f"{name}.safetensors"
            if p.exists():
                return p
        return None
