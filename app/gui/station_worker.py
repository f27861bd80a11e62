"""The embedded station, live: one thread owns it, runs its physics in real time, and serves everyone.

MuJoCo's model, data and OpenGL contexts belong to one thread (an EGL context made current in one
thread cannot be used from another, even after that thread ends). So the station lives on this
`StationWorker` thread for the whole session, and everything else — the GUI, a recording session's
tick thread, a policy runner — reaches it through `call(fn)`, which runs ``fn(station)`` here and
returns the result. `app.gui.station_proxy` wraps that in the `Robot` / `Camera` / command-source
interfaces the recorder and the runtime expect.

The loop works in 10 ms slices: serve calls, tick the station's `SafetyController` (100 Hz: the
one path to the robot, with the workspace, speed and acceleration limits), keep the physics on the
wall clock, and render the live view (``view_fps``). While nothing external drives the robot, the
active *agent* (keyboard or a teleop device through the mapper, the scripted expert; anything shaped
like `policy.evaluation.Agent`) decides a target at ``rate_hz`` and the controller executes it
smoothly; a recording session decides through the same controller (`recorder.command_path.SafetyPath`,
run on this thread by `station_proxy.StationPath`). Only the policy runtime brings its own
controller (over the station proxies), and the internal one then stands still.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from concurrent.futures import Future
from typing import Any, Callable, Protocol

import numpy as np
from PySide6.QtCore import QThread, Signal

from app.gui.teleop_agent import DeviceAgent
from devices.control import SafetyController, StepTargetSource
from devices.robot import Action
from devices.teleop.keyboard import KeyboardDevice

SLICE_S = 0.01  # physics and call-serving granularity
MAX_CATCH_UP_S = 0.25  # never step more than this at once; beyond it the clock is re-anchored


class LiveAgent(Protocol):
    name: str

    def reset(self, station: object, seed: int) -> None: ...

    def act(self, station: object) -> Action | None: ...


class StationUnavailable(RuntimeError):
    """The station thread is not running (not started yet, stopped, or it failed)."""


class TickMeter:
    """Rate and jitter of a periodic loop over a sliding window of ticks."""

    def __init__(self, period: float, window: int = 50) -> None:
        self.period = period
        self._starts: deque[float] = deque(maxlen=window)
        self._late: deque[float] = deque(maxlen=window)
        self.missed = 0

    def add(self, wall: float, lateness: float, missed: int = 0) -> None:
        self._starts.append(wall)
        self._late.append(lateness)
        self.missed += missed

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


class StationWorker(QThread):
    frames = Signal(dict)  # camera name -> (H, W, 3) uint8 at view size
    status = Signal(dict)  # see _status()
    timing = Signal(dict)  # the internal control loop's TickMeter.snapshot()
    failed = Signal(str)  # one line; the loop keeps running (holding) unless the station itself broke
    ready = Signal(dict)  # station description once it is up: cameras, task, rate
    device_events = Signal(list)  # record/stop/discard/... button presses of the driving device

    def __init__(self, task: str = "pick_place", rate_hz: float = 10.0, view_size: int = 320,
                 view_fps: float = 15.0, image_size: int = 96, cameras: tuple[str, ...] = ("scene", "wrist"),
                 perturbations: dict[str, float] | None = None, parent=None) -> None:
        super().__init__(parent)
        self.task = task
        self.rate_hz = float(rate_hz)
        self.image_size = int(image_size)
        self.camera_names = tuple(cameras)
        self.view_size = int(view_size)
        self._view_period = 1.0 / float(view_fps)
        self._perturbations = dict(perturbations or {})
        self._calls: "queue.SimpleQueue[tuple[Callable[[Any], Any], Future]]" = queue.SimpleQueue()
        self._running = True
        self._alive = threading.Event()
        self._thread_id: int | None = None
        self._station = None
        # The keyboard is a teleop device like any other (devices.teleop.keyboard): the GUI feeds
        # it key events, the station thread maps its commands at each tick.
        self.keyboard = KeyboardDevice()
        self.keyboard.connect()
        self.keyboard_agent = DeviceAgent(self.keyboard, on_events=self.device_events.emit)
        self._agent: LiveAgent | None = self.keyboard_agent
        self._external = 0  # how many external drivers (recording sessions, runners) hold the robot
        self._external_controller = 0  # of them, how many bring their own controller (policy runtime)
        self.controller: SafetyController | None = None  # built on the station thread
        self.step_target = StepTargetSource()  # the agents' 10 Hz targets, executed by the controller
        self._seed = 0
        self._reset_pending: int | None = 0
        self._anchor: tuple[float, float] | None = None  # (wall, sim) pair the physics follows
        self._view_renderer = None
        self._view_model = None
        self.ticks = 0
        self.last_status: dict = {}
        self.view_demand = 0  # live views on screen; nothing is rendered for the view while it is 0

    # -- from any thread -------------------------------------------------------------------------
    def call(self, fn: Callable[[Any], Any], timeout: float = 5.0) -> Any:
        """Run ``fn(station)`` on the station thread and return its result (or raise its exception)."""
        if threading.get_ident() == self._thread_id:
            return fn(self._station)
        if not self._alive.is_set():
            raise StationUnavailable("the station is not running")
        fut: Future = Future()
        self._calls.put((fn, fut))
        try:
            return fut.result(timeout)
        except TimeoutError:
            raise StationUnavailable(f"the station did not answer within {timeout:g} s") from None

    def post(self, fn: Callable[[Any], Any]) -> Future:
        """Queue ``fn(station)`` without waiting; the future holds its result."""
        fut: Future = Future()
        self._calls.put((fn, fut))
        return fut

    def set_agent(self, agent: LiveAgent | None) -> Future:
        """Hand control to ``agent`` (None: hold the current pose) without resetting the scene."""

        def swap(station: object) -> None:
            if agent is not None:
                agent.reset(station, self._seed)
            self._agent = agent

        return self.post(swap)

    def request_reset(self, seed: int | None = None) -> None:
        """Re-randomise the scene (next seed by default); the active agent restarts from it."""
        self._reset_pending = self._seed + 1 if seed is None else int(seed)

    @property
    def agent(self) -> LiveAgent | None:
        return self._agent

    @property
    def agent_name(self) -> str:
        return self._agent.name if self._agent is not None else "hold"

    @property
    def seed(self) -> int:
        return self._seed

    @property
    def perturbations(self) -> dict[str, float]:
        """The fixed perturbations the station was started with (a randomised scene adds to them)."""
        return dict(self._perturbations)

    @property
    def is_alive(self) -> bool:
        return self._alive.is_set()

    @property
    def externally_driven(self) -> bool:
        return self._external > 0

    def stop(self) -> None:
        self._running = False
        self.wait(5000)
        self.keyboard.disconnect()

    # -- on the station thread (through call) ----------------------------------------------------
    def acquire_control(self, own_controller: bool = False) -> None:
        """An external loop drives the robot now; the agents' ticks pause (station thread).

        A recording session decides through this thread's controller; a policy runtime brings its
        own (``own_controller``), and this one stops ticking until it is released.
        """
        self._external += 1
        self._external_controller += int(own_controller)

    def release_control(self, own_controller: bool = False) -> None:
        self._external = max(0, self._external - 1)
        self._external_controller = max(0, self._external_controller - int(own_controller))
        if self.controller is not None and self._external == 0:
            # Back to the agents: start from where the robot is now, at rest, with no stale target.
            self.controller.source = self.step_target
            self.step_target.clear()
            self.controller.reset()

    def do_reset(self, station, seed: int | None = None) -> None:
        """Reset now (station thread): the scene, the real-time anchor and the agent."""
        self._seed = self._seed + 1 if seed is None else int(seed)
        station.reset(self._seed)
        self._anchor = None
        if self.controller is not None:
            self.step_target.clear()
            self.controller.reset()
        if self._agent is not None:
            self._agent.reset(station, self._seed)

    def decide(self, station, agent: LiveAgent | None) -> Action | None:
        """One 10 Hz decision of ``agent`` (None: no command, the controller brakes to a hold)."""
        return agent.act(station) if agent is not None else None

    # -- the thread ------------------------------------------------------------------------------
    def run(self) -> None:
        station = None
        self._thread_id = threading.get_ident()
        try:
            from devices.sim.station import make_station

            station = make_station(self.task, image_size=self.image_size, cameras=self.camera_names,
                                   perturbations=self._perturbations)
            station.connect()
            # Create the recording-size renderer now: building an OpenGL context holds the GIL for
            # ~100 ms, which would otherwise stall the GUI at the start of the first recording.
            for name in self.camera_names:
                station.render(name)
            from devices.safety import limits_for

            self.controller = SafetyController(station, source=self.step_target, limits=limits_for(station),
                                               rate_hz=1.0 / SLICE_S)
            self.controller.reset()
            self._station = station
            self._alive.set()
            self._loop(station)
        except Exception as exc:  # noqa: BLE001 - the station itself failed: say so in one line and end
            self.failed.emit(f"station stopped: {type(exc).__name__}: {exc}")
        finally:
            self._alive.clear()
            self._fail_pending_calls()
            if self._view_renderer is not None:
                self._view_renderer.close()
                self._view_renderer = None
            if station is not None:
                station.disconnect()

    def _fail_pending_calls(self) -> None:
        while True:
            try:
                _, fut = self._calls.get_nowait()
            except queue.Empty:
                return
            fut.set_exception(StationUnavailable("the station stopped"))

    def _serve_until(self, station, deadline: float) -> None:
        while True:
            remaining = deadline - time.perf_counter()
            try:
                fn, fut = self._calls.get(timeout=remaining) if remaining > 0 else self._calls.get_nowait()
            except queue.Empty:
                return
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn(station))
            except BaseException as exc:  # noqa: BLE001 - returned to the caller, never fatal here
                fut.set_exception(exc)

    def _render_views(self, station) -> dict[str, np.ndarray]:
        import mujoco

        if self._view_renderer is None or self._view_model is not station.model:
            if self._view_renderer is not None:
                self._view_renderer.close()
            self._view_model = station.model
            self._view_renderer = mujoco.Renderer(station.model, height=self.view_size, width=self.view_size)
        out = {}
        for name in self.camera_names:
            self._view_renderer.update_scene(station.data, camera=name)
            out[name] = self._view_renderer.render().copy()
        return out

    def _follow_wall_clock(self, station, now: float) -> None:
        if self._anchor is None:
            self._anchor = (now, station.time)
        wall0, sim0 = self._anchor
        lag = sim0 + (now - wall0) - station.time
        if lag > MAX_CATCH_UP_S:  # the thread was starved: do not fast-forward the world
            self._anchor = (now, station.time)
            return
        if lag >= station.model.opt.timestep:
            station.step(lag)

    def _loop(self, station) -> None:
        period = 1.0 / self.rate_hz
        meter = TickMeter(period)
        self.ready.emit({"task": self.task, "cameras": list(self.camera_names), "rate_hz": self.rate_hz,
                         "image_size": self.image_size, "view_size": self.view_size})
        start = time.perf_counter()
        next_slice = next_control = next_view = start
        next_status = start
        applied = station.target
        while self._running:
            self._serve_until(station, next_slice)
            next_slice += SLICE_S
            now = time.perf_counter()
            if next_slice < now - SLICE_S:
                next_slice = now
            if self._reset_pending is not None:
                seed, self._reset_pending = self._reset_pending, None
                self.do_reset(station, seed)
            if self._external == 0 and now >= next_control:
                late = now - next_control
                missed = int(late // period)
                meter.add(now, late, missed)
                agent = self._agent
                try:
                    action = self.decide(station, agent)
                except Exception as exc:  # noqa: BLE001 - a failing agent must never leave the robot moving
                    self.failed.emit(f"{agent.name if agent else 'agent'} failed, holding: {type(exc).__name__}: {exc}")
                    self._agent = None
                    action = None
                mono = time.monotonic()
                if action is None:
                    self.step_target.clear()
                else:
                    self.step_target.set(action, mono, mono + period, current=self.controller.last_applied)
                self.ticks += 1
                next_control += period * (1 + missed)
            elif self._external:
                next_control = now
            applied = self.controller.tick(time.monotonic()) if self._external_controller == 0 else station.target
            self._follow_wall_clock(station, time.perf_counter())
            now = time.perf_counter()
            if now >= next_view and self.view_demand > 0:
                self.frames.emit(self._render_views(station))
                next_view = max(next_view + self._view_period, now - self._view_period)
            if now >= next_status:
                self.last_status = self._status(station, applied)
                self.status.emit(self.last_status)
                if self._external == 0:
                    self.timing.emit(meter.snapshot())
                next_status = max(next_status + period, now - period)

    def _status(self, station, applied: Action) -> dict:
        st = station.status()
        state = station.get_state()
        return {"pose": state.ee_pose, "gripper": state.gripper, "wrench": state.ee_wrench,
                "target": applied.ee_pose, "target_gripper": applied.gripper, "score": st.score,
                "success": st.success, "timed_out": st.timed_out, "done": st.done, "time": station.time,
                "seed": self._seed, "agent": self.agent_name if not self._external else "external",
                "external": self._external > 0, "connected": station.is_connected}
