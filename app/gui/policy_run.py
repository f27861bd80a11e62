"""Running a policy in the live station: the runtime's real-time runner over the station proxies.

`policy.runtime.realtime.RealtimeRunner` runs its 100 Hz control thread (the safety controller,
fed by a `ControlArbiter` that chooses the policy's action buffer or the operator's device) and its
inference thread; it reaches the station only through `StationRobot` / `LiveStationCamera`, so MuJoCo
stays on the station thread. A predictor that needs the station itself (the scripted expert reads
privileged state) runs on the station thread through `StationThreadPredictor`.

Everything here is started and stopped from a `JobRunner` (loading a checkpoint imports torch and
builds the network; stopping joins threads), never on the GUI thread.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app.gui.jobs import JobRunner, describe_error
from app.gui.recovery_recording import RecoveryRecording
from app.gui.station_proxy import StationRobot, station_cameras
from app.gui.station_worker import StationWorker
from devices.control import LatestTargetSource, SafetyController
from devices.safety import limits_for
from devices.teleop.command import DeviceStatus
from devices.teleop.pump import TeleopPump
from policy.runtime.realtime import RealtimeRunner
from policy.runtime.runner import ChunkRunner, RuntimeSettings
from policy.runtime.takeover import POLICY, ControlArbiter

EXPERT_SOURCE = "expert"


# -- predictors ------------------------------------------------------------------------------------
class StationThreadPredictor:
    """Runs a station-aware predictor (it reads the live station) on the station thread."""

    def __init__(self, inner, worker: StationWorker) -> None:
        self.inner = inner
        self.worker = worker

    def attach(self, seed: int) -> None:
        self.worker.call(lambda s: self.inner.attach(s, seed))

    def reset(self) -> None:
        self.worker.call(lambda s: self.inner.reset())

    def predict_chunk(self, obs_history) -> np.ndarray:
        return self.worker.call(lambda s: self.inner.predict_chunk(obs_history))


class CheckpointPredictor:
    """A trained policy (`policy.inference.DiffusionPolicyRunner`) as the runtime's chunk predictor."""

    def __init__(self, runner) -> None:
        self.runner = runner

    @property
    def cameras(self) -> tuple[str, ...]:
        return tuple(self.runner.cameras)

    def attach(self, seed: int) -> None:
        self.runner.reset(seed)

    def reset(self) -> None:
        self.runner.reset()

    def predict_chunk(self, obs_history) -> np.ndarray:
        chunk = self.runner.predict_chunk(list(obs_history))
        return np.asarray(getattr(chunk, "actions", chunk), dtype=float)


@dataclass
class LoadedPolicy:
    name: str
    predictor: object
    settings: RuntimeSettings
    cameras: tuple[str, ...] = ()


def load_policy_source(source: str, worker: StationWorker, device: str = "cpu") -> LoadedPolicy:
    """``expert`` (the task's scripted expert served as chunks), or a training run / checkpoint."""
    if source == EXPERT_SOURCE:
        from policy.runtime.predictors import ScriptedExpertPredictor

        predictor = StationThreadPredictor(ScriptedExpertPredictor(horizon=16, rate_hz=worker.rate_hz), worker)
        # The expert's step is "where to be one period from now" (due_offset=1, as in evaluation).
        return LoadedPolicy("scripted expert", predictor, RuntimeSettings(rate_hz=worker.rate_hz, due_offset=1))
    path = Path(source).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint or training run at {path}")
    import torch

    from policy.compute_device import shared_process_threads
    from policy.inference import DiffusionPolicyRunner

    if device == "cpu":  # the station, its renderer and the recorder share this process's cores
        torch.set_num_threads(shared_process_threads())
    runner = DiffusionPolicyRunner.from_checkpoint(str(path), device)
    predictor = CheckpointPredictor(runner)
    settings = RuntimeSettings(rate_hz=float(runner.rate_hz), n_obs_steps=int(runner.obs_steps),
                               n_execute=int(runner.action_steps))
    return LoadedPolicy(f"policy {path.name}", predictor, settings, predictor.cameras)


# -- projection of the predicted chunk -------------------------------------------------------------
@dataclass(frozen=True)
class CameraPose:
    """A MuJoCo camera: position, orientation (columns: right, up, backward) and vertical field of view."""

    position: np.ndarray
    rotation: np.ndarray
    fovy_deg: float


def camera_pose(station, name: str) -> CameraPose:
    """Read on the station thread: where the named camera is now."""
    import mujoco

    cid = mujoco.mj_name2id(station.model, mujoco.mjtObj.mjOBJ_CAMERA, name)
    if cid < 0:
        raise KeyError(f"the station has no camera {name!r}")
    return CameraPose(np.array(station.data.cam_xpos[cid]), np.array(station.data.cam_xmat[cid]).reshape(3, 3),
                      float(station.model.cam_fovy[cid]))


