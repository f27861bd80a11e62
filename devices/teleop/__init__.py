"""Teleoperation input devices: one command stream whatever the operator holds.

    device = make_device("spacemouse")          # or keyboard, openxr, haptic, handheld, replay:FILE
    mapper = TeleopMapper(device.settings.mapper)
    with device:
        target = mapper.update(device.read_command(), robot_pose=robot.get_state().ee_pose)
        robot.hold() if target.hold else robot.send_action(target.action)

See docs/devices.md for the devices, their ids and mappings, and the settings file.
"""

from devices.teleop.command import (
    STREAM_ACTIONS,
    ButtonAction,
    DeviceSample,
    DeviceStatus,
    MotionMode,
    RawEvent,
    TeleopCommand,
)
from devices.teleop.device import TeleopDevice, Transport
from devices.teleop.errors import DeviceError, DeviceLost, DeviceUnavailable, MalformedInput, StreamEnded
from devices.teleop.mapper import TeleopMapper, TeleopTarget
from devices.teleop.registry import DEVICE_KINDS, device_specs, make_device
from devices.teleop.settings import ClutchMode, DeviceSettings, MapperSettings, SettingsStore, config_dir

__all__ = [
    "STREAM_ACTIONS", "ButtonAction", "ClutchMode", "DEVICE_KINDS", "DeviceError", "DeviceLost", "DeviceSample",
    "DeviceSettings", "DeviceStatus", "DeviceUnavailable", "MalformedInput", "MapperSettings", "MotionMode",
    "RawEvent", "SettingsStore", "StreamEnded", "TeleopCommand", "TeleopDevice", "TeleopMapper", "TeleopTarget",
    "Transport", "config_dir", "device_specs", "make_device",
]
