"""The teleop mapper: one device-independent command stream in, one end-effector target out.

It applies the device model's settings — deadzone, scaling, the rotation from the operator frame
into the robot base frame, and the clutch — and keeps the gripper state for devices that only have
buttons for it. A device that is lost, errs or sends non-finite numbers makes it *hold*: the target
freezes, the clutch lets go, and when commands are live again the target restarts from the robot's
measured pose so the arm never jumps. The mapper does not clip to the workspace; the safety filter
every command passes through does that.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from devices.robot import Action
from devices.teleop.command import STREAM_ACTIONS, ButtonAction, DeviceStatus, MotionMode, TeleopCommand
from devices.teleop.quat import Quat, Vec3, mat_vec, q_conj, q_mul, q_normalize, q_to_rotvec, rotvec_to_q
from devices.teleop.settings import ClutchMode, MapperSettings


@dataclass(frozen=True)
class TeleopTarget:
    """The mapper's answer for one command.

    ``hold`` True means: do not track ``action``, hold the robot where it is (``Robot.hold``).
    ``events`` are the record / stop / discard / mark-recovery presses for the recorder.
    """

    action: Action
    hold: bool
    status: DeviceStatus
    message: str
    events: tuple[ButtonAction, ...]
    clutch_engaged: bool
    command_time: float


class TeleopMapper:
    """Turns ``TeleopCommand``s into ``TeleopTarget``s for one device model's ``MapperSettings``.

    The pose arithmetic is scalar (``devices.teleop.quat``): this sits on the device-event →
    target path, whose budget is a few milliseconds at the 99th percentile.
    """

    def __init__(self, settings: MapperSettings | None = None, *, max_dt: float = 0.1) -> None:
        self.settings = settings or MapperSettings()
        self._max_dt = max_dt
        self._pos: list[float] | None = None  # target position (base frame)
        self._quat: Quat = (1.0, 0.0, 0.0, 0.0)  # target orientation
        self._gripper = 0.0
        self._last_update: float | None = None
        self._anchor: tuple[Vec3, Quat, Vec3, Quat] | None = None  # device pos/quat, target pos/quat at engage
        self._clutch_toggled = False
        self._gripper_held_before = False
        self._resync = False

    @property
    def needs_robot_pose(self) -> bool:
        """True when the next ``update`` should get the measured pose (first update, after a hold)."""
        return self._pos is None or self._resync

    @property
    def target(self) -> Action | None:
        return None if self._pos is None else Action(np.array([*self._pos, *self._quat]), self._gripper)

    def reset(self, pose: np.ndarray, gripper: float = 0.0) -> None:
        """Start (again) from the robot's pose: the target is where the robot is."""
        self._set_pose(pose)
        self._gripper = float(np.clip(gripper, 0.0, 1.0))
        self._release_clutch()
        self._last_update = None
        self._resync = False

    def _set_pose(self, pose: np.ndarray) -> None:
        p = np.asarray(pose, dtype=float).reshape(7).tolist()
        self._pos = p[:3]
        self._quat = q_normalize(p[3:])

    def update(self, command: TeleopCommand, robot_pose: np.ndarray | None = None,
               now: float | None = None) -> TeleopTarget:
        """The target for ``command``. ``robot_pose`` (measured, base frame) seeds the first target and
        re-seeds it after a hold; ``now`` (monotonic seconds) times rate integration."""
        now = time.monotonic() if now is None else now
        if self._pos is None:
            if robot_pose is None:
                raise ValueError("the teleop mapper needs the robot's pose first: call reset(pose) "
                                 "or pass robot_pose")
            self.reset(robot_pose)
        events = tuple(a for a in command.pressed if a in STREAM_ACTIONS)

        problem = self._problem(command)
        if problem:
            self._release_clutch()
            self._resync = True
            self._last_update = None
            return self._answer(command, hold=True, message=problem, events=events, engaged=False)

        if self._resync and robot_pose is not None:
            self._set_pose(robot_pose)
            self._resync = False
        dt = 0.0 if self._last_update is None else min(max(now - self._last_update, 0.0), self._max_dt)
        self._last_update = now

        self._update_gripper(command)
        engaged = self._clutch_engaged(command)
        if command.mode is MotionMode.DELTA:
            if engaged and command.twist is not None:
                self._integrate_twist(command.twist, dt)
        else:
            engaged = engaged and command.pose is not None  # an untracked device moves nothing
            if engaged:
                self._follow_pose(command.pose)
            else:
                self._release_clutch()
        return self._answer(command, hold=False, message=command.message, events=events, engaged=engaged)

    # -- internals ----------------------------------------------------------------------------------
    @staticmethod
    def _problem(command: TeleopCommand) -> str:
        if command.status is not DeviceStatus.OK:
            return command.message or f"{command.device} is {command.status.value}; the robot holds"
        if not command.is_finite():
            return f"{command.device} sent non-finite values; the robot holds"
        return ""

    def _answer(self, command: TeleopCommand, *, hold: bool, message: str,
                events: tuple[ButtonAction, ...], engaged: bool) -> TeleopTarget:
        assert self._pos is not None
        action = Action(np.array([*self._pos, *self._quat]), self._gripper)
        return TeleopTarget(action=action, hold=hold, status=command.status, message=message, events=events,
                            clutch_engaged=engaged, command_time=command.time)

    def _update_gripper(self, command: TeleopCommand) -> None:
        if command.gripper is not None:
            self._gripper = min(max(float(command.gripper), 0.0), 1.0)
        toggles = sum(1 for a in command.pressed if a is ButtonAction.GRIPPER_TOGGLE)
        if toggles % 2:
            self._gripper = 0.0 if self._gripper >= 0.5 else 1.0
        held = ButtonAction.GRIPPER_CLOSE in command.held
        if held:
            self._gripper = 1.0
        elif self._gripper_held_before:
            self._gripper = 0.0
        self._gripper_held_before = held

    def _clutch_engaged(self, command: TeleopCommand) -> bool:
        mode = self.settings.clutch
        if mode is ClutchMode.ALWAYS:
            return True
        if mode is ClutchMode.HOLD:
            return ButtonAction.CLUTCH in command.held
        toggles = sum(1 for a in command.pressed if a is ButtonAction.CLUTCH_TOGGLE)
        if toggles % 2:
            self._clutch_toggled = not self._clutch_toggled
        return self._clutch_toggled

    def _release_clutch(self) -> None:
        self._anchor = None

    def _integrate_twist(self, twist: np.ndarray, dt: float) -> None:
        s = self.settings
        v = [_deadzone(min(max(float(x), -1.0), 1.0), s.deadzone) * f for x, f in zip(twist, s.flip_signs, strict=True)]
        r = s.axis_map
        k = s.translation_scale * dt
        assert self._pos is not None
        d = mat_vec(r, v[:3])
        self._pos = [self._pos[0] + d[0] * k, self._pos[1] + d[1] * k, self._pos[2] + d[2] * k]
        if s.rotation_enabled and any(v[3:]):
            k = s.rotation_scale * dt
            w = mat_vec(r, v[3:])
            self._quat = q_normalize(q_mul(rotvec_to_q((w[0] * k, w[1] * k, w[2] * k)), self._quat))

    def _follow_pose(self, device_pose: np.ndarray) -> None:
        s = self.settings
        assert self._pos is not None
        p = [float(x) for x in device_pose]
        if self._anchor is None:
            self._anchor = ((p[0], p[1], p[2]), q_normalize(p[3:]), tuple(self._pos), self._quat)  # type: ignore[assignment]
            return
        dev_pos, dev_quat, tgt_pos, tgt_quat = self._anchor
        f = s.flip_signs
        d = _radial_deadzone([p[0] - dev_pos[0], p[1] - dev_pos[1], p[2] - dev_pos[2]], s.deadzone)
        m = mat_vec(s.axis_map, [d[0] * f[0], d[1] * f[1], d[2] * f[2]])
        k = s.translation_scale
        self._pos = [tgt_pos[0] + k * m[0], tgt_pos[1] + k * m[1], tgt_pos[2] + k * m[2]]
        if s.rotation_enabled:
            delta = q_to_rotvec(q_mul(q_normalize(p[3:]), q_conj(dev_quat)))
            w = mat_vec(s.axis_map, [delta[0] * f[3], delta[1] * f[4], delta[2] * f[5]])
            k = s.rotation_scale
            self._quat = q_normalize(q_mul(rotvec_to_q((w[0] * k, w[1] * k, w[2] * k)), tgt_quat))


def _deadzone(x: float, dz: float) -> float:
    """Per-axis deadzone that stays continuous: |x| ≤ dz → 0, full deflection stays full."""
    if dz <= 0 or x == 0.0:
        return x
    mag = max(0.0, (abs(x) - dz) / (1.0 - dz))
    return mag if x > 0 else -mag


def _radial_deadzone(d: list[float], dz: float) -> list[float]:
    n = math.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
    if dz <= 0 or n == 0.0:
        return d
    k = max(0.0, n - dz) / n
    return [d[0] * k, d[1] * k, d[2] * k]


__all__ = ["TeleopMapper", "TeleopTarget"]
