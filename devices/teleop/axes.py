"""Live per-axis motion of a device, in the operator's frame and the robot's: "see the axes before
you record".

A wrong sign or a swapped axis in a device's decoding or in its ``axis_map`` is invisible in a list
of target positions but obvious when pushing the cap away shows "away" and the robot's "-x" at
once. ``AxisMonitor`` turns each command into that view with exactly the mapper's arithmetic (clip,
per-axis flip, ``axis_map``), so what it shows is what the robot will be told; the command line
(``demostation devices --watch``) and the Station panel only draw it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from devices.teleop.command import MotionMode, TeleopCommand
from devices.teleop.quat import q_conj, q_mul, q_normalize, q_to_rotvec
from devices.teleop.settings import AXIS_NAMES, MapperSettings

# What a positive value on each operator axis means to the person at the device.
OPERATOR_WORDS = {"x": ("right", "left"), "y": ("away", "toward you"), "z": ("up", "down"),
                  "rx": ("pitch up", "pitch down"), "ry": ("roll right", "roll left"),
                  "rz": ("turn left", "turn right")}
SHOWN = 0.1  # |value| above which an axis counts as moving (fraction of full deflection, or m/s, rad/s)


@dataclass(frozen=True)
class AxisMotion:
    """One moment's motion per axis (x, y, z, rx, ry, rz).

    ``operator``: in the operator frame after the per-axis flips; ``robot``: the same motion in the
    robot base frame (``axis_map`` applied). Rate devices: fraction of full deflection; absolute
    devices: m/s and rad/s of the hand (before the mapper's scale).
    """

    operator: np.ndarray
    robot: np.ndarray
    unit: str

    def dominant(self) -> str:
        """The strongest operator-frame motion in words, with the robot axis it drives ("" at rest)."""
        i = int(np.argmax(np.abs(self.operator)))
        if abs(self.operator[i]) < SHOWN:
            return ""
        name = AXIS_NAMES[i]
        words = OPERATOR_WORDS[name][0 if self.operator[i] > 0 else 1]
        part = self.robot[:3] if i < 3 else self.robot[3:]
        j = int(np.argmax(np.abs(part)))
        robot_axis = ("x", "y", "z")[j] if i < 3 else ("rx", "ry", "rz")[j]
        return f"{words} -> robot {'+' if part[j] > 0 else '-'}{robot_axis}"


class AxisMonitor:
    """Turns a device's commands into ``AxisMotion`` for one ``MapperSettings`` (swap settings with
    ``settings`` when the operator flips an axis)."""

    def __init__(self, settings: MapperSettings) -> None:
        self.settings = settings
        self._last: tuple[float, np.ndarray] | None = None  # (time, pose) of absolute devices
        self.peak_operator = np.zeros(6)
        self.peak_robot = np.zeros(6)

    def update(self, command: TeleopCommand) -> AxisMotion:
        if not command.ok:
            motion = np.zeros(6)
            self._last = None
            unit = "deflection" if command.mode is MotionMode.DELTA else "m/s, rad/s"
        elif command.mode is MotionMode.DELTA:
            motion = np.zeros(6) if command.twist is None else np.clip(np.asarray(command.twist, float), -1, 1)
            unit = "deflection"
        else:
            motion = self._pose_rate(command)
            unit = "m/s, rad/s"
        operator = motion * np.asarray(self.settings.flip_signs) + 0.0  # no "-0.00" on screen
        r = self.settings.rotation
        robot = np.concatenate([r @ operator[:3], r @ operator[3:]])
        for peak, now in ((self.peak_operator, operator), (self.peak_robot, robot)):
            bigger = np.abs(now) > np.abs(peak)
            peak[bigger] = now[bigger]
        return AxisMotion(operator=operator, robot=robot, unit=unit)

    def _pose_rate(self, command: TeleopCommand) -> np.ndarray:
        if command.pose is None:
            self._last = None
            return np.zeros(6)
        pose = np.asarray(command.pose, dtype=float)
        last, self._last = self._last, (command.time, pose)
        if last is None or command.time <= last[0]:
            return np.zeros(6)
        dt = command.time - last[0]
        turn = q_mul(q_normalize(pose[3:].tolist()), q_conj(q_normalize(last[1][3:].tolist())))
        return np.concatenate([(pose[:3] - last[1][:3]) / dt, np.asarray(q_to_rotvec(turn)) / dt])


def format_motion(motion: AxisMotion) -> str:
    """One line: both frames per axis, and the dominant motion in words."""
    op = " ".join(f"{a}{v:+.2f}" for a, v in zip(AXIS_NAMES, motion.operator, strict=True))
    rb = " ".join(f"{a}{v:+.2f}" for a, v in zip(AXIS_NAMES, motion.robot, strict=True))
    words = motion.dominant()
    return f"operator [{op}]  robot [{rb}]" + (f"  {words}" if words else "")


def set_axis_flip(device, axis: str, flipped: bool) -> MapperSettings:
    """Flip (or unflip) one operator axis of ``device`` and save it in its settings; the new mapper
    settings, for whoever maps this device's commands (the mapper reads them on every update)."""
    settings = device.settings
    axes = [a for a, f in zip(AXIS_NAMES, settings.mapper.axis_flip, strict=True) if f and a != axis]
    if flipped:
        axes.append(axis)
    mapper = settings.mapper.with_flipped(axes)
    device.save_settings(dataclasses.replace(settings, mapper=mapper))
    return mapper
