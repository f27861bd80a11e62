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
        if out.hold:
            return None
        return self._inside_workspace(station, out.action)

    def _inside_workspace(self, station: object, action: Action) -> Action:
        """A rate device pushed past the workspace edge: keep its target on the edge, so it does
        not wind up outside (the operator would have to come all the way back before it moves)."""
        workspace = getattr(getattr(station, "config", None), "workspace", None)
        if workspace is None or getattr(self.device, "mode", None) != MotionMode.DELTA:
            return action
        inside = workspace.clip(action.ee_pose[:3])
        if np.allclose(inside, action.ee_pose[:3]):
            return action
        pose = action.ee_pose.copy()
        pose[:3] = inside
        self.mapper.reset(pose, gripper=action.gripper)
        return Action(pose, action.gripper)


# Record-panel command for each device button action.
BUTTON_COMMANDS = {
    ButtonAction.RECORD: "start",
    ButtonAction.STOP: "stop",
    ButtonAction.DISCARD: "discard",
    ButtonAction.RECORD_TOGGLE: "toggle",
    ButtonAction.MARK_RECOVERY: "mark",
}
