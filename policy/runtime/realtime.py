"""The runner on a wall clock: a 100 Hz control thread and an inference thread, on a real robot.

The control thread owns the robot: every tick it runs the safety controller (source: the action
buffer, or a `ControlArbiter` around it), and at every observation tick it observes and, when the
schedule says so, hands the history to the inference thread. The inference thread predicts and
writes the chunk into the buffer the moment it is done — the robot never waits for the policy,
and waypoints that went stale while it computed are dropped. Same `ChunkRunner` schedule, same
buffer and controller as the simulated-time evaluation, only the clock and the threads differ.

Every thread has a stop event and is joined on `stop`; an exception in either thread stops both
and is re-raised by `stop` (the controller's last command stays, the robot holds).
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Mapping

from devices.camera import Camera
from devices.control import SafetyController
from policy.runtime.observation import observe
from policy.runtime.runner import ChunkRunner, Request


class RealtimeRunner:
    def __init__(self, runner: ChunkRunner, controller: SafetyController, cameras: Mapping[str, Camera] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.runner = runner
        self.controller = controller
        self.cameras = dict(cameras or {})
        self._clock = clock
        self._lock = threading.Lock()  # guards the runner's schedule between the two threads
        self._stop = threading.Event()
        self._work = threading.Event()
        self._job: Request | None = None
        self._threads: list[threading.Thread] = []
        self._error: BaseException | None = None
        self._t0 = 0.0
        self.ticks = 0
        self.late_ticks = 0

    # -- life cycle ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._threads:
            raise RuntimeError("the runner is already running")
        self._stop.clear()
        self._error = None
        self.controller.reset()
        self._t0 = self._clock()
        self._threads = [threading.Thread(target=self._guard, args=(self._control_loop,), name="runtime-control",
                                          daemon=True),
                         threading.Thread(target=self._guard, args=(self._inference_loop,), name="runtime-inference",
                                          daemon=True)]
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop both threads (the robot keeps holding its last command); re-raise a thread's error."""
        self._stop.set()
        self._work.set()
        for t in self._threads:
            t.join(timeout)
        self._threads = []
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def __enter__(self) -> "RealtimeRunner":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def now(self) -> float:
        return self._clock() - self._t0

    # -- threads ---------------------------------------------------------------------------------
    def _guard(self, loop: Callable[[], None]) -> None:
        try:
            loop()
        except BaseException as exc:  # noqa: BLE001 - surfaced by stop()
            self._error = exc
            self._stop.set()
            self._work.set()

    def _control_loop(self) -> None:
        settings = self.runner.settings
        per = settings.ticks_per_period
        dt = 1.0 / settings.control_hz
        k = 0
        while not self._stop.is_set():
            now = self.now()
            if k % per == 0:
                obs = observe(self.controller.robot, self.cameras, now, self.controller.last_applied)
                with self._lock:
                    self.runner.observe(obs)
                    if self.runner.wants_request(now):
                        self._job = self.runner.begin_request(now)
                        self._work.set()
            self.controller.tick(now)
            self.ticks += 1
            k += 1
            delay = self._t0 + k * dt - self._clock()
            if delay > 0:
                self._stop.wait(delay)
            else:
                self.late_ticks += 1

    def _inference_loop(self) -> None:
        while not self._stop.is_set():
            self._work.wait()
            self._work.clear()
            if self._stop.is_set():
                return
            with self._lock:
                request, self._job = self._job, None
            if request is None:
                continue
            t0 = self._clock()
            try:
                chunk = self.runner.predictor.predict_chunk(request.history)
            except BaseException:
                with self._lock:
                    self.runner.cancel_request()
                raise
            predict_s = self._clock() - t0
            with self._lock:
                self.runner.finish_request(request, chunk, predict_s, self.now(), self.controller.last_applied)
