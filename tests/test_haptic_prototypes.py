"""The haptic SDK backends against what we did not write: the SDK headers' prototypes
(tests/data/haptic_prototypes.h, copied from dhdc.h and HD/hdDevice.h, HD/hdScheduler.h), and
their watchdog and calibration behaviour on a stand-in library at the outermost edge (the loaded
shared library: every function the backend looks up is recorded with the argtypes/restype it set)."""

from __future__ import annotations

import ctypes
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from teleop_fakes import FakeHaptic, wait_until

from devices.teleop import DeviceUnavailable
from devices.teleop import haptic_backends as hb
from devices.teleop.haptic import HapticOptions, HapticStylusDevice, HapticTransport

HEADER = Path(__file__).parent / "data" / "haptic_prototypes.h"
_UNSET = object()


# -- the header, parsed ------------------------------------------------------------------------------
def parse_header(text: str) -> dict[str, tuple[str, list[str]]]:
    """name → (return type, [parameter types]), with typedefs resolved to C base types."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    typedefs: dict[str, str] = {}
    protos: dict[str, tuple[str, list[str]]] = {}
    for stmt in (s.strip() for s in text.split(";")):
        stmt = " ".join(stmt.split())
        if not stmt:
            continue
        if stmt.startswith("typedef"):
            fn_ptr = re.match(r"typedef [^(]*\(\s*\w*\s*\*\s*(\w+)\s*\)", stmt)
            if fn_ptr:
                typedefs[fn_ptr.group(1)] = "callback"
                continue
            body = stmt[len("typedef"):].replace("*", " * ")
            *ctype, name = body.split()
            typedefs[name] = " ".join(ctype)
            continue
        m = re.match(r"(.+?)\s*\b(\w+)\s*\((.*)\)$", stmt)
        assert m, f"unparsed prototype: {stmt}"
        params = [] if m.group(3).strip() in ("", "void") else [p.split("=")[0].strip() for p in m.group(3).split(",")]
        protos[m.group(2)] = (_resolve(m.group(1), typedefs), [_param_type(p, typedefs) for p in params])
    return protos


def _param_type(param: str, typedefs: dict[str, str]) -> str:
    array = "[" in param
    param = re.sub(r"\[.*?\]", "", param).replace("*", " * ")
    words = param.split()
    ctype = " ".join(words[:-1]) if len(words) > 1 and words[-1] != "*" else " ".join(words)
    return _resolve(ctype + (" *" if array else ""), typedefs)


def _resolve(ctype: str, typedefs: dict[str, str]) -> str:
    words = [w for w in ctype.replace("*", " * ").split() if w != "const"]
    out: list[str] = []
    for w in words:
        out.extend(_resolve(typedefs[w], typedefs).split() if w in typedefs else [w])
    return " ".join(out)


C_TO_CTYPES = {
    "char": {ctypes.c_byte, ctypes.c_char}, "unsigned char": {ctypes.c_ubyte}, "int": {ctypes.c_int},
    "unsigned int": {ctypes.c_uint}, "unsigned short": {ctypes.c_ushort}, "unsigned long": {ctypes.c_ulong},
    "double": {ctypes.c_double}, "bool": {ctypes.c_bool}, "char *": {ctypes.c_char_p},
    "double *": {ctypes.POINTER(ctypes.c_double)}, "int *": {ctypes.POINTER(ctypes.c_int)},
    "void *": {ctypes.c_void_p}, "void": {None}, "callback": {hb.HDSchedulerCallback},
    "HDErrorInfo": {hb._HDErrorInfo},
}


def test_the_header_parser_reads_typedefs_arrays_and_defaults():
    protos = parse_header(HEADER.read_text())
    assert protos["dhdGetOrientationFrame"] == ("int", ["double *", "char"])
    assert protos["dhdHasActiveWrist"] == ("bool", ["char"])
    assert protos["hdScheduleAsynchronous"] == ("unsigned long", ["callback", "void *", "unsigned short"])
    assert protos["hdGetString"] == ("char *", ["unsigned int"])
    assert protos["hdCheckCalibration"] == ("unsigned int", [])


# -- the stand-in library ------------------------------------------------------------------------------
class FakeFn:
    """One exported function: records the argtypes/restype the backend sets, answers with ``impl``."""

    def __init__(self, name: str, impl) -> None:
        self.name, self.impl, self.argtypes, self.restype, self.calls = name, impl, _UNSET, _UNSET, []

    def __call__(self, *args):
        self.calls.append(args)
        return self.impl(*args)


class FakeLib:
    def __init__(self, impls: dict) -> None:
        self._impls = impls
        self.fns: dict[str, FakeFn] = {}

    def __getattr__(self, name: str) -> FakeFn:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self.fns:
            if name not in self._impls:
                raise AttributeError(f"the library has no {name}")
            self.fns[name] = FakeFn(name, self._impls[name])
        return self.fns[name]


def _deref(arg):
    return getattr(arg, "_obj", arg)  # byref(x) → x


def openhaptics_lib(calibration: int = 0x5000) -> tuple[FakeLib, dict]:  # 0x5000: HD_CALIBRATION_OK
    state = {"forces": [], "async": [], "running": False}

    def get_doublev(pname, ptr):
        obj = _deref(ptr)
        if pname == hb.HD_CURRENT_TRANSFORM:
            for i, v in enumerate(np.eye(4).T.reshape(16)):
                obj[i] = v
        else:
            obj.value = 3.3

    def get_integerv(pname, ptr):
        _deref(ptr).value = 3 if pname == hb.HD_OUTPUT_DOF else 0

    def set_doublev(pname, arr):
        if pname == hb.HD_CURRENT_FORCE:
            state["forces"].append((threading.current_thread().name, [arr[0], arr[1], arr[2]]))

    def scheduler():
        while state["running"]:
            for cb in list(state["async"]):
                if cb(None) == hb.HD_CALLBACK_DONE:
                    state["async"].remove(cb)
            time.sleep(0.001)

    def start():
        state["running"] = True
        threading.Thread(target=scheduler, name="hd-servo", daemon=True).start()

    def stop():
        state["running"] = False

    def schedule_async(cb, data, prio):
        state["async"].append(cb)
        return len(state["async"])

    lib = FakeLib({
        "hdInitDevice": lambda name: 1, "hdGetError": lambda: hb._HDErrorInfo(),
        "hdGetErrorString": lambda code: b"", "hdGetString": lambda p: b"Touch",
        "hdGetDoublev": get_doublev, "hdGetIntegerv": get_integerv, "hdSetDoublev": set_doublev,
        "hdScheduleSynchronous": lambda cb, data, prio: cb(data), "hdScheduleAsynchronous": schedule_async,
        "hdUnschedule": lambda h: state["async"].clear(), "hdCheckCalibration": lambda: calibration,
        "hdStartScheduler": start, "hdStopScheduler": stop,
        **{n: (lambda *a: None) for n in ("hdBeginFrame", "hdEndFrame", "hdDisableDevice", "hdMakeCurrentDevice",
                                          "hdEnable")}})
    return lib, state


def dhd_lib(calibrated: bool = True) -> tuple[FakeLib, dict]:
    state = {"forces": [], "watchdog": []}

    def set_force(*args):
        state["forces"].append(args[:6])
        return 0

    lib = FakeLib({
        "dhdErrorGetLastStr": lambda: b"", "dhdOpen": lambda: 0, "dhdClose": lambda i: 0,
        "dhdEnableForce": lambda v, i: 0, "dhdGetSystemName": lambda i: b"omega.6",
        "dhdGetButtonMask": lambda i: 0, "dhdHasActiveWrist": lambda i: True,
        "dhdGetPosition": lambda x, y, z, i: 0, "dhdSetForceAndTorque": set_force,
        "dhdGetOrientationFrame": lambda m, i: 0, "dhdGetMaxForce": lambda i: 12.0,
        "dhdSetWatchdog": lambda v, i: state["watchdog"].append(v) or 0,
        "drdIsInitialized": lambda i: calibrated})
    return lib, state


@pytest.fixture
def sdk(monkeypatch, tmp_path):
    """Installs a stand-in library as the one ``_load`` opens (the SDK path env var points at a file)."""
    def install(backend_cls, lib):
        so = tmp_path / "libsdk.so"
        so.write_bytes(b"")
        monkeypatch.setenv(backend_cls.LIBRARY_ENV, str(so))
        monkeypatch.setattr(hb, "_load", lambda path, what: lib)
        return backend_cls()
    return install


# -- the prototypes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["openhaptics", "forcedimension"])
def test_every_declared_prototype_matches_the_sdk_header(sdk, kind):
    lib, _ = openhaptics_lib() if kind == "openhaptics" else dhd_lib()
    backend = sdk(hb.OpenHapticsBackend if kind == "openhaptics" else hb.ForceDimensionBackend, lib)
    backend.open()
    backend.exchange(np.zeros(3), np.zeros(3))
    backend.close()
    protos = parse_header(HEADER.read_text())
    problems = []
    for name, fn in lib.fns.items():
        if name not in protos:
            problems.append(f"{name}: not in the header")
            continue
        ret, params = protos[name]
        restype = ctypes.c_int if fn.restype is _UNSET else fn.restype  # ctypes' default is int
        if ret != "void" and restype not in C_TO_CTYPES[ret]:
            problems.append(f"{name}: restype {restype} but the header returns {ret}")
        if fn.argtypes is _UNSET:
            if params:
                problems.append(f"{name}: no argtypes but the header takes {params}")
            continue
        if len(fn.argtypes) != len(params):
            problems.append(f"{name}: {len(fn.argtypes)} argtypes, the header has {len(params)} parameters")
            continue
        problems += [f"{name} arg {i}: {a} but the header has {p}"
                     for i, (a, p) in enumerate(zip(fn.argtypes, params, strict=True)) if a not in C_TO_CTYPES[p]]
    assert problems == []
    assert len(lib.fns) >= 10


# -- calibration and the SDK-side watchdogs -------------------------------------------------------------
def test_an_uncalibrated_touch_is_refused_at_connect_with_one_line(sdk):
    lib, state = openhaptics_lib(calibration=0x5002)
    backend = sdk(hb.OpenHapticsBackend, lib)
    with pytest.raises(DeviceUnavailable) as err:
        backend.open()
    msg = str(err.value)
    assert "not calibrated" in msg and "inkwell" in msg and "\n" not in msg
    assert not state["running"]  # the scheduler was stopped again


def test_an_uncalibrated_force_dimension_device_is_refused_at_connect(sdk):
    lib, state = dhd_lib(calibrated=False)
    backend = sdk(hb.ForceDimensionBackend, lib)
    with pytest.raises(DeviceUnavailable, match="omega.6 is not calibrated") as err:
        backend.open()
    assert "\n" not in str(err.value) and not lib.fns["dhdEnableForce"].calls  # never powered


def test_openhaptics_servo_thread_zeroes_the_force_when_the_python_loop_stalls(sdk):
    lib, state = openhaptics_lib()
    backend = sdk(hb.OpenHapticsBackend, lib)
    backend.watchdog_s = 0.02
    backend.open()
    try:
        backend.exchange(np.array([1.0, 0.0, 0.0]), np.zeros(3))
        assert state["forces"][-1][1] == [1.0, 0.0, 0.0]
        # no further exchange (the Python loop stalled): the SDK's servo thread zeroes the force
        assert wait_until(lambda: state["forces"][-1] == ("hd-servo", [0.0, 0.0, 0.0]), timeout=2.0)
    finally:
        backend.close()


def test_force_dimension_controller_watchdog_is_armed_and_zero_force_zeroes(sdk):
    lib, state = dhd_lib()
    backend = sdk(hb.ForceDimensionBackend, lib)
    backend.watchdog_s = 0.02
    info = backend.open()
    assert info.output_dof == 6 and info.max_force == 12.0
    assert state["watchdog"] == [160]  # 20 ms in the controller's 125 us units
    backend.exchange(np.array([1.0, 0.0, 0.0]), np.zeros(3))
    backend.zero_force()
    assert state["forces"][-1] == (0.0,) * 6
    backend.close()


def test_a_stalled_servo_loop_is_zeroed_by_the_transport_watchdog_thread():
    backend = FakeHaptic()
    dev = HapticStylusDevice(HapticTransport(backend))
    dev.save_settings = lambda s: None
    transport = dev.transport
    transport.configure(HapticOptions(watchdog_s=0.02), np.eye(3))
    with dev:
        assert wait_until(lambda: len(backend.forces) > 20)
        backend.stall = threading.Event()  # the next exchange hangs: the servo loop is stuck
        assert wait_until(lambda: backend.zeroed >= 1, timeout=3.0)
        assert "watchdog zeroed the force" in dev.read_command().message
        backend.stall.set()
        assert wait_until(lambda: not transport.watchdog_tripped)
    assert transport.stats().watchdog_trips >= 1
