"""A fake OpenXR runtime at the outermost edge: the ``xr`` call layer that pyopenxr exposes.

It stands in for the ``xr`` module (installed as ``sys.modules["xr"]``): the functions the adapter
calls are implemented here, and everything else (structures, enums, exceptions, constants) is the
real pyopenxr's, so the adapter builds the very structures it would hand a real runtime. The fake
does not trust the adapter: it ENFORCES the specification's rules below, raising the result a
conformant runtime returns (through pyopenxr's exception for it), or, where the specification says
a call blocks, blocking — for ``block_limit_s`` — and then recording a violation, because a real
runtime would never return and the reader would hang. Rules, with their OpenXR 1.1 reference pages
(registry.khronos.org/OpenXR/specs/1.1/man/html/):

- xrWaitFrame: "A subsequent xrWaitFrame call must block until the previous frame has been begun
  with xrBeginFrame". Also XR_ERROR_SESSION_NOT_RUNNING when the session is not running.
- xrBeginFrame: "must return the error code XR_ERROR_CALL_ORDER_INVALID if there was no
  corresponding successful call to xrWaitFrame"; XR_FRAME_DISCARDED "if a prior xrBeginFrame has
  been called without an intervening call to xrEndFrame"; XR_ERROR_SESSION_NOT_RUNNING.
- xrEndFrame: "Every call to xrEndFrame must be preceded by a successful call to xrBeginFrame.
  Failure to do so must result in XR_ERROR_CALL_ORDER_INVALID"; displayTime must be a valid time.
- xrBeginSession: only in XR_SESSION_STATE_READY (else XR_ERROR_SESSION_NOT_READY); the transition
  to running resets the frame function call order. xrEndSession: only when STOPPING.
- xrSyncActions: "If session is not focused, the runtime must return XR_SESSION_NOT_FOCUSED, and
  all action states in the session must be inactive"; action sets must be attached
  (XR_ERROR_ACTIONSET_NOT_ATTACHED).
- XrSessionState (session lifecycle): IDLE after xrCreateSession, READY, then after xrBeginSession
  SYNCHRONIZED → VISIBLE → FOCUSED, delivered as XrEventDataSessionStateChanged through
  xrPollEvent (XR_EVENT_UNAVAILABLE when the queue is empty).
- Extension functions (xrConvertTimespecTimeToTimeKHR of XR_KHR_convert_timespec_time,
  xrConvertWin32PerformanceCounterToTimeKHR of XR_KHR_win32_convert_performance_counter_time)
  exist only when their extension was enabled at xrCreateInstance (else XR_ERROR_FUNCTION_UNSUPPORTED).
- Interaction profiles (spec section 6.4): an action reads the input its suggested binding names for
  the profile of the controller the runtime has; an action with no binding there is inactive.
"""

from __future__ import annotations

import ctypes
import itertools
import threading
from typing import Any

from devices.teleop.pyopenxr_import import import_pyopenxr

real_xr = import_pyopenxr()


class SpecViolation(AssertionError):
    """The adapter did something the specification makes a runtime hang on, or forbids."""


def _handle(kind: Any, n: int) -> Any:
    return ctypes.cast(ctypes.c_void_p(n), kind)


def _hid(handle: Any) -> int:
    return int(ctypes.cast(handle, ctypes.c_void_p).value or 0)


class FakeOpenXRRuntime:
    """One runtime with one controller of ``profile`` whose inputs are ``inputs`` (path under the
    hand → value) and whose grip pose is ``pose`` ((x, y, z), (w, x, y, z))."""

    def __init__(self, *, extensions: tuple[str, ...] = ("XR_MND_headless", "XR_KHR_convert_timespec_time"),
                 profile: str = "/interaction_profiles/valve/index_controller", hand: str = "right",
                 block_limit_s: float = 0.3) -> None:
        self.extensions = set(extensions)
        self.profile = profile
        self.hand = hand
        self.inputs: dict[str, float] = {}
        self.pose = ((0.0, 1.0, -0.3), (1.0, 0.0, 0.0, 0.0))
        self.block_limit_s = block_limit_s
        self.violations: list[str] = []
        self.calls: list[str] = []
        self.fail_sync: list[type[Exception]] = []  # errors the next xrSyncActions calls raise, in order
        self._ids = itertools.count(1)
        self._paths: dict[int, str] = {}
        self._path_ids: dict[str, int] = {}
        self._enabled: set[str] = set()
        self._events: list[Any] = []
        self.state = real_xr.SessionState.UNKNOWN
        self._running = False
        self._attached = False
        self._bindings: dict[str, dict[int, str]] = {}  # profile → action id → input path
        self._actions: dict[int, str] = {}
        self._synced_focused = False
        self._waited = False  # a successful xrWaitFrame not yet followed by xrBeginFrame
        self._begun = False  # an xrBeginFrame not yet followed by xrEndFrame
        self._time = 1_000_000_000
        self._issued_times: set[int] = set()
        self._session = None

    # -- what the test drives --------------------------------------------------------------------
    def set_state(self, state: Any, *, announce: bool = True) -> None:
        """Move the session to ``state``; ``announce=False`` delays the event (as a runtime may:
        the state changes before the application polls the event)."""
        self.state = state
        if announce:
            self.announce(state)

    def announce(self, state: Any) -> None:
        self._events.append(real_xr.EventDataSessionStateChanged(session=self._session, state=state,
                                                                 time=self._next_time()))

    def module(self) -> "_FakeXrModule":
        return _FakeXrModule(self)

    # -- helpers -----------------------------------------------------------------------------------
    def _next_time(self) -> int:
        self._time += 11_111_111
        self._issued_times.add(self._time)
        return self._time

    def _violate(self, text: str) -> None:
        self.violations.append(text)
        raise SpecViolation(text)

    def _need_running(self, fn: str) -> None:
        if not self._running:
            raise real_xr.exception.SessionNotRunningError(f"{fn}: session not running")

    def _need_extension(self, ext: str, fn: str) -> None:
        if ext not in self._enabled:
            raise real_xr.exception.FunctionUnsupportedError(f"{fn} needs {ext} enabled at xrCreateInstance")


