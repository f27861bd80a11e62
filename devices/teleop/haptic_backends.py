"""Haptic SDK backends through ctypes: 3D Systems Touch (OpenHaptics, libHD) and Force Dimension (libdhd).

Each library is looked for only when asked (``$DEMOSTATION_LIBHD`` / ``$DEMOSTATION_LIBDHD`` first,
then the loader's search path and the SDKs' usual install folders) and loaded only when found; with
none installed the user gets one line naming what to install. Constants are from OpenHaptics'
``hdDefines.h`` and the DHD SDK's ``dhdc.h`` C API (functions take the device id as last argument);
every ctypes prototype declared here is checked against the headers' prototypes by
tests/test_haptic_prototypes.py (tests/data/haptic_prototypes.h).

Each backend also keeps a watchdog on the SDK's side of the servo loop, so a stalled Python loop
cannot leave a force on the hand: the Force Dimension controller's own watchdog
(``dhdSetWatchdog``: forces are cut when no force command arrives in time), and for OpenHaptics an
asynchronous callback in the SDK's servo scheduler that zeroes the force once the last command is
older than ``watchdog_s`` (it runs Python, so it needs the GIL: it covers a loop that is blocked or
sleeping, not one stuck in C code holding the GIL; the transport's watchdog thread is the same).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from devices.teleop.errors import DeviceLost, DeviceUnavailable
from devices.teleop.frames import OPERATOR_FROM_DHD, OPERATOR_FROM_Y_UP
from devices.teleop.haptic import HapticBackend, HapticInfo, HapticState

# OpenHaptics HD API constants (hdDefines.h)
HD_CURRENT_BUTTONS = 0x2000
HD_CURRENT_TRANSFORM = 0x2052
HD_DEVICE_MODEL_TYPE = 0x2501
HD_OUTPUT_DOF = 0x2554
HD_NOMINAL_MAX_CONTINUOUS_FORCE = 0x2604
HD_CURRENT_FORCE = 0x2700
HD_FORCE_OUTPUT = 0x4000
HD_MAX_SCHEDULER_PRIORITY = 0xFFFF
HD_DEFAULT_SCHEDULER_PRIORITY = 0x7FFF  # (HD_MAX + HD_MIN) / 2
HD_CALLBACK_DONE = 0
HD_CALLBACK_CONTINUE = 1
HD_INVALID_HANDLE = 0xFFFFFFFF
HD_CALIBRATION_OK = 0x5000
HD_CALIBRATION_NEEDS_UPDATE = 0x5001
HD_CALIBRATION_NEEDS_MANUAL_INPUT = 0x5002

DHD_WATCHDOG_UNIT_S = 125e-6  # dhdSetWatchdog counts in multiples of 125 us


def find_library(env_var: str, names: tuple[str, ...], files: tuple[str, ...], dirs: tuple[str, ...]) -> str | None:
    """Path (or loader name) of a shared library, or None; ``env_var`` overrides the search."""
    env = os.environ.get(env_var)
    if env:
        return env if Path(env).is_file() else None
    for d in dirs:
        for f in files:
            p = Path(d) / f
            if p.is_file():
                return str(p)
    for n in names:
        found = ctypes.util.find_library(n)
        if found:
            return found
    return None


def _load(path: str, what: str) -> ctypes.CDLL:
    try:
        return ctypes.CDLL(path)
    except OSError as exc:
        raise DeviceUnavailable(f"{what} library {path} could not be loaded: {exc}") from None


class _HDErrorInfo(ctypes.Structure):
    _fields_ = [("errorCode", ctypes.c_uint), ("internalErrorCode", ctypes.c_int), ("hHD", ctypes.c_uint)]


_CALLBACK_TYPE: Callable[..., Any] = ctypes.WINFUNCTYPE if sys.platform == "win32" else ctypes.CFUNCTYPE  # type: ignore[attr-defined]
HDSchedulerCallback = _CALLBACK_TYPE(ctypes.c_uint, ctypes.c_void_p)
HDSchedulerHandle = ctypes.c_ulong  # hdScheduler.h: typedef unsigned long HDSchedulerHandle


class OpenHapticsBackend(HapticBackend):
    """3D Systems Touch / Touch X / Phantom through the OpenHaptics HD API.

    Each exchange runs one synchronous callback in the OpenHaptics servo scheduler (1 kHz): begin
    frame, read transform and buttons, set the force, end frame. Positions come in millimetres in a
    y-up frame (x right, z towards the user); the transform is column-major.
    """

    name = "openhaptics"
    operator_from_native = OPERATOR_FROM_Y_UP
    LIBRARY_ENV = "DEMOSTATION_LIBHD"

    @classmethod
    def library(cls) -> str | None:
        return find_library(cls.LIBRARY_ENV, ("HD",), ("libHD.so", "libHD.so.3.4", "hd.dll"),
                            ("/usr/lib", "/usr/lib64", "/usr/local/lib", "/opt/OpenHaptics/Developer/lib"))

    @classmethod
    def missing_message(cls) -> str:
        return ("3D Systems Touch needs OpenHaptics: libHD.so not found; install the OpenHaptics SDK and the "
                f"Touch device driver, or set {cls.LIBRARY_ENV}=/path/to/libHD.so")

    def __init__(self) -> None:
        self._lib: Any = None
        self._handle = HD_INVALID_HANDLE
        self._matrix = (ctypes.c_double * 16)()
        self._buttons = ctypes.c_int(0)
        self._force = (ctypes.c_double * 3)()
        self._zero = (ctypes.c_double * 3)()
        self._callback = HDSchedulerCallback(self._servo)  # a reference kept for the SDK's lifetime
        self._watchdog_callback = HDSchedulerCallback(self._watchdog)
        self._calibration_callback = HDSchedulerCallback(self._check_calibration)
        self._calibration = ctypes.c_uint(HD_CALIBRATION_OK)
        self._watchdog_handle: int | None = None
        self._last_command = 0.0

    def open(self) -> HapticInfo:
        path = self.library()
        if path is None:
            raise DeviceUnavailable(self.missing_message())
        lib = _load(path, "OpenHaptics")
        lib.hdInitDevice.restype = ctypes.c_uint
        lib.hdInitDevice.argtypes = [ctypes.c_char_p]
        lib.hdGetError.restype = _HDErrorInfo
        lib.hdGetErrorString.restype = ctypes.c_char_p
        lib.hdGetErrorString.argtypes = [ctypes.c_uint]
        lib.hdGetString.restype = ctypes.c_char_p
        lib.hdGetString.argtypes = [ctypes.c_uint]
        lib.hdGetDoublev.argtypes = [ctypes.c_uint, ctypes.POINTER(ctypes.c_double)]
        lib.hdSetDoublev.argtypes = [ctypes.c_uint, ctypes.POINTER(ctypes.c_double)]
        lib.hdGetIntegerv.argtypes = [ctypes.c_uint, ctypes.POINTER(ctypes.c_int)]
        lib.hdScheduleSynchronous.argtypes = [HDSchedulerCallback, ctypes.c_void_p, ctypes.c_ushort]
        lib.hdScheduleAsynchronous.restype = HDSchedulerHandle
        lib.hdScheduleAsynchronous.argtypes = [HDSchedulerCallback, ctypes.c_void_p, ctypes.c_ushort]
        lib.hdUnschedule.argtypes = [HDSchedulerHandle]
        lib.hdCheckCalibration.restype = ctypes.c_uint
        lib.hdCheckCalibration.argtypes = []
        for fn in ("hdBeginFrame", "hdEndFrame", "hdDisableDevice", "hdMakeCurrentDevice"):
            getattr(lib, fn).argtypes = [ctypes.c_uint]
        lib.hdEnable.argtypes = [ctypes.c_uint]
        self._lib = lib
        self._handle = lib.hdInitDevice(None)  # HD_DEFAULT_DEVICE
        self._check("OpenHaptics could not open the device (is the Touch plugged in and set up?)", DeviceUnavailable)
        max_force = ctypes.c_double(0.0)
        lib.hdGetDoublev(HD_NOMINAL_MAX_CONTINUOUS_FORCE, ctypes.byref(max_force))
        dof = ctypes.c_int(3)
        lib.hdGetIntegerv(HD_OUTPUT_DOF, ctypes.byref(dof))
        model = (lib.hdGetString(HD_DEVICE_MODEL_TYPE) or b"").decode(errors="replace")
        lib.hdEnable(HD_FORCE_OUTPUT)
        lib.hdStartScheduler()
        self._check("OpenHaptics scheduler did not start", DeviceUnavailable)
        lib.hdScheduleSynchronous(self._calibration_callback, None, HD_DEFAULT_SCHEDULER_PRIORITY)
        if self._calibration.value != HD_CALIBRATION_OK:
            self.close()
            how = ("put the stylus in its inkwell" if self._calibration.value == HD_CALIBRATION_NEEDS_MANUAL_INPUT
                   else "move the stylus through its whole range")
            raise DeviceUnavailable(f"the {model or 'Touch'} is not calibrated (hdCheckCalibration "
                                    f"0x{self._calibration.value:x}): {how}, or run Touch Setup, then connect again")
        self._last_command = time.monotonic()
        self._watchdog_handle = int(lib.hdScheduleAsynchronous(self._watchdog_callback, None,
                                                               HD_DEFAULT_SCHEDULER_PRIORITY))
        return HapticInfo(model=model or "Touch", max_force=float(max_force.value) or 0.88, output_dof=int(dof.value))

    def _check(self, what: str, error: type[Exception]) -> None:
        err = self._lib.hdGetError()
        if err.errorCode:
            text = (self._lib.hdGetErrorString(err.errorCode) or b"").decode(errors="replace")
            raise error(f"{what}: {text} (HD error 0x{err.errorCode:x})")

    def _check_calibration(self, _data: Any) -> int:
        lib, h = self._lib, self._handle
        lib.hdBeginFrame(h)
        self._calibration.value = lib.hdCheckCalibration()
        lib.hdEndFrame(h)
        return HD_CALLBACK_DONE

    def _watchdog(self, _data: Any) -> int:
        """Every servo tick, in the SDK's scheduler thread: zero the force once the last command is
        older than ``watchdog_s`` (the Python servo loop stalled)."""
        lib = self._lib
        if lib is None:
            return HD_CALLBACK_DONE
        if time.monotonic() - self._last_command > self.watchdog_s:
            lib.hdBeginFrame(self._handle)
            lib.hdSetDoublev(HD_CURRENT_FORCE, self._zero)
            lib.hdEndFrame(self._handle)
        return HD_CALLBACK_CONTINUE

    def zero_force(self) -> None:
        self._force[0] = self._force[1] = self._force[2] = 0.0
        self._last_command = 0.0  # the scheduler's watchdog callback keeps the device at zero

    def _servo(self, _data: Any) -> int:
        lib, h = self._lib, self._handle
        lib.hdBeginFrame(h)
        lib.hdGetDoublev(HD_CURRENT_TRANSFORM, self._matrix)
        lib.hdGetIntegerv(HD_CURRENT_BUTTONS, ctypes.byref(self._buttons))
        lib.hdSetDoublev(HD_CURRENT_FORCE, self._force)
        lib.hdEndFrame(h)
        return HD_CALLBACK_DONE

    def exchange(self, force: np.ndarray, torque: np.ndarray) -> HapticState:
        self._force[0], self._force[1], self._force[2] = (float(v) for v in force)
        self._last_command = time.monotonic()
        self._lib.hdScheduleSynchronous(self._callback, None, HD_MAX_SCHEDULER_PRIORITY)
        self._check("OpenHaptics lost the device", DeviceLost)
        m = np.array(self._matrix, dtype=float).reshape(4, 4).T  # column-major → row-major
        m[:3, 3] /= 1000.0  # mm → m
        return HapticState(matrix=m, buttons=int(self._buttons.value))

    def close(self) -> None:
        lib, self._lib = self._lib, None
        if lib is None or self._handle == HD_INVALID_HANDLE:
            return
        self._force[0] = self._force[1] = self._force[2] = 0.0
        if self._watchdog_handle is not None:
            lib.hdUnschedule(self._watchdog_handle)
            self._watchdog_handle = None
        lib.hdStopScheduler()
        lib.hdDisableDevice(self._handle)
        self._handle = HD_INVALID_HANDLE


class ForceDimensionBackend(HapticBackend):
    """Force Dimension omega / delta / sigma / lambda devices through the DHD C API (metres, newtons;
    native frame x towards the user, y right, z up)."""

    name = "forcedimension"
    operator_from_native = OPERATOR_FROM_DHD
    LIBRARY_ENV = "DEMOSTATION_LIBDHD"
    DEFAULT_LIMIT = 8.0  # N, when the SDK cannot tell (omega.x: 12 N continuous)

    @classmethod
    def library(cls) -> str | None:
        return find_library(cls.LIBRARY_ENV, ("dhd",), ("libdhd.so", "libdhd.so.3", "dhdms64.dll"),
                            ("/usr/lib", "/usr/local/lib", "/opt/forcedimension/lib"))

    @classmethod
    def missing_message(cls) -> str:
        return ("Force Dimension devices need the DHD SDK: libdhd.so not found; install the Force Dimension SDK "
                f"or set {cls.LIBRARY_ENV}=/path/to/libdhd.so")

    def __init__(self) -> None:
        self._lib: Any = None
        self._id = -1
        self._pos = [ctypes.c_double() for _ in range(3)]
        self._rot = (ctypes.c_double * 9)()

    def _error(self) -> str:
        text = self._lib.dhdErrorGetLastStr() if self._lib is not None else b""
        return (text or b"unknown error").decode(errors="replace")

    def open(self) -> HapticInfo:
        path = self.library()
        if path is None:
            raise DeviceUnavailable(self.missing_message())
        lib = _load(path, "Force Dimension")
        lib.dhdErrorGetLastStr.restype = ctypes.c_char_p
        lib.dhdOpen.restype = ctypes.c_int
        lib.dhdGetSystemName.restype = ctypes.c_char_p
        lib.dhdGetSystemName.argtypes = [ctypes.c_byte]
        lib.dhdEnableForce.argtypes = [ctypes.c_ubyte, ctypes.c_byte]
        lib.dhdSetForceAndTorque.argtypes = [ctypes.c_double] * 6 + [ctypes.c_byte]
        lib.dhdGetPosition.argtypes = [ctypes.POINTER(ctypes.c_double)] * 3 + [ctypes.c_byte]
        lib.dhdGetOrientationFrame.argtypes = [ctypes.POINTER(ctypes.c_double), ctypes.c_byte]
        lib.dhdGetButtonMask.restype = ctypes.c_uint
        lib.dhdGetButtonMask.argtypes = [ctypes.c_byte]
        lib.dhdClose.argtypes = [ctypes.c_byte]
        self._lib = lib
        self._id = lib.dhdOpen()
        if self._id < 0:
            raise DeviceUnavailable(f"no Force Dimension device could be opened: {self._error()}")
        model = (lib.dhdGetSystemName(self._id) or b"").decode(errors="replace")
        limit = self.DEFAULT_LIMIT
        if hasattr(lib, "dhdGetMaxForce"):
            lib.dhdGetMaxForce.restype = ctypes.c_double
            lib.dhdGetMaxForce.argtypes = [ctypes.c_byte]
            reported = float(lib.dhdGetMaxForce(self._id))
            limit = reported if reported > 0 else limit
        dof = 3
        if hasattr(lib, "dhdHasActiveWrist"):
            lib.dhdHasActiveWrist.restype = ctypes.c_bool  # dhdc.h: bool dhdHasActiveWrist(char ID)
            lib.dhdHasActiveWrist.argtypes = [ctypes.c_byte]
            dof = 6 if lib.dhdHasActiveWrist(self._id) else 3
        if hasattr(lib, "dhdSetWatchdog"):  # SDK >= 3.3.2: the controller cuts forces on its own
            lib.dhdSetWatchdog.argtypes = [ctypes.c_ubyte, ctypes.c_byte]
            units = max(1, min(255, int(round(self.watchdog_s / DHD_WATCHDOG_UNIT_S))))
            if lib.dhdSetWatchdog(units, self._id) < 0:
                raise DeviceUnavailable(f"Force Dimension device refused its watchdog: {self._error()}")
        if hasattr(lib, "drdIsInitialized"):  # libdrd (a superset of libdhd): is the device calibrated?
            lib.drdIsInitialized.restype = ctypes.c_bool  # drdc.h: bool drdIsInitialized(char ID)
            lib.drdIsInitialized.argtypes = [ctypes.c_byte]
            if not lib.drdIsInitialized(self._id):
                lib.dhdClose(self._id)
                self._id = -1
                raise DeviceUnavailable(f"the {model or 'Force Dimension device'} is not calibrated (drdIsInitialized "
                                        "is false): run the SDK's autoinit (or move it through its calibration "
                                        "position), then connect again")
        if lib.dhdEnableForce(1, self._id) < 0:
            raise DeviceUnavailable(f"Force Dimension device refused force output: {self._error()}")
        return HapticInfo(model=model or "Force Dimension", max_force=limit, output_dof=dof)

    def exchange(self, force: np.ndarray, torque: np.ndarray) -> HapticState:
        lib, i = self._lib, self._id
        f = [float(v) for v in force] + [float(v) for v in torque]
        if lib.dhdSetForceAndTorque(*f, i) < 0:
            raise DeviceLost(f"Force Dimension device stopped answering: {self._error()}")
        if lib.dhdGetPosition(*(ctypes.byref(p) for p in self._pos), i) < 0:
            raise DeviceLost(f"Force Dimension device stopped answering: {self._error()}")
        m = np.eye(4)
        if lib.dhdGetOrientationFrame(self._rot, i) >= 0:
            m[:3, :3] = np.array(self._rot, dtype=float).reshape(3, 3)
        m[:3, 3] = [p.value for p in self._pos]
        return HapticState(matrix=m, buttons=int(lib.dhdGetButtonMask(i)))

    def zero_force(self) -> None:
        lib = self._lib
        if lib is not None and self._id >= 0:
            lib.dhdSetForceAndTorque(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, self._id)

    def close(self) -> None:
        lib, self._lib = self._lib, None
        if lib is None or self._id < 0:
            return
        lib.dhdSetForceAndTorque(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, self._id)
        lib.dhdClose(self._id)
        self._id = -1


HAPTIC_BACKENDS: dict[str, type[OpenHapticsBackend] | type[ForceDimensionBackend]] = {
    OpenHapticsBackend.name: OpenHapticsBackend,
    ForceDimensionBackend.name: ForceDimensionBackend,
}


def make_backend(name: str | None = None) -> HapticBackend:
    """The named backend, or the first whose library is installed; one-line error otherwise."""
    if name is not None:
        cls = HAPTIC_BACKENDS.get(name)
        if cls is None:
            raise ValueError(f"unknown haptic backend {name!r}: choose {', '.join(HAPTIC_BACKENDS)}")
        return cls()
    for cls in HAPTIC_BACKENDS.values():
        if cls.library() is not None:
            return cls()
    raise DeviceUnavailable("no haptic SDK found: install OpenHaptics (3D Systems Touch, libHD.so) or the Force "
                            "Dimension SDK (libdhd.so), or set DEMOSTATION_LIBHD / DEMOSTATION_LIBDHD")
