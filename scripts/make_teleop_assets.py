"""Regenerate the shipped synthetic device streams under assets/teleop/ (deterministic)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devices.teleop.synthetic import write_spacemouse_demo  # noqa: E402

if __name__ == "__main__":
    path = write_spacemouse_demo(ROOT / "assets" / "teleop" / "spacemouse_demo.jsonl")
    print(path)