class _FakeXrModule:
    """The ``xr`` module as the adapter sees it: these functions, pyopenxr's everything else."""

    def __init__(self, rt: FakeOpenXRRuntime) -> None:
        self._rt = rt
        self._frame_lock = threading.Condition()

    def __getattr__(self, name: str) -> Any:
        return getattr(real_xr, name)

    # instance and system
    def enumerate_instance_extension_properties(self, layer_name: Any = None) -> list:
        out = []
        for name in sorted(self._rt.extensions):
            p = real_xr.ExtensionProperties()
            p.extension_name = name.encode()
            out.append(p)
        return out

    def create_instance(self, info: Any) -> Any:
        rt = self._rt
        rt.calls.append("xrCreateInstance")
        names = [info.enabled_extension_names[i].decode() for i in range(info.enabled_extension_count)]
        for n in names:
            if n not in rt.extensions:
                raise real_xr.exception.ExtensionNotPresentError(n)
        rt._enabled = set(names)
        return _handle(real_xr.Instance, next(rt._ids))

    def get_system(self, instance: Any, info: Any) -> Any:
        return real_xr.SystemId(7)

    def get_system_properties(self, instance: Any, system: Any) -> Any:
        props = real_xr.SystemProperties()
        props.system_name = b"Fake OpenXR runtime"
        return props

    def create_session(self, instance: Any, info: Any) -> Any:
        rt = self._rt
        rt._session = _handle(real_xr.Session, next(rt._ids))
        rt.set_state(real_xr.SessionState.IDLE)
        rt.set_state(real_xr.SessionState.READY)
        return rt._session

    def string_to_path(self, instance: Any, text: str) -> Any:
        rt = self._rt
        if text not in rt._path_ids:
            rt._path_ids[text] = next(rt._ids)
            rt._paths[rt._path_ids[text]] = text
        return real_xr.Path(rt._path_ids[text])

    def _path(self, path: Any) -> str:
        return self._rt._paths[int(getattr(path, "value", path))]

    # actions
    def create_action_set(self, instance: Any, info: Any) -> Any:
        return _handle(real_xr.ActionSet, next(self._rt._ids))

    def create_action(self, action_set: Any, info: Any) -> Any:
        action = _handle(real_xr.Action, next(self._rt._ids))
        name = info.action_name
        self._rt._actions[_hid(action)] = name.decode() if isinstance(name, bytes) else str(name)
        return action

    def suggest_interaction_profile_bindings(self, instance: Any, info: Any) -> None:
        rt = self._rt
        profile = self._path(info.interaction_profile)
        hand_prefix = f"/user/hand/{rt.hand}/"
        table = {}
        for i in range(info.count_suggested_bindings):
            b = info.suggested_bindings[i]
            path = self._path(b.binding)
            if path.startswith(hand_prefix):
                table[_hid(b.action)] = path[len(hand_prefix):]
        rt._bindings[profile] = table

    def attach_session_action_sets(self, session: Any, info: Any) -> None:
        self._rt._attached = True

    def create_action_space(self, session: Any, info: Any) -> Any:
        return _handle(real_xr.Space, next(self._rt._ids))

    def enumerate_reference_spaces(self, session: Any) -> list:
        return [real_xr.ReferenceSpaceType.LOCAL, real_xr.ReferenceSpaceType.STAGE]

    def create_reference_space(self, session: Any, info: Any) -> Any:
        return _handle(real_xr.Space, next(self._rt._ids))

    # session lifecycle
    def poll_event(self, instance: Any) -> Any:
        if not self._rt._events:
            raise real_xr.EventUnavailable()
        return self._rt._events.pop(0)

    def begin_session(self, session: Any, info: Any) -> None:
        rt = self._rt
        if rt.state != real_xr.SessionState.READY:
            raise real_xr.exception.SessionNotReadyError("xrBeginSession outside READY")
        rt._running = True
        rt._waited = rt._begun = False  # running resets the frame call order
        for s in (real_xr.SessionState.SYNCHRONIZED, real_xr.SessionState.VISIBLE, real_xr.SessionState.FOCUSED):
            rt.set_state(s)

    def end_session(self, session: Any) -> None:
        rt = self._rt
        if rt.state != real_xr.SessionState.STOPPING:
            raise real_xr.exception.SessionNotStoppingError("xrEndSession outside STOPPING")
        rt._running = False

    # frames
    def wait_frame(self, session: Any, info: Any = None) -> Any:
        rt = self._rt
        rt.calls.append("xrWaitFrame")
        rt._need_running("xrWaitFrame")
        with self._frame_lock:
            if rt._waited and not self._frame_lock.wait_for(lambda: not rt._waited, rt.block_limit_s):
                rt._violate("xrWaitFrame called again before the previous frame's xrBeginFrame: "
                            "a runtime blocks here forever")
            rt._waited = True
        state = real_xr.FrameState()
        state.predicted_display_time = rt._next_time()
        state.should_render = True
        return state

    def begin_frame(self, session: Any, info: Any = None) -> None:
        rt = self._rt
        rt.calls.append("xrBeginFrame")
        rt._need_running("xrBeginFrame")
        with self._frame_lock:
            if not rt._waited:
                raise real_xr.exception.CallOrderInvalidError("xrBeginFrame without xrWaitFrame")
            rt._waited = False
            self._frame_lock.notify_all()
            discarded = rt._begun
            rt._begun = True
        if discarded:
            raise real_xr.FrameDiscarded()

    def end_frame(self, session: Any, info: Any) -> None:
        rt = self._rt
        rt.calls.append("xrEndFrame")
        rt._need_running("xrEndFrame")
        if not rt._begun:
            raise real_xr.exception.CallOrderInvalidError("xrEndFrame without xrBeginFrame")
        if int(info.display_time) not in rt._issued_times:
            raise real_xr.exception.TimeInvalidError("displayTime is not one xrWaitFrame predicted")
        rt._begun = False

    # time conversion extensions
    def convert_timespec_time_to_time_khr(self, instance: Any, spec: Any) -> Any:
        self._rt._need_extension("XR_KHR_convert_timespec_time", "xrConvertTimespecTimeToTimeKHR")
        self._rt.calls.append("xrConvertTimespecTimeToTimeKHR")
        return real_xr.Time(self._rt._next_time())

    def convert_win32_performance_counter_to_time_khr(self, instance: Any, counter: Any) -> Any:
        self._rt._need_extension("XR_KHR_win32_convert_performance_counter_time",
                                 "xrConvertWin32PerformanceCounterToTimeKHR")
        self._rt.calls.append("xrConvertWin32PerformanceCounterToTimeKHR")
        return real_xr.Time(self._rt._next_time())

    # input
    def sync_actions(self, session: Any, info: Any) -> None:
        rt = self._rt
        rt.calls.append("xrSyncActions")
        if not rt._attached:
            raise real_xr.exception.ActionsetNotAttachedError("xrSyncActions before attach")
        rt._need_running("xrSyncActions")
        if rt.fail_sync:
            raise rt.fail_sync.pop(0)("injected runtime failure")
        rt._synced_focused = rt.state == real_xr.SessionState.FOCUSED
        if not rt._synced_focused:
            raise real_xr.SessionNotFocused()  # pyopenxr raises qualified successes

    def _value(self, action: Any) -> tuple[bool, float]:
        rt = self._rt
        path = rt._bindings.get(rt.profile, {}).get(_hid(action))
        if not rt._synced_focused or path is None:
            return False, 0.0
        return True, float(rt.inputs.get(path, 0.0))

    def get_action_state_float(self, session: Any, info: Any) -> Any:
        active, value = self._value(info.action)
        state = real_xr.ActionStateFloat()
        state.is_active, state.current_state = active, value
        return state

    def get_action_state_boolean(self, session: Any, info: Any) -> Any:
        active, value = self._value(info.action)
        state = real_xr.ActionStateBoolean()
        state.is_active, state.current_state = active, value >= 0.5
        return state

    def locate_space(self, space: Any, base: Any, time: Any) -> Any:
        rt = self._rt
        t = int(getattr(time, "value", time))
        if t not in rt._issued_times:
            raise real_xr.exception.TimeInvalidError("xrLocateSpace at a time the runtime never gave out")
        loc = real_xr.SpaceLocation()
        loc.location_flags = (real_xr.SPACE_LOCATION_POSITION_VALID_BIT
                              | real_xr.SPACE_LOCATION_ORIENTATION_VALID_BIT)
        (loc.pose.position.x, loc.pose.position.y, loc.pose.position.z) = rt.pose[0]
        (loc.pose.orientation.w, loc.pose.orientation.x, loc.pose.orientation.y,
         loc.pose.orientation.z) = rt.pose[1]
        return loc

    # teardown
    def destroy_space(self, h: Any) -> None:
        pass

    def destroy_action_set(self, h: Any) -> None:
        pass

    def destroy_session(self, h: Any) -> None:
        self._rt._running = False

    def destroy_instance(self, h: Any) -> None:
        pass
