"""Pick the compute device: CUDA when there is one, else the CPU — or exactly what was asked."""

from __future__ import annotations

import torch


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r} asked for, but this machine has no usable CUDA GPU; use --device cpu or auto")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise ValueError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N")


def shared_process_threads(cpu_count: int | None = None) -> int:
    """Torch threads for inference in a process that also runs other busy threads (the GUI's station,
    renderer and recorder): half the cores, at least one.

    Torch otherwise starts one thread per core, and its threads spin while they wait for each other;
    on the 2-core machine, under load, two threads took a chunk from ~50 ms (p50) to 200–260 ms, with
    p95 over a second (`python bench/policy_speed.py` measures the quiet case).
    """
    import os

    return max(1, (cpu_count if cpu_count is not None else os.cpu_count() or 1) // 2)
