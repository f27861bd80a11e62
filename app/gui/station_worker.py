"""Runs the embedded station in real time on its own thread and publishes frames, status and timing.

The GUI thread never touches the station: it posts commands (`post`, `set_agent`, `request_reset`)
that the station thread runs between ticks, and it listens to signals. Each control tick (10 Hz by
default) asks the active *agent* — keyboard teleop, a teleop device, the scripted expert, a trained
policy; anything with the `policy.evaluation.Agent` shape — for an action, sends it through the
robot's own limits and hands the applied action to the tick hooks (the recorder) before the physics
advances. Between ticks the physics is stepped in slices so the live view runs at ``view_fps``.
"""

from __future__ import annotations

import queue
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np
from PySide6.QtCore import QThread, Signal

from devices.robot import Action


class Agent(Protocol):
    name: str

    def reset(self, station: object, seed: int) -> None: ...

    def act(self, station: object) -> Action | None: ...


@dataclass(frozen=True)
class Tick:
    """What a tick hook receives, on the station thread, after the action was applied."""

    index: int  # ticks since the worker started
    wall_time: float  # time.perf_counter() at the tick
    scheduled_time: float  # when the tick was due
    station: object  # the SimStation (its state is still the one observed at this tick)
    applied: Action  # what the robot accepted (after workspace clipping)
    agent: str  # which agent produced it ("hold" when none)


TickHook = Callable[[Tick], None]


class TickMeter:
    """Rate and jitter of the control loop over a sliding window of ticks."""

    def __init__(self, period: float, window: int = 50) -> None:
        self.period = period
        self._starts: deque[float] = deque(maxlen=window)
        self._late: deque[float] = deque(maxlen=window)
        self.missed = 0

    def add(self, wall: float, lateness: float) -> None:
        self._starts.append(wall)
        self._late.append(lateness)

    def snapshot(self) -> dict:
        if len(self._starts) < 2:
            return {"rate_hz": 0.0, "jitter_ms": 0.0, "max_late_ms": 0.0, "missed": self.missed}
        periods = np.diff(np.asarray(self._starts))
        return {
            "rate_hz": float(1.0 / periods.mean()) if periods.mean() > 0 else 0.0,
            "jitter_ms": float(np.std(periods) * 1000.0),
            "max_late_ms": float(max(self._late) * 1000.0),
            "missed": self.missed,
        }


class KeyboardTeleop:
    """Keyboard teleoperation as an agent: held keys set a Cartesian velocity, integrated per tick.

    The GUI thread only writes two small values (velocity, gripper); the station thread reads them
    each tick — no lock is needed for whole-object assignment of immutable values.
    """

    name = "keyboard"
    uses_cameras = False

    def __init__(self, rate_hz: float = 10.0) -> None:
        self._dt = 1.0 / rate_hz
        self._velocity = np.zeros(4)  # vx, vy, vz (m/s), yaw rate (rad/s)
        self._gripper = 0.0
        self._target: np.ndarray | None = None

    def set_velocity(self, v: np.ndarray) -> None:
        self._velocity = np.asarray(v, dtype=float).copy()

    def set_gripper(self, g: float) -> None:
        self._gripper = float(g)

    @property
    def gripper(self) -> float:
        return self._gripper

    def reset(self, station: object, seed: int) -> None:
        self._target = station.target.ee_pose.copy()  # type: ignore[attr-defined]
        self._gripper = float(station.target.gripper)  # type: ignore[attr-defined]

    def act(self, station: object) -> Action:
        from devices.geometry import quat_mul, yaw_quat

        if self._target is None:
            self.reset(station, 0)
        v = self._velocity
        target = self._target.copy()
        target[:3] += v[:3] * self._dt
        if v[3]:
            target[3:] = quat_mul(yaw_quat(v[3] * self._dt), target[3:])
        self._target = target
        return Action(target, self._gripper)

    def follow(self, applied: Action) -> None:
        """Start the next integration from what the robot accepted (no wind-up at the workspace edge)."""
        self._target = applied.ee_pose.copy()


