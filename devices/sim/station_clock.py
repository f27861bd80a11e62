"""The station's simulated time as a clock: sleeping to a deadline steps the physics.

Headless recording and evaluation run as fast as the machine can simulate and render, and every
tick error is zero by construction. Given the safety controller, the clock ticks it every control
period on the way (10 ms at 100 Hz), exactly as a real control loop would. The recorder
(`recorder.record`) and the Gymnasium environment (`devices.sim.gym_env`) both step time this way.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

from devices.control import SafetyController

if TYPE_CHECKING:
    from devices.sim.station import SimStation


class StationClock:
    """Simulated seconds since the station's last reset; `sleep_until` steps the physics.

    With a ``controller``, time advances in control periods: the physics is stepped to each
    control instant ``k / controller.rate_hz`` and the controller ticks there (its command then
    holds for the next period), so a recorder tick at t sees the command the controller applied
    at t. ``before_tick(now)`` runs just before each control tick (a take-over button, a policy
    runtime's schedule). Without a controller the physics is stepped in one go.
    """

    realtime = False

    def __init__(self, station: "SimStation", controller: SafetyController | None = None,
                 before_tick: Callable[[float], None] | None = None) -> None:
        self.station = station
        self.controller = controller
        self.before_tick = before_tick

    def now(self) -> float:
        return self.station.time

    def sleep_until(self, t: float) -> None:
        station = self.station
        if self.controller is None:
            dt = t - station.time
            if dt > 1e-9:
                station.step(dt)
            return
        period = self.controller.dt
        half_step = 0.5 / station.config.physics_hz  # physics time moves in whole steps
        while True:
            now = station.time
            k = math.floor((now + half_step) / period) + 1  # the next control instant after now
            tick_at = k * period
            if tick_at > t + 1e-9:
                break
            station.step(tick_at - now)
            self._tick(tick_at)
        rest = t - station.time
        if rest > 1e-9:
            station.step(rest)

    def _tick(self, now: float) -> None:
        if self.before_tick is not None:
            self.before_tick(now)
        self.controller.tick(now)
