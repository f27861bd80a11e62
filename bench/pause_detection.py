"""Pause detection quality and speed on expert episodes recorded from the station.

Records EPISODES episodes per noise level through the recorder (scripted expert with injected
idle pauses, hand-tremor noise and mistakes), runs the detector with its default settings and
scores it against the expert's own pause log. Prints one JSON object.

    python bench/pause_detection.py [EPISODES_PER_NOISE] [SEED]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from curation.pauses import PauseSettings, detect_pauses, sample_period, score_detection, true_pauses, windowed_rate  # noqa: E402
from curation.source import load_actions, open_dataset  # noqa: E402
from recorder.record import StationRecordingSettings, record_station  # noqa: E402
from recorder.sources import SourceOptions  # noqa: E402

NOISES = (0.002, 0.005, 0.008)


def main() -> None:
    per_noise = int(sys.argv[1]) if len(sys.argv) > 1 else 25
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    settings = PauseSettings()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for noise in NOISES:
            root = Path(tmp) / f"noise_{noise}"
            record_station(StationRecordingSettings(
                out=str(root), episodes=per_noise, seed=seed, cameras=(), fsync=False,
                source=SourceOptions(expert_noise=noise, expert_pause_prob=0.4, expert_mistake_prob=0.3)))
            ds = open_dataset(root)
            total, seconds, samples = None, 0.0, 0
            unlogged: dict[str, int] = {}
            still_speed, moving_speed = [], []
            for eid in ds.episode_ids():
                ep = load_actions(ds, eid)
                t0 = time.perf_counter()
                spans = detect_pauses(ep.time, ep.pose, ep.gripper, settings)
                seconds += time.perf_counter() - t0
                samples += len(ep)
                truth = true_pauses(ep.events, ep.duration, settings.min_pause_s)
                score = score_detection([(s.start, s.end) for s in spans], truth, ep.duration)
                total = score if total is None else total + score
                # Windowed speed inside logged pauses (0.5 s in from their edges) vs during motion.
                dt = sample_period(ep.time)
                window = max(3, int(round(settings.velocity_window_s / dt)) | 1)
                speed = np.linalg.norm(windowed_rate(np.diff(ep.pose[:, :3], axis=0), dt, window), axis=1)
                inside = np.zeros(len(ep), bool)
                for a, b in truth:
                    inside |= (ep.time >= a + 0.5) & (ep.time < b - 0.5)
                step = np.r_[0.0, np.linalg.norm(np.diff(ep.pose[:, :3], axis=0), axis=1) / dt]
                still_speed.append(speed[inside])
                moving_speed.append(speed[step > 0.2])
                for s in spans:  # where the detections the log does not explain are
                    if score_detection([(s.start, s.end)], truth, ep.duration).correct == 0:
                        unlogged[s.where] = unlogged.get(s.where, 0) + 1
            results[str(noise)] = {
                "episodes": len(ds), "true_pauses": total.true_pauses, "detected": total.detected,
                "precision": round(total.precision, 4), "recall": round(total.recall, 4),
                "sample_precision": round(total.sample_precision, 4), "sample_recall": round(total.sample_recall, 4),
                "unlogged_detections_by_where": unlogged,
                "windowed_speed_in_pauses_p99": round(float(np.percentile(np.concatenate(still_speed), 99)), 4),
                "windowed_speed_in_pauses_max": round(float(np.concatenate(still_speed).max()), 4),
                "windowed_speed_moving_p1": round(float(np.percentile(np.concatenate(moving_speed), 1)), 4),
                "detect_ms_per_1000_samples": round(1000 * seconds / samples * 1000, 3),
            }
    print(json.dumps({"bench": "pause_detection", "settings": asdict(settings), "expert_pause_prob": 0.4,
                      "expert_mistake_prob": 0.3, "seed": seed, "by_noise_m": results}))


if __name__ == "__main__":
    main()
