"""Teleop latency: from a device event to the mapper's end-effector target reflecting it.

A stand-in ``hid`` module (the outermost edge, as in the tests) hands HID reports to the real
SpaceMouse device; the time is taken when the report is handed over, and again when the mapper's
target — updated by an event-driven consumer (``wait_for_sample``) — moves in the new direction.
Reports alternate between full deflection left and right so every one must change the target's
direction. Everything between (the reader thread, report parsing, button/axis mapping, the mapper)
is product code. Prints one JSON object; the goal is p99 ≤ 5 ms.

    python bench/teleop_latency.py [--events 2000] [--interval-ms 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import queue
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devices.teleop import TeleopMapper, make_device  # noqa: E402
from devices.teleop.settings import DeviceSettings, MapperSettings  # noqa: E402
from devices.teleop.spacemouse import KNOWN_MODELS, encode_reports, operator_twist_to_raw  # noqa: E402

TARGET_P99_MS = 5.0
MODEL = KNOWN_MODELS[(0x256F, 0xC652)]  # universal receiver: one combined 13-byte report per event


class _Handle:
    def __init__(self, reports: "queue.Queue[bytes]") -> None:
        self._reports = reports

    def open_path(self, path: bytes) -> None:
        pass

    def read(self, max_length: int, timeout_ms: int = 0) -> list[int]:
        try:
            return list(self._reports.get(timeout=timeout_ms / 1000.0))
        except queue.Empty:
            return []

    def close(self) -> None:
        pass


class _HidApi:
    """Just enough of the ``hid`` module: one SpaceMouse whose reports we hand over."""

    def __init__(self) -> None:
        self.reports: queue.Queue[bytes] = queue.Queue()

    def enumerate(self, vendor_id: int = 0, product_id: int = 0) -> list[dict]:
        return [{"vendor_id": MODEL.vendor_id, "product_id": MODEL.product_id, "path": b"bench",
                 "serial_number": "bench", "usage_page": 1, "usage": 8}]

    def device(self) -> _Handle:
        return _Handle(self.reports)


def measure(events: int, interval_s: float) -> dict:
    api = _HidApi()
    settings = DeviceSettings(mapper=MapperSettings(deadzone=0.0, axis_map=((1, 0, 0), (0, 1, 0), (0, 0, 1))))
    device = make_device("spacemouse", hid_api=api, settings=settings)
    mapper = TeleopMapper(settings.mapper)
    mapper.reset(np.array([0.5, 0.0, 0.2, 1.0, 0.0, 0.0, 0.0]))
    reports = {s: encode_reports(MODEL, operator_twist_to_raw([s, 0, 0, 0, 0, 0]))[0] for s in (-1.0, 1.0)}

    expected = {"sign": 0.0, "t": 0.0}
    reflected = threading.Event()
    latencies: list[float] = []
    stop = threading.Event()

    def consume() -> None:
        seen, prev_x = 0, mapper.target.position[0]
        while not stop.is_set():
            if not device.wait_for_sample(seen, 0.1):
                continue
            command = device.read_command()
            seen = command.seq
            x = mapper.update(command).action.position[0]
            step, prev_x = x - prev_x, x
            if expected["sign"] and not reflected.is_set() and np.sign(step) == expected["sign"]:
                latencies.append(time.perf_counter() - expected["t"])
                reflected.set()

    with device:
        consumer = threading.Thread(target=consume, daemon=True)
        consumer.start()
        api.reports.put(reports[-1.0])  # start deflected to the left
        time.sleep(0.05)
        missed = 0
        for i in range(events):
            sign = 1.0 if i % 2 == 0 else -1.0
            reflected.clear()
            expected["sign"], expected["t"] = sign, time.perf_counter()
            api.reports.put(reports[sign])
            if not reflected.wait(1.0):
                missed += 1
            time.sleep(interval_s)
        stop.set()
        consumer.join(timeout=2.0)
    ms = np.array(latencies) * 1e3
    p99 = float(np.percentile(ms, 99)) if len(ms) else float("nan")
    return {
        "benchmark": "teleop_latency",
        "path": "HID report -> SpaceMouse reader thread -> parse -> TeleopCommand -> TeleopMapper target",
        "device": MODEL.name,
        "events": events, "measured": int(len(ms)), "missed": missed,
        "p50_ms": round(float(np.percentile(ms, 50)), 3), "p90_ms": round(float(np.percentile(ms, 90)), 3),
        "p99_ms": round(p99, 3), "max_ms": round(float(ms.max()), 3), "mean_ms": round(float(ms.mean()), 3),
        "target_p99_ms": TARGET_P99_MS, "meets_target": bool(p99 <= TARGET_P99_MS and missed == 0),
        "interval_ms": interval_s * 1e3, "python": platform.python_version(), "machine": platform.machine(),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=2000)
    p.add_argument("--interval-ms", type=float, default=2.0, help="pause between reports")
    args = p.parse_args(argv)
    print(json.dumps(measure(args.events, args.interval_ms / 1e3)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