def project_points(points: np.ndarray, cam: CameraPose, width: int, height: int) -> np.ndarray:
    """World points (N, 3) → pixel coordinates (N, 2) in a width × height render of the camera.

    Pinhole model with MuJoCo's conventions: square pixels, focal length from the vertical field of
    view, principal point at the image centre, camera looking along its −z axis with +y up (image
    rows grow downwards). Points behind the camera come back as NaN.
    """
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    local = (pts - cam.position) @ cam.rotation  # rows: coordinates in the camera frame
    depth = -local[:, 2]
    f = 0.5 * height / math.tan(math.radians(cam.fovy_deg) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = (width - 1) / 2 + f * local[:, 0] / depth
        v = (height - 1) / 2 - f * local[:, 1] / depth
    out = np.stack([u, v], axis=1)
    out[depth <= 1e-6] = np.nan
    return out


# -- take-over ---------------------------------------------------------------------------------------
class TakeoverArbiterSource:
    """The arbiter as the controller's source, with the take-over button read on the control thread.

    The GUI only flips ``pressed``; the arbiter's switch runs inside ``setpoint`` on the control
    thread, so no arbiter state is touched from two threads.
    """

    def __init__(self, arbiter: ControlArbiter, now: Callable[[], float]) -> None:
        self.arbiter = arbiter
        self.pressed = False
        self._now = now

    def setpoint(self, now: float):
        self.arbiter.update(now, self.pressed)
        return self.arbiter.setpoint(now)


# -- the controller the Run panel talks to ------------------------------------------------------------
@dataclass
class EpisodeOutcome:
    seed: int
    success: bool
    score: float
    seconds: float
    took_over: bool


@dataclass
class RunStats:
    episodes: list[EpisodeOutcome] = field(default_factory=list)

    @property
    def successes(self) -> int:
        return sum(e.success for e in self.episodes)

    @property
    def rate(self) -> float:
        return self.successes / len(self.episodes) if self.episodes else 0.0


class PolicyRunController(QObject):
    state_changed = Signal(str)  # "idle", "loading", "running", "stopping"
    episode_done = Signal(object)  # EpisodeOutcome
    chunk = Signal(object, object)  # times (N,), waypoints (N, 8): the plan being executed
    failed = Signal(str)

    def __init__(self, worker: StationWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.jobs = JobRunner("policy run", self)
        self.state = "idle"
        self.policy: LoadedPolicy | None = None
        self.source = ""
        self.stats = RunStats()
        self.continuous = True
        self.teleop_device = None  # the operator's device for take-over (set by the panel)
        self.recovery = RecoveryRecording(worker, self)  # where take-overs are recorded (the panel sets it)
        self._rt: RealtimeRunner | None = None
        self._runner: ChunkRunner | None = None
        self._controller: SafetyController | None = None
        self._takeover: TakeoverArbiterSource | None = None
        self._pump: TeleopPump | None = None
        self._episode_start = 0.0
        self._took_over = False
        self._seed = 0
        self._monitor = QTimer(self)
        self._monitor.timeout.connect(self._watch)

    # -- commands (GUI thread) -------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.jobs.is_running()

    def start(self, source: str) -> bool:
        if self.busy or self.state != "idle":
            return False
        self._set_state("loading")

        def job(progress, should_stop):
            progress(0, 2, "loading the policy")
            if self.policy is None or self.source != source:
                self.policy = load_policy_source(source, self.worker)
                self.source = source
            progress(1, 2, "starting")
            return self._start_episode()

        self.jobs.start(job, on_done=lambda seed: self._on_started(seed), on_exception=self._on_failed)
        return True

    def stop(self) -> bool:
        if self.busy or self.state != "running":
            return False
        self._set_state("stopping")
        self.jobs.start(lambda progress, should_stop: self._stop_episode(), on_done=lambda _: self._set_state("idle"),
                        on_exception=self._on_failed)
        return True

    def estop(self) -> None:
        """Latched stop: the controller holds the arm until `release_estop` (safe from any thread)."""
        if self._controller is not None:
            self._controller.estop()
        worker = self.worker
        worker.post(lambda s: worker.controller.estop() if worker.controller is not None else None)
        worker.set_agent(None)

    def release_estop(self) -> None:
        if self._controller is not None:
            self._controller.release_estop()
        worker = self.worker
        worker.post(lambda s: worker.controller.release_estop() if worker.controller is not None else None)

    @property
    def estopped(self) -> bool:
        return self._controller is not None and self._controller.filter.estopped

    def set_take_over(self, on: bool) -> None:
        """Operator takes the robot (True) or hands it back to the policy (False)."""
        if self._takeover is None:
            return
        if on and self._pump is None and self.teleop_device is not None:
            sink = self._takeover.arbiter.teleop
            robot = self._controller.robot
            self._pump = TeleopPump(self.teleop_device, sink, robot_pose=lambda: robot.get_state().ee_pose)
            self._pump.start()
        self._takeover.pressed = bool(on)
        if on:
            self._took_over = True
        elif self._pump is not None:
            self._pump.stop()
            self._pump = None

    @property
    def active_source(self) -> str:
        return self._takeover.arbiter.active if self._takeover is not None else POLICY

    def interventions(self) -> dict:
        return dict(self._controller.interventions) if self._controller is not None else {}

    def predict_ms(self) -> float | None:
        stats = self._runner.stats if self._runner is not None else None
        return float(np.median(stats.predict_ms[-10:])) if stats and stats.predict_ms else None

    def shutdown(self) -> None:
        self._monitor.stop()
        self.jobs.shutdown(15000)
        if self._rt is not None:
            with contextlib.suppress(Exception):
                self._stop_episode()
        self.recovery.shutdown()

    # -- jobs (worker thread) --------------------------------------------------------------------
    def _start_episode(self) -> int:
        worker = self.worker
        policy = self.policy
        robot = StationRobot(worker)
        limits = worker.call(lambda s: limits_for(s))
        worker.call(lambda s: worker.acquire_control(own_controller=True))
        try:
            seed = worker.seed + 1
            robot.reset(seed)
            attach = getattr(policy.predictor, "attach", None)
            if attach is not None:
                attach(seed)
            runner = ChunkRunner(policy.predictor, policy.settings)
            teleop = LatestTargetSource()
            controller: SafetyController | None = None
            arbiter = ControlArbiter(policy=runner, teleop=teleop,
                                     current_command=lambda: controller.last_applied if controller else None,
                                     on_hand_back=lambda now: runner.restart())
            takeover = TakeoverArbiterSource(arbiter, time.monotonic)
            controller = SafetyController(robot, source=takeover, limits=limits, rate_hz=policy.settings.control_hz)
            device = self.teleop_device
            teleop_name = str(getattr(device, "kind", "teleop")) if device is not None else "teleop"
            arbiter.episode_attrs = {"policy": policy.name, "policy_source": self.source, "device": teleop_name}
            arbiter.recorder = self.recovery.recorder_for(arbiter, controller, teleop_name, policy.name,
                                                          self._teleop_problem)
            cameras = {n: c for n, c in station_cameras(worker).items() if n in policy.cameras}
            rt = RealtimeRunner(runner, controller, cameras=cameras)
            self._runner, self._controller, self._takeover, self._rt = runner, controller, takeover, rt
            self._seed = seed
            self._took_over = False
            rt.start()
            self._episode_start = time.monotonic()
            return seed
        except BaseException:
            worker.call(lambda s: worker.release_control(own_controller=True))
            raise

    def _stop_episode(self) -> None:
        rt, self._rt = self._rt, None
        if self._pump is not None:
            self._pump.stop()
            self._pump = None
        try:
            if rt is not None:
                rt.stop()
        finally:
            try:
                # The episode ended with the operator in control: finish the recovery recording
                # (the control thread is stopped, so the arbiter is ours to switch).
                arbiter = self._takeover.arbiter if self._takeover is not None else None
                if arbiter is not None and arbiter.active != POLICY:
                    arbiter.hand_back(time.monotonic())
                self.recovery.flush()
            finally:
                self.worker.call(lambda s: self.worker.release_control(own_controller=True))

    def _teleop_problem(self) -> str:
        """The take-over device's one-line problem while it cannot command ("" when fine): the
        recovery recording pauses meanwhile."""
        pump, device = self._pump, self.teleop_device
        if pump is not None and pump.error:
            return pump.error
        if device is not None and device.status is not DeviceStatus.OK:
            return device.message or f"{device.name} is {device.status.value}"
        return ""

    # -- GUI thread --------------------------------------------------------------------------------
    def _on_started(self, seed: int) -> None:
        self._set_state("running")
        self._monitor.start(100)

    def _on_failed(self, exc: BaseException) -> None:
        self._monitor.stop()
        self._set_state("idle")
        self.failed.emit(describe_error(exc))

    def _watch(self) -> None:
        """10 Hz: publish the plan, notice the end of an episode (or a runner that died)."""
        if self.state != "running" or self._runner is None:
            return
        times, values = self._runner.buffer.waypoints()
        self.chunk.emit(times, values)
        rt = self._rt
        if rt is not None and not rt.running:
            self._monitor.stop()
            self._set_state("stopping")
            self.jobs.start(lambda p, s: self._stop_episode(), on_done=lambda _: self._set_state("idle"),
                            on_exception=self._on_failed)
            return
        status = self.worker.last_status
        if status.get("done") and status.get("external") and time.monotonic() - self._episode_start > 0.5:
            outcome = EpisodeOutcome(self._seed, bool(status["success"]), float(status["score"]),
                                     float(status["time"]), self._took_over)
            self.stats.episodes.append(outcome)
            self._monitor.stop()
            self._set_state("stopping")
            again = self.continuous

            def job(progress, should_stop):
                self._stop_episode()
                return self._start_episode() if again else None

            def done(seed) -> None:
                self.episode_done.emit(outcome)
                if seed is None:
                    self._set_state("idle")
                else:
                    self._on_started(seed)

            self.jobs.start(job, on_done=done, on_exception=self._on_failed)

    def _set_state(self, state: str) -> None:
        self.state = state
        self.state_changed.emit(state)
