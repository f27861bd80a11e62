"""A teleoperation device as the live station's agent: device → mapper → target, once per tick.

The device's own reader thread keeps its newest sample; at each control tick the station thread
reads the newest command, maps it (`devices.teleop.TeleopMapper`: clutch, scale, deadzone, frames)
and sends the target — so teleop and every other agent reach the robot through the same tick.
Record / stop / discard / mark-recovery button presses go to ``on_events`` (the station worker
turns them into a Qt signal for the Record panel); a haptic device gets the contact wrench back.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from devices.robot import Action
from devices.teleop.command import STREAM_ACTIONS, ButtonAction, MotionMode
from devices.teleop.device import TeleopDevice
from devices.teleop.mapper import TeleopMapper, TeleopTarget


class DeviceAgent:
    uses_cameras = False

    def __init__(self, device: TeleopDevice, on_events: Callable[[list[str]], None] | None = None,
                 name: str | None = None) -> None:
        self.device = device
        self.mapper = TeleopMapper(device.settings.mapper)
        self.on_events = on_events
        self.name = name or device.kind
        self.last: TeleopTarget | None = None
        self.commands = 0  # commands mapped so far (the device's command rate is measured from it)

    def reset(self, station: object, seed: int) -> None:
        target = station.target  # type: ignore[attr-defined]
        self.mapper.reset(np.asarray(station.get_state().ee_pose, dtype=float), gripper=float(target.gripper))  # type: ignore[attr-defined]

    def act(self, station: object) -> Action | None:
        command = self.device.read_command()
        pose = np.asarray(station.get_state().ee_pose, dtype=float) if self.mapper.needs_robot_pose else None  # type: ignore[attr-defined]
        out = self.mapper.update(command, robot_pose=pose)
        self.last = out
        self.commands += 1
        events = [str(e) for e in out.events if e in STREAM_ACTIONS]
        if events and self.on_events is not None:
            self.on_events(events)
        feed = getattr(self.device, "set_feedback_wrench", None)
        if feed is not None:
            feed(np.asarray(station.contact_wrench(), dtype=float))  # type: ignore[attr-defined]
        return None if out.hold else out.action

    def follow(self, applied: Action) -> None:
        """The robot clipped a rate device's target (workspace edge): integrate on from what it
        accepted, so pushing against the edge never winds the target up outside it."""
        if self.last is not None and not self.last.hold and getattr(self.device, "mode", None) == MotionMode.DELTA:
            if not np.allclose(applied.ee_pose[:3], self.last.action.ee_pose[:3], atol=1e-6):
                self.mapper.reset(applied.ee_pose, gripper=applied.gripper)


# Record-panel command for each device button action.
BUTTON_COMMANDS = {
    ButtonAction.RECORD: "start",
    ButtonAction.STOP: "stop",
    ButtonAction.DISCARD: "discard",
    ButtonAction.RECORD_TOGGLE: "toggle",
    ButtonAction.MARK_RECOVERY: "mark",
}
