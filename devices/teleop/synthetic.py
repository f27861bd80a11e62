"""Synthetic raw streams, byte-exact to what the real devices send, for demos and lab checks.

``spacemouse_demo_stream`` is the shipped ``assets/teleop/spacemouse_demo.jsonl``: a SpaceMouse
Compact (separate translation/rotation reports of 7 bytes, button report of 3 bytes, at the
62.5 Hz the wireless models were measured to report at) reaching forward, closing the gripper,
lifting, carrying to the right with a twist, lowering, opening and pressing record. Replay it with
``--device replay:assets/teleop/spacemouse_demo.jsonl``; regenerate it with
``python scripts/make_teleop_assets.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from devices.teleop.command import RawEvent
from devices.teleop.spacemouse import KNOWN_MODELS, encode_reports, operator_twist_to_raw
from devices.teleop.stream_files import write_stream

REPORT_PERIOD = 0.016  # s

# (start s, end s, operator-frame twist at the peak) — a smooth bump from start to end
_MOTIONS = (
    (0.5, 1.5, (0.0, 0.8, 0.0, 0.0, 0.0, 0.0)),  # reach away from the operator
    (2.0, 3.0, (0.0, 0.0, 0.7, 0.0, 0.0, 0.0)),  # lift
    (3.0, 4.0, (0.8, 0.0, 0.0, 0.0, 0.0, 0.5)),  # carry right, turning
    (4.0, 5.0, (0.0, 0.0, -0.7, 0.0, 0.0, 0.0)),  # lower
)
# (press s, release s, button bit): left toggles the gripper, right toggles recording
_PRESSES = ((1.7, 1.8, 0), (5.1, 5.2, 0), (5.5, 5.6, 1))
DURATION = 6.0


def _twist_at(t: float) -> np.ndarray:
    twist = np.zeros(6)
    for start, end, peak in _MOTIONS:
        if start <= t <= end:
            twist += np.asarray(peak) * np.sin(np.pi * (t - start) / (end - start)) ** 2
    return twist


def spacemouse_demo_events(seed: int = 7) -> list[RawEvent]:
    """The demo's raw HID reports with their times (a little sensor noise on a deflected cap)."""
    model = KNOWN_MODELS[(0x256F, 0xC635)]
    rng = np.random.default_rng(seed)
    events: list[RawEvent] = []
    mask = 0
    for k in range(int(DURATION / REPORT_PERIOD)):
        t = k * REPORT_PERIOD
        raw = operator_twist_to_raw(_twist_at(t))
        raw = np.where(np.abs(raw) > 3, raw + rng.integers(-2, 3, 6), 0.0)
        reports = encode_reports(model, raw)
        new_mask = sum(1 << bit for press, release, bit in _PRESSES if press <= t < release)
        if new_mask != mask:
            reports.append(encode_reports(model, np.zeros(6), button_mask=new_mask)[-1])
            mask = new_mask
        events += [RawEvent(round(t + 0.0005 * i, 6), "hid", r) for i, r in enumerate(reports)]
    return events


def spacemouse_demo_header() -> dict:
    model = KNOWN_MODELS[(0x256F, 0xC635)]
    return {"created": "synthetic", "device": "spacemouse", "model": model.key, "name": model.name,
            "params": {"vendor_id": model.vendor_id, "product_id": model.product_id}}


def write_spacemouse_demo(path: str | Path) -> Path:
    return write_stream(Path(path), spacemouse_demo_header(), spacemouse_demo_events())
