"""The OpenXR adapter against a fake runtime that enforces the specification's frame-timing and
session-state rules (tests/openxr_fake_runtime.py; the `xr` call layer is the only thing replaced)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from openxr_fake_runtime import FakeOpenXRRuntime
from teleop_fakes import wait_until

from devices.teleop import DeviceStatus, openxr_adapter
from devices.teleop.openxr_adapter import OpenXRAdapter
from devices.teleop.pyopenxr_import import import_pyopenxr
from devices.teleop.vr import OpenXRTransport, VRControllerDevice

xr = import_pyopenxr()

HEADLESS = "XR_MND_headless"
TIMESPEC = "XR_KHR_convert_timespec_time"
WIN32 = "XR_KHR_win32_convert_performance_counter_time"


@pytest.fixture
def runtime_factory(monkeypatch, tmp_path):
    manifest = tmp_path / "active_runtime.json"
    manifest.write_text("{}")
    monkeypatch.setenv("XR_RUNTIME_JSON", str(manifest))

    def install(**kw) -> FakeOpenXRRuntime:
        rt = FakeOpenXRRuntime(**kw)
        monkeypatch.setitem(sys.modules, "xr", rt.module())
        return rt
    return install


def sampled(n: int = 5) -> list:
    """Open a right-hand adapter on the installed runtime, poll it ``n`` times, close it."""
    adapter = OpenXRAdapter("right")
    adapter.open()
    try:
        return [s for s in (adapter.poll() for _ in range(n)) if s is not None]
    finally:
        adapter.close()


def test_timespec_runtime_locates_at_converted_times_without_frames(runtime_factory):
    rt = runtime_factory(extensions=(HEADLESS, TIMESPEC))
    samples = sampled()
    assert samples and samples[-1].pose is not None
    assert "xrConvertTimespecTimeToTimeKHR" in rt.calls and "xrWaitFrame" not in rt.calls
    assert rt.violations == []


def test_steamvr_on_windows_uses_the_performance_counter_extension(runtime_factory, monkeypatch):
    rt = runtime_factory(extensions=(HEADLESS, WIN32))
    monkeypatch.setattr(openxr_adapter.sys, "platform", "win32")
    monkeypatch.setattr(openxr_adapter, "_performance_counter", lambda: __import__("ctypes").c_longlong(12345))
    samples = sampled()
    assert samples and samples[-1].pose is not None
    assert "xrConvertWin32PerformanceCounterToTimeKHR" in rt.calls and "xrWaitFrame" not in rt.calls
    assert rt.violations == []


def test_without_a_conversion_extension_every_wait_frame_is_begun_and_ended(runtime_factory):
    """The spec makes a second xrWaitFrame block until the previous frame was begun: the fake
    blocks (then records a violation) where a runtime would hang the reader for good."""
    rt = runtime_factory(extensions=(HEADLESS,))
    samples = sampled(6)
    assert rt.violations == []
    assert len(samples) >= 5 and samples[-1].pose is not None
    frames = [c for c in rt.calls if c in ("xrWaitFrame", "xrBeginFrame", "xrEndFrame")]
    assert frames[:6] == ["xrWaitFrame", "xrBeginFrame", "xrEndFrame"] * 2
    assert frames.count("xrWaitFrame") == frames.count("xrEndFrame") >= 5


def vr_device(adapter: OpenXRAdapter) -> VRControllerDevice:
    return VRControllerDevice(OpenXRTransport(adapter, rate_hz=500.0))


def test_losing_focus_and_a_runtime_error_are_retried_not_the_end_of_the_reader(runtime_factory):
    rt = runtime_factory(extensions=(HEADLESS, TIMESPEC))
    adapter = OpenXRAdapter("right")
    dev = vr_device(adapter)
    with dev:
        assert wait_until(lambda: dev.read_latest().pose is not None)
        # focus goes before the event arrives: xrSyncActions answers XR_SESSION_NOT_FOCUSED
        rt.set_state(xr.SessionState.VISIBLE, announce=False)
        assert wait_until(lambda: "not focused" in dev.read_command().message)
        assert dev.status is DeviceStatus.OK
        rt.announce(xr.SessionState.VISIBLE)
        rt.set_state(xr.SessionState.FOCUSED)
        # two transient runtime failures: retried with back-off, reported, then samples flow again
        rt.fail_sync = [xr.exception.RuntimeFailureError, xr.exception.RuntimeFailureError]
        assert wait_until(lambda: "retry 2" in adapter.problem or "retry 2" in dev.read_command().message)
        before = rt.calls.count("xrSyncActions")
        assert wait_until(lambda: rt.calls.count("xrSyncActions") > before + 3 and not rt.fail_sync)
        assert wait_until(lambda: dev.read_command().message == "")
        assert dev.status is DeviceStatus.OK
    assert rt.violations == []


def test_simple_controller_select_is_the_clutch(runtime_factory):
    rt = runtime_factory(extensions=(HEADLESS, TIMESPEC), profile="/interaction_profiles/khr/simple_controller")
    rt.inputs = {"input/select/click": 1.0}
    adapter = OpenXRAdapter("right")
    dev = vr_device(adapter)
    with dev:
        assert wait_until(lambda: "squeeze" in dev.read_latest().buttons)  # the clutch button is held
        rt.inputs = {}
        assert wait_until(lambda: "squeeze" not in dev.read_latest().buttons)
    assert rt.violations == []


def test_index_controller_squeeze_and_trigger_read_their_own_inputs(runtime_factory):
    rt = runtime_factory(extensions=(HEADLESS, TIMESPEC))
    rt.inputs = {"input/squeeze/value": 0.9, "input/trigger/value": 0.25, "input/a/click": 1.0}
    s = sampled()[-1]
    assert s.squeeze == pytest.approx(0.9) and s.trigger == pytest.approx(0.25) and s.buttons == {"primary"}
    np.testing.assert_allclose(s.pose, [0.0, 1.0, -0.3, 1.0, 0.0, 0.0, 0.0])
