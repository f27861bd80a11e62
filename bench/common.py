"""What several benchmarks share (not a benchmark itself): recording expert demos through the
recorder, the policy config they time or train, and driving an offscreen Qt event loop.

Scripts import it as ``bench.common`` after putting the repository root on ``sys.path``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable


def record_expert_demos(out: Path, episodes: int, *, seed: int, task: str = "pick_place", noise: float = 0.004,
                        mistake_prob: float = 0.3, pause_prob: float = 0.0) -> dict:
    """Record ``episodes`` with the task's scripted expert on seeds ``seed``, ``seed + 1``, ... exactly as
    `demostation record` does (no fsync: a benchmark's dataset is thrown away); returns the report summary."""
    from recorder.record import StationRecordingSettings, record_station
    from recorder.sources import SourceOptions

    report = record_station(StationRecordingSettings(
        out=str(out), task=task, episodes=episodes, seed=seed, fsync=False,
        source=SourceOptions(expert_noise=noise, expert_mistake_prob=mistake_prob, expert_pause_prob=pause_prob)))
    return report.summary()


def policy_config(preset_name: str, config_file: str | None, threads: int) -> Any:
    """The preset's `RunConfig` with ``config_file``'s overrides (as `demostation train --config`), after
    setting torch to ``threads`` threads (0: torch's default)."""
    import torch

    from policy.config import load_config_file, preset

    if threads:
        torch.set_num_threads(threads)
    cfg = preset(preset_name)
    if config_file:
        cfg = cfg.with_overrides(load_config_file(config_file))
    return cfg


def process_events(app: Any, seconds: float, until: Callable[[], bool] | None = None) -> bool:
    """Run the Qt event loop for up to ``seconds``, stopping early once ``until()`` holds.

    Returns whether ``until`` held (always False without one): a benchmark measures the GUI as an
    operator sees it, so it waits by serving events, never by sleeping the GUI thread for long."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if until is not None and until():
            return True
        time.sleep(0.002)
    return False
