"""Errors of the teleoperation devices, each meant to reach the operator as one line.

They are ``RuntimeError`` (a device, not the user's input, failed) except ``MalformedInput``, which is a
``ValueError`` because a corrupt recording or a malformed report is bad input.
"""

from __future__ import annotations


class DeviceError(RuntimeError):
    """A teleoperation device failed; the message says what to do, in one line."""


class DeviceUnavailable(DeviceError):
    """The device (or the library/runtime it needs) is not there: opening it failed."""


class DeviceLost(DeviceError):
    """A device that was working stopped answering (unplugged, runtime gone); it may come back."""


class StreamEnded(DeviceError):
    """A replayed stream reached its end: there is nothing more to read and nothing to reconnect."""


class MalformedInput(ValueError):
    """A raw report, sample or recording line that cannot be parsed."""
