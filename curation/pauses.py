"""Idle-pause detection on the commanded action stream.

A policy that sees about a second of history learns to stand still if the demonstrations contain
idle pauses longer than that memory. A pause here is a span where the *commanded* end-effector
pose and the gripper command stay (nearly) still for at least ``min_pause_s``.

Why it is built this way:

* Hand tremor and device noise make the commanded pose jitter even while the operator does nothing
  (the scripted expert adds smooth noise of 2-5 mm std). Sample-to-sample speed of that jitter
  reaches 0.05-0.09 m/s, a third of real motion, so a raw speed threshold cannot separate them.
  Velocity is therefore estimated as the least-squares slope over a centred window of
  ``velocity_window_s`` (0.9 s by default), which brings the jitter down to a 99th percentile of
  0.012-0.032 m/s (2-5 mm noise) while motion stays above ~0.1 m/s, so ``max_linear_speed``
  (0.05 m/s) sits between them (figures from bench/pause_detection.py, see docs/curation.md).
* A long window blurs the edges of a pause inwards (the slope near an edge still sees motion).
  Each still run found with the slope is therefore grown outwards, sample by sample, while the raw
  commanded position stays within ``edge_radius`` of the run's median position (plus three times
  the jitter measured inside the run), its orientation within ``edge_angle`` and the gripper
  command unchanged. That recovers the true extent without letting jitter decide it.
* Only then is ``min_pause_s`` applied, so a 1.5 s pause is not lost to edge blur.

Everything is plain numpy on arrays, so it runs on any episode reader and in tests on synthetic
streams through the same code path.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from devices.geometry import quat_conj, quat_mul, quat_normalize, quat_to_rotvec


@dataclass(frozen=True)
class PauseSettings:
    """Thresholds for pause detection (documented in docs/curation.md)."""

    min_pause_s: float = 1.0  # shortest still span proposed as a trim
    max_linear_speed: float = 0.05  # m/s, of the windowed slope of the commanded position
    max_angular_speed: float = 0.2  # rad/s, of the windowed commanded rotation rate
    max_gripper_change: float = 0.05  # gripper command change (of [0, 1]) that ends a still span
    velocity_window_s: float = 0.9  # centred window for the least-squares velocity
    edge_radius: float = 0.004  # m: base radius for growing a still run back to its true edges
    edge_angle: float = 0.05  # rad: same, for orientation

    def validate(self) -> None:
        for name, value in asdict(self).items():
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"pause setting {name} must be a finite number >= 0, got {value!r}")
        if self.min_pause_s <= 0:
            raise ValueError(f"--min-pause must be positive, got {self.min_pause_s}")


@dataclass(frozen=True)
class PauseSpan:
    """A proposed trim: samples ``[start_index, end_index)``; times in episode seconds."""

    start_index: int
    end_index: int
    start: float  # time of the first still sample
    end: float  # time of the last still sample plus one sample period
    where: str  # "start" (idle start), "end" (idle end) or "middle"

    @property
    def duration(self) -> float:
        return self.end - self.start

    def as_dict(self) -> dict:
        return {**asdict(self), "duration": self.duration}


def sample_period(time: np.ndarray) -> float:
    """Median tick period (robust to the odd late tick)."""
    if len(time) < 2:
        return 0.1
    dt = float(np.median(np.diff(time)))
    return dt if dt > 0 else 0.1


def _slope_weights(n: int) -> np.ndarray:
    """Weights that turn n-1 consecutive steps into the least-squares slope over n samples."""
    # slope = sum_i (i - c) x_i / sum_i (i - c)^2 ; rewritten over steps d_k = x_{k+1} - x_k.
    i = np.arange(n) - (n - 1) / 2.0
    denom = float(np.sum(i * i)) or 1.0
    return np.array([-np.sum(i[: k + 1]) for k in range(n - 1)]) / denom


def windowed_rate(steps: np.ndarray, dt: float, window: int) -> np.ndarray:
    """Per-sample rate (units/s) from per-step increments ``steps`` (T-1, D), least-squares slope.

    Returns (T, D). Near the ends the window shrinks symmetrically so no padding invents stillness.
    """
    t = steps.shape[0] + 1
    out = np.zeros((t, steps.shape[1]))
    half = max(1, window // 2)
    if t > 2 * half:  # interior: the full window, as one correlation per dimension
        w = _slope_weights(2 * half + 1)
        for d in range(steps.shape[1]):
            out[half:t - half, d] = np.correlate(steps[:, d], w, mode="valid") / dt
    for idx in [*range(min(half, t)), *range(max(half, t - half), t)]:  # ends: shrink the window
        h = min(half, idx, t - 1 - idx)
        if h == 0:  # an end sample: its single adjacent step
            out[idx] = steps[min(idx, t - 2)] / dt
            continue
        out[idx] = _slope_weights(2 * h + 1) @ steps[idx - h: idx + h] / dt
    return out


def rotation_steps(quats: np.ndarray) -> np.ndarray:
    """Rotation vectors (rad) from each commanded orientation to the next (T-1, 3), world frame."""
    q = quat_normalize(np.asarray(quats, dtype=float))
    return quat_to_rotvec(quat_mul(q[1:], quat_conj(q[:-1])))


def still_core(time: np.ndarray, pose: np.ndarray, gripper: np.ndarray, settings: PauseSettings) -> np.ndarray:
    """Samples whose windowed linear/angular speed is below threshold (before edge growth)."""
    n = len(time)
    if n < 2:
        return np.zeros(n, dtype=bool)
    dt = sample_period(time)
    window = max(3, int(round(settings.velocity_window_s / dt)) | 1)
    lin = windowed_rate(np.diff(pose[:, :3].astype(float), axis=0), dt, window)
    ang = windowed_rate(rotation_steps(pose[:, 3:7]), dt, window)
    still = (np.linalg.norm(lin, axis=1) <= settings.max_linear_speed) & (
        np.linalg.norm(ang, axis=1) <= settings.max_angular_speed)
    return still & ~_gripper_moves(gripper, settings)


def _gripper_moves(gripper: np.ndarray, settings: PauseSettings) -> np.ndarray:
    """True at samples where the gripper command differs from the previous sample's."""
    g = np.asarray(gripper, dtype=float).reshape(len(gripper), -1)[:, 0]
    moves = np.zeros(len(g), dtype=bool)
    moves[1:] = np.abs(np.diff(g)) > settings.max_gripper_change
    return moves


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of the True runs in a boolean mask."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=False)]


