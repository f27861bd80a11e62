"""One closed-loop episode in simulated time: runner, safety controller and station, event by event.

The loop advances the station one control tick (10 ms at 100 Hz) at a time. At every observation
tick (10 Hz) it observes and, when the runner is due, requests a chunk; the chunk is computed at
once but only *arrives* (is written into the buffer) at the first control tick after its latency
has elapsed in simulated time. Meanwhile the controller keeps executing the old buffer. So the
robot sees exactly the schedule it would see with a policy that takes that long, yet the episode
runs as fast as the physics allows and, with a fixed latency, is bit-for-bit reproducible.

Timing with n_execute = 8, latency L (each '.' is a 10 Hz period, '|' a request):

    obs/request   |.......|.......|.......
    chunk arrives  <-L->|   <-L->|   <-L->|
    buffer        [old chunk][chunk 1, due < arrival dropped][chunk 2 ...
    controller    ||||||||||||||||||||||||||||||| 100 Hz, always running
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from devices.control import SafetyController
from devices.safety import SafetyLimits
from policy.runtime.observation import observe
from policy.runtime.runner import ChunkRunner, RunnerStats

if TYPE_CHECKING:
    from devices.sim.station import SimStation

_EPS = 1e-9


@dataclass
class RolloutResult:
    success: bool
    score: float
    periods: int  # observation periods (10 Hz steps) executed
    sim_seconds: float
    interventions: dict[str, int]
    stats: RunnerStats = field(default_factory=RunnerStats)


def run_rollout(station: "SimStation", runner: ChunkRunner, limits: SafetyLimits,
                cameras: tuple[str, ...] = (), on_period: Callable[[float], None] | None = None,
                should_stop: Callable[[], bool] | None = None) -> RolloutResult:
    """Run until the task reports done (success or its time limit). The station must be reset and
    the runner's predictor attached; ``cameras`` are rendered only for observations a request uses."""
    settings = runner.settings
    controller = SafetyController(station, source=runner, limits=limits, rate_hz=settings.control_hz)
    controller.reset()
    per = settings.ticks_per_period
    dt_c = 1.0 / settings.control_hz
    window = (settings.n_obs_steps - 1) * settings.dt + _EPS
    cams = {name: station.cameras[name] for name in cameras}
    k = 0
    status = station.status()
    while True:
        now = k * dt_c
        if k % per == 0:
            if should_stop is not None and should_stop():
                break
            use_images = bool(cams) and runner.next_request_time(now) - now <= window
            runner.observe(observe(station, cams if use_images else {}, now, controller.last_applied))
            if on_period is not None:
                on_period(now)
            if runner.wants_request(now):
                runner.request(now)
        runner.deliver(now, controller.last_applied)
        controller.tick(now)
        station.step(dt_c)
        k += 1
        if k % per == 0:
            status = station.status()
            if status.done:
                break
    return RolloutResult(success=bool(status.success), score=float(status.score), periods=k // per,
                         sim_seconds=float(station.time), interventions=dict(controller.interventions),
                         stats=runner.stats)
