"""Runs the embedded station in real time on a worker thread and publishes camera frames.

The GUI thread only sends commands (a Cartesian velocity and a gripper state) and paints frames;
physics and rendering never run on it.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QThread, Signal

from devices.robot import Action


class StationWorker(QThread):
    frames = Signal(dict)  # camera name -> (H, W, 3) uint8
    status = Signal(dict)  # pose, gripper, score, success, rate
    failed = Signal(str)

    def __init__(self, task: str = "pick_place", view_size: int = 320, fps: float = 20.0, parent=None) -> None:
        super().__init__(parent)
        self._task = task
        self._view_size = view_size
        self._fps = fps
        self._velocity = np.zeros(4)  # vx, vy, vz (m/s), yaw rate (rad/s)
        self._gripper = 0.0
        self._reset_requested = True
        self._running = True

    def set_velocity(self, v: np.ndarray) -> None:
        self._velocity = np.asarray(v, dtype=float).copy()

    def set_gripper(self, g: float) -> None:
        self._gripper = float(g)

    def request_reset(self) -> None:
        self._reset_requested = True

    def stop(self) -> None:
        self._running = False
        self.wait(3000)

    def run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # reported to the window's status bar, one line
            self.failed.emit(f"station stopped: {type(exc).__name__}: {exc}")

    def _loop(self) -> None:
        from devices.geometry import quat_mul, yaw_quat
        from devices.sim.station import make_station

        station = make_station(self._task, image_size=self._view_size)
        station.connect()
        period = 1.0 / self._fps
        seed = 0
        next_t = time.perf_counter()
        target = None
        while self._running:
            if self._reset_requested:
                self._reset_requested = False
                station.reset(seed)
                seed += 1
                target = station.get_state().ee_pose.copy()
            v = self._velocity
            target[:3] += v[:3] * period
            if v[3]:
                target[3:] = quat_mul(yaw_quat(v[3] * period), target[3:])
            applied = station.send_action(Action(target, self._gripper))
            target = applied.ee_pose.copy()
            station.step(period)
            self.frames.emit({name: station.render(name) for name in station.cameras})
            st = station.status()
            state = station.get_state()
            self.status.emit({"pose": state.ee_pose, "gripper": state.gripper, "score": st.score,
                              "success": st.success, "time": station.time})
            next_t += period
            delay = next_t - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                next_t = time.perf_counter()
        station.disconnect()