def _grow(run: tuple[int, int], pos: np.ndarray, quats: np.ndarray, g: np.ndarray,
          settings: PauseSettings) -> tuple[int, int]:
    """Extend a still run outwards while the raw command stays near the run's centre."""
    a, b = run
    centre = np.median(pos[a:b], axis=0)
    jitter = float(np.sqrt(np.mean(np.sum((pos[a:b] - centre) ** 2, axis=1))))
    radius = settings.edge_radius + 3.0 * jitter
    angle = 2.0 * np.arccos(np.clip(np.abs(quats @ quats[(a + b) // 2]), 0.0, 1.0))
    near = (np.linalg.norm(pos - centre, axis=1) <= radius) & (angle <= settings.edge_angle + 1e-9)
    left = near[:a] & (np.abs(g[:a] - g[a]) <= settings.max_gripper_change)
    right = near[b:] & (np.abs(g[b:] - g[b - 1]) <= settings.max_gripper_change)
    # Grow while contiguous: up to the nearest sample that is not near (or is across a gripper change).
    far_left = np.flatnonzero(~left)
    far_right = np.flatnonzero(~right)
    return (int(far_left[-1]) + 1 if len(far_left) else 0), b + (int(far_right[0]) if len(far_right) else len(right))


def detect_pauses(time: np.ndarray, pose: np.ndarray, gripper: np.ndarray,
                  settings: PauseSettings = PauseSettings()) -> list[PauseSpan]:
    """Still spans of at least ``settings.min_pause_s`` in one episode's commanded actions.

    ``time`` (T,) seconds, ``pose`` (T, 7) [x, y, z, qw, qx, qy, qz], ``gripper`` (T,) or (T, 1).
    """
    settings.validate()
    time = np.asarray(time, dtype=float)
    pose = np.asarray(pose, dtype=float)
    n = len(time)
    if n == 0:
        return []
    if pose.shape != (n, 7) or len(gripper) != n:
        raise ValueError(f"action arrays do not match time: pose {pose.shape}, gripper {np.shape(gripper)}, T={n}")
    if not (np.all(np.isfinite(pose)) and np.all(np.isfinite(np.asarray(gripper, dtype=float)))):
        raise ValueError("action stream contains NaN or infinite values")
    dt = sample_period(time)
    gripper_moves = _gripper_moves(gripper, settings)
    pos = pose[:, :3]
    quats = quat_normalize(pose[:, 3:7])
    g = np.asarray(gripper, dtype=float).reshape(n, -1)[:, 0]
    grown: list[tuple[int, int]] = []
    for run in _runs(still_core(time, pose, gripper, settings)):
        a, b = _grow(run, pos, quats, g, settings)
        if grown and (a < grown[-1][1] or (a == grown[-1][1] and not gripper_moves[a])):
            a = grown.pop()[0]  # growth made two runs meet: one pause
        grown.append((a, b))
    spans = []
    for a, b in grown:
        start, end = float(time[a]), float(time[b - 1]) + dt
        if end - start + 1e-9 < settings.min_pause_s:
            continue
        where = "start" if a == 0 else "end" if b == n else "middle"
        spans.append(PauseSpan(a, b, start, end, where))
    return spans


def spans_to_mask(n: int, spans: list[tuple[int, int]]) -> np.ndarray:
    """Boolean mask of length n, True inside any of the [start, end) index spans."""
    mask = np.zeros(n, dtype=bool)
    for a, b in spans:
        mask[max(0, a):min(n, b)] = True
    return mask


@dataclass(frozen=True)
class DetectionScore:
    """Detected pauses against a ground-truth log (the scripted expert's own pause events)."""

    true_pauses: int
    detected: int
    found: int  # true pauses matched by a detection
    correct: int  # detections matched to a true pause
    sample_precision: float
    sample_recall: float

    @property
    def precision(self) -> float:
        return self.correct / self.detected if self.detected else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.true_pauses if self.true_pauses else 1.0

    def __add__(self, other: "DetectionScore") -> "DetectionScore":
        """Pool two scores (sample figures weighted by their event counts, as a rough pool)."""
        def pool(a: float, wa: int, b: float, wb: int) -> float:
            return (a * wa + b * wb) / (wa + wb) if wa + wb else 1.0
        return DetectionScore(self.true_pauses + other.true_pauses, self.detected + other.detected,
                              self.found + other.found, self.correct + other.correct,
                              pool(self.sample_precision, self.detected, other.sample_precision, other.detected),
                              pool(self.sample_recall, self.true_pauses, other.sample_recall, other.true_pauses))


def true_pauses(events: list[dict], duration: float, min_pause_s: float) -> list[tuple[float, float]]:
    """Logged ``pause`` events clipped to the episode; those shorter than ``min_pause_s`` once
    clipped (cut off by the episode's end) are left out, as no detector could be asked to find them."""
    out = []
    for ev in events:
        if ev.get("kind") != "pause":
            continue
        start, end = max(0.0, float(ev["start"])), min(duration, float(ev["end"]))
        if np.isfinite(start) and np.isfinite(end) and end - start >= min_pause_s:
            out.append((start, end))
    return out


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def score_detection(detected: list[tuple[float, float]], truth: list[tuple[float, float]],
                    duration: float) -> DetectionScore:
    """Event-level and time-level agreement. A detection and a true pause match when they overlap
    by at least half of the shorter of the two (edges differ naturally: a pause often runs on into
    the operator's own settling, which is just as idle)."""
    def matches(d: tuple[float, float], t: tuple[float, float]) -> bool:
        return _overlap(d, t) >= 0.5 * min(d[1] - d[0], t[1] - t[0])

    found = sum(any(matches(d, t) for d in detected) for t in truth)
    correct = sum(any(matches(d, t) for t in truth) for d in detected)
    inter = sum(_overlap(d, t) for d in detected for t in truth)
    det_total = sum(d[1] - d[0] for d in detected)
    true_total = sum(t[1] - t[0] for t in truth)
    return DetectionScore(len(truth), len(detected), found, correct,
                          inter / det_total if det_total else 1.0, inter / true_total if true_total else 1.0)