class StationWorker(QThread):
    frames = Signal(dict)  # camera name -> (H, W, 3) uint8 at view size
    status = Signal(dict)  # see _status()
    timing = Signal(dict)  # TickMeter.snapshot()
    failed = Signal(str)  # one line; the loop keeps running (holding) unless the station itself broke
    ready = Signal(dict)  # station description once it is up: cameras, task, rate

    def __init__(self, task: str = "pick_place", rate_hz: float = 10.0, view_size: int = 320,
                 view_fps: float = 20.0, image_size: int = 96, cameras: tuple[str, ...] = ("scene", "wrist"),
                 perturbations: dict[str, float] | None = None, parent=None) -> None:
        super().__init__(parent)
        self.task = task
        self.rate_hz = float(rate_hz)
        self.image_size = int(image_size)
        self.camera_names = tuple(cameras)
        self._view_size = int(view_size)
        self._frames_per_tick = max(1, int(round(view_fps / rate_hz)))
        self._perturbations = dict(perturbations or {})
        self._commands: "queue.SimpleQueue[Callable[[object], None]]" = queue.SimpleQueue()
        self._hooks: list[TickHook] = []
        self._agent: Agent | None = None
        self._seed = 0
        self._running = True
        self.keyboard = KeyboardTeleop(rate_hz)
        self._agent = self.keyboard
        self._reset_pending: int | None = 0
        self._view_renderer = None
        self._view_model = None
        self.ticks = 0

    # -- commands from the GUI thread -------------------------------------------------------------
    def post(self, fn: Callable[[object], None]) -> None:
        """Run ``fn(station)`` on the station thread before the next tick."""
        self._commands.put(fn)

    def set_agent(self, agent: Agent | None) -> None:
        """Hand control to ``agent`` (None holds the current pose) without resetting the scene."""

        def swap(station: object) -> None:
            if agent is not None:
                agent.reset(station, self._seed)
            self._agent = agent

        self.post(swap)

    def request_reset(self, seed: int | None = None) -> None:
        """Re-randomise the scene (next seed by default); the active agent restarts from it."""
        self._reset_pending = self._seed + 1 if seed is None else int(seed)

    def add_hook(self, hook: TickHook) -> None:
        self.post(lambda station: self._hooks.append(hook))

    def remove_hook(self, hook: TickHook) -> None:
        def drop(station: object) -> None:
            if hook in self._hooks:
                self._hooks.remove(hook)

        self.post(drop)

    def set_velocity(self, v: np.ndarray) -> None:  # keyboard teleop, kept for the key handler
        self.keyboard.set_velocity(v)

    def set_gripper(self, g: float) -> None:
        self.keyboard.set_gripper(g)

    @property
    def seed(self) -> int:
        return self._seed

    @property
    def agent_name(self) -> str:
        return self._agent.name if self._agent is not None else "hold"

    def stop(self) -> None:
        self._running = False
        self.wait(5000)

    # -- the station thread -----------------------------------------------------------------------
    def run(self) -> None:
        station = None
        try:
            from devices.sim.station import make_station

            station = make_station(self.task, image_size=self.image_size, cameras=self.camera_names,
                                   perturbations=self._perturbations)
            station.connect()
            self._loop(station)
        except Exception as exc:  # the station itself failed: say so in one line and end
            self.failed.emit(f"station stopped: {type(exc).__name__}: {exc}")
        finally:
            if self._view_renderer is not None:
                self._view_renderer.close()
                self._view_renderer = None
            if station is not None:
                station.disconnect()

    def _render_views(self, station) -> dict[str, np.ndarray]:
        import mujoco

        if self._view_renderer is None or self._view_model is not station.model:
            if self._view_renderer is not None:
                self._view_renderer.close()
            self._view_model = station.model
            self._view_renderer = mujoco.Renderer(station.model, height=self._view_size, width=self._view_size)
        out = {}
        for name in self.camera_names:
            self._view_renderer.update_scene(station.data, camera=name)
            out[name] = self._view_renderer.render().copy()
        return out

    def _drain_commands(self, station) -> None:
        while True:
            try:
                fn = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                fn(station)
            except Exception as exc:  # a bad command must not end the loop
                self.failed.emit(f"{type(exc).__name__}: {exc}")

    def _loop(self, station) -> None:
        period = 1.0 / self.rate_hz
        sub = period / self._frames_per_tick
        meter = TickMeter(period)
        self.ready.emit({"task": self.task, "cameras": list(self.camera_names), "rate_hz": self.rate_hz,
                         "image_size": self.image_size, "view_size": self._view_size})
        next_tick = time.perf_counter()
        while self._running:
            self._drain_commands(station)
            if self._reset_pending is not None:
                self._seed, self._reset_pending = self._reset_pending, None
                station.reset(self._seed)
                if self._agent is not None:
                    self._agent.reset(station, self._seed)
            now = time.perf_counter()
            if now < next_tick:
                time.sleep(next_tick - now)
                now = time.perf_counter()
            lateness = now - next_tick
            meter.add(now, lateness)
            agent = self._agent
            try:
                action = agent.act(station) if agent is not None else None
                applied = station.send_action(action) if action is not None else station.hold()
            except Exception as exc:
                # A failing agent must never leave the robot moving: hold and give control back.
                self.failed.emit(f"{agent.name if agent else 'agent'} failed, holding: {type(exc).__name__}: {exc}")
                self._agent = None
                applied = station.hold()
            follow = getattr(agent, "follow", None)
            if follow is not None:  # integrating agents continue from what the robot accepted
                follow(applied)
            tick = Tick(self.ticks, now, next_tick, station, applied, agent.name if agent is not None else "hold")
            for hook in list(self._hooks):
                try:
                    hook(tick)
                except Exception as exc:
                    self.failed.emit(f"recording hook failed: {type(exc).__name__}: {exc}")
                    self._hooks.remove(hook)
            self.ticks += 1
            for k in range(self._frames_per_tick):
                station.step(sub)
                if k < self._frames_per_tick - 1:
                    self.frames.emit(self._render_views(station))
                    delay = next_tick + (k + 1) * sub - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
            self.frames.emit(self._render_views(station))
            self.status.emit(self._status(station, applied))
            self.timing.emit(meter.snapshot())
            next_tick += period
            behind = time.perf_counter() - next_tick
            if behind > period:  # more than a whole tick late: count the misses and resynchronise
                meter.missed += int(behind // period)
                next_tick = time.perf_counter()

    def _status(self, station, applied: Action) -> dict:
        st = station.status()
        state = station.get_state()
        return {"pose": state.ee_pose, "gripper": state.gripper, "wrench": state.ee_wrench,
                "target": applied.ee_pose, "target_gripper": applied.gripper, "score": st.score,
                "success": st.success, "timed_out": st.timed_out, "done": st.done, "time": station.time,
                "seed": self._seed, "agent": self.agent_name, "connected": station.is_connected}
