"""Station tasks, registered by name so the command line and the GUI never carry an if/elif ladder."""

from __future__ import annotations

# Importing the task modules registers them.
from devices.sim.tasks import pick_place as _pick_place  # noqa: F401,E402
from devices.sim.tasks import push_t as _push_t  # noqa: F401,E402
from devices.sim.tasks.base import Task, TaskStatus, make_task, register_task, task_names

__all__ = ["Task", "TaskStatus", "make_task", "register_task", "task_names"]
