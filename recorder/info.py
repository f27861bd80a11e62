"""A dataset at a glance: how many episodes, frames and seconds, which tasks, devices and cameras."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from recorder.dataset import Dataset, require_dataset
from recorder.scene import episode_scene


def dataset_info(root: str | Path) -> dict:
    """Summary of a dataset (opening it recovers crashed recordings first, as any open does)."""
    ds = Dataset(require_dataset(root))
    tasks: Counter[str] = Counter()
    devices: Counter[str] = Counter()
    cameras: Counter[str] = Counter()
    rates: set[float] = set()
    frames = complete = successes = 0
    duration = 0.0
    unreadable: list[str] = []
    severities: dict[str, list[float]] = {}
    randomized = 0
    for eid in ds.episode_ids():
        try:
            with ds.open(eid) as ep:
                n = len(ep)
                frames += n
                rates.add(ep.rate_hz)
                duration += ep.duration_s
                complete += int(ep.complete)
                successes += int(bool(ep.success))
                tasks[ep.task] += 1
                devices[ep.device] += 1
                scene = episode_scene(ep.attr)
                for name, value in scene.items():
                    severities.setdefault(name, []).append(value)
                stored = ep.attr("scene")
                randomized += int(isinstance(stored, dict) and bool(stored.get("randomize")))
                for cam in ep.camera_names:
                    h, w, _ = ep.image_shape(cam)
                    cameras[f"{cam} {w}x{h}"] += 1
        except (OSError, KeyError, ValueError, TypeError) as exc:
            unreadable.append(f"{eid}: {' '.join(str(exc).split())}")
    episodes = len(ds) - len(unreadable)
    rate: float | list[float] | None = None
    if len(rates) == 1:
        rate = rates.pop()
    elif rates:
        rate = sorted(rates)
    return {
        "dataset": str(ds.root),
        "episodes": episodes,
        "complete": complete,
        "incomplete": episodes - complete,
        "successes": successes,
        "frames": frames,
        "duration_s": round(duration, 3),
        "rate_hz": rate,
        "tasks": dict(sorted(tasks.items())),
        "devices": dict(sorted(devices.items())),
        "cameras": dict(sorted(cameras.items())),
        "scenes": scene_summary(severities, episodes),
        "randomized": randomized,
        "recovered": list(ds.recovery.recovered),
        "recovery_notes": list(ds.recovery.notes),
        "in_progress": ds.in_progress,
        "problems": ds.problems() + unreadable,
    }


def scene_summary(severities: dict[str, list[float]], episodes: int) -> dict[str, dict]:
    """Per perturbation: how many episodes were recorded under it (severity > 0) and the spread of
    its severity over all episodes (those that do not name it count as 0)."""
    out = {}
    for name, values in sorted(severities.items()):
        full = values + [0.0] * max(0, episodes - len(values))
        out[name] = {"episodes": sum(v > 0 for v in values), "min": round(min(full), 4),
                     "max": round(max(full), 4), "mean": round(sum(full) / len(full), 4)}
    return out
