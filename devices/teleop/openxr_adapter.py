"""The OpenXR edge: the one small class that calls pyopenxr (``import xr``), and what it yields.

Everything above it — the VR controller device, the handheld gripper's tracker, recording and replay
— sees only ``XrSample``s, so tests drive it all with recorded pose streams and a stand-in adapter,
and a lab without an OpenXR runtime gets a one-line error that says what to install.

The session is headless (``XR_MND_headless``): Demo Station tracks controllers and trackers, it
renders nothing into the headset, so it needs no graphics binding. Poses are located in the STAGE
space (LOCAL where there is no STAGE), in the runtime's y-up frame; ``devices.teleop.frames``
turns them into the operator frame.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from devices.teleop.errors import DeviceLost, DeviceUnavailable, MalformedInput
from devices.teleop.pyopenxr_import import import_pyopenxr

INSTALL_HINT = "install Monado or SteamVR and set XR_RUNTIME_JSON"
NO_RUNTIME_MESSAGE = f"no OpenXR runtime found: {INSTALL_HINT}"
# Extension names from the OpenXR registry (pyopenxr defines each only on its own platform).
TIMESPEC_TIME_EXTENSION = "XR_KHR_convert_timespec_time"
WIN32_TIME_EXTENSION = "XR_KHR_win32_convert_performance_counter_time"

# Physical inputs bound per interaction profile: action name → input path under the hand/role.
# Names of profiles and paths are from the OpenXR 1.0 specification, section 6.4 (interaction
# profiles); boolean inputs bound to float actions are converted by the runtime.
_HAND_PROFILES: dict[str, dict[str, str]] = {
    # no squeeze here: select is the clutch (squeeze action), the gripper stays undriven
    "/interaction_profiles/khr/simple_controller": {
        "grip_pose": "input/grip/pose", "squeeze": "input/select/click", "menu": "input/menu/click"},
    "/interaction_profiles/oculus/touch_controller": {
        "grip_pose": "input/grip/pose", "trigger": "input/trigger/value", "squeeze": "input/squeeze/value",
        "primary": "input/{a}/click", "secondary": "input/{b}/click", "thumbstick": "input/thumbstick/click"},
    "/interaction_profiles/valve/index_controller": {
        "grip_pose": "input/grip/pose", "trigger": "input/trigger/value", "squeeze": "input/squeeze/value",
        "primary": "input/a/click", "secondary": "input/b/click", "thumbstick": "input/thumbstick/click"},
    "/interaction_profiles/htc/vive_controller": {
        "grip_pose": "input/grip/pose", "trigger": "input/trigger/value", "squeeze": "input/squeeze/click",
        "menu": "input/menu/click", "thumbstick": "input/trackpad/click"},
}
_TRACKER_PROFILE = ("/interaction_profiles/htc/vive_tracker_htcx", {
    "grip_pose": "input/grip/pose", "trigger": "input/trigger/click", "squeeze": "input/squeeze/click",
    "menu": "input/menu/click", "thumbstick": "input/trackpad/click"})
BUTTON_NAMES = ("primary", "secondary", "menu", "thumbstick")


@dataclass(frozen=True)
class XrSample:
    """One located controller/tracker: pose in the runtime's y-up space (None when not tracked),
    trigger and squeeze in [0, 1], and the names of the buttons held."""

    pose: np.ndarray | None
    trigger: float = 0.0
    squeeze: float = 0.0
    buttons: frozenset[str] = field(default_factory=frozenset)

    def to_json(self) -> dict[str, Any]:
        return {"pose": None if self.pose is None else [float(v) for v in self.pose],
                "trigger": float(self.trigger), "squeeze": float(self.squeeze), "buttons": sorted(self.buttons)}

    @classmethod
    def from_json(cls, d: Any) -> "XrSample":
        if not isinstance(d, dict):
            raise MalformedInput("an OpenXR sample must be an object")
        pose = d.get("pose")
        if pose is not None:
            pose = np.asarray(pose, dtype=float)
            if pose.shape != (7,):
                raise MalformedInput(f"an OpenXR pose must have 7 numbers, got {pose.shape}")
        try:
            trigger, squeeze = float(d.get("trigger", 0.0)), float(d.get("squeeze", 0.0))
            buttons = frozenset(str(b) for b in d.get("buttons", ()))
        except (TypeError, ValueError) as exc:
            raise MalformedInput(f"bad OpenXR sample: {exc}") from None
        return cls(pose=pose, trigger=trigger, squeeze=squeeze, buttons=buttons)


def find_runtime_manifest() -> Path | None:
    """The active OpenXR runtime manifest the loader would use, found without loading anything.

    Follows the loader's search order on Linux (``XR_RUNTIME_JSON``, then ``active_runtime.json``
    under the XDG config dirs and /etc) and the registry key on Windows.
    """
    env = os.environ.get("XR_RUNTIME_JSON")
    if env:
        return Path(env) if Path(env).is_file() else None
    if sys.platform == "win32":
        try:
            import winreg

            with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Khronos\OpenXR\1") as key:
                value, _ = winreg.QueryValueEx(key, "ActiveRuntime")
            return Path(value) if Path(value).is_file() else None
        except OSError:
            return None
    dirs = [os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")]
    dirs += (os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":")
    dirs += ["/usr/local/etc", "/etc"]
    for d in dirs:
        candidate = Path(d) / "openxr" / "1" / "active_runtime.json"
        if candidate.is_file():
            return candidate
    return None


def runtime_status() -> tuple[bool, str]:
    """(available, one line) about the OpenXR runtime, without starting it."""
    manifest = find_runtime_manifest()
    if manifest is None:
        if os.environ.get("XR_RUNTIME_JSON"):
            return False, f"XR_RUNTIME_JSON points to a missing file ({os.environ['XR_RUNTIME_JSON']}): {INSTALL_HINT}"
        return False, NO_RUNTIME_MESSAGE
    try:
        import_pyopenxr()
    except ImportError:
        return False, "pyopenxr is not installed: pip install pyopenxr"
    return True, f"OpenXR runtime manifest {manifest}"


class OpenXRAdapter:
    """Opens a headless OpenXR session and samples one controller or tracker.

    ``hand`` is ``"left"`` or ``"right"`` for a controller; ``tracker_role`` (e.g.
    ``"handheld_object"``) selects an HTC/Vive tracker through ``XR_HTCX_vive_tracker_interaction``.
    """

    def __init__(self, hand: str = "right", *, tracker_role: str | None = None,
                 app_name: str = "Demo Station") -> None:
        if hand not in ("left", "right"):
            raise ValueError(f"OpenXR hand must be left or right, got {hand!r}")
        self.hand = hand
        self.tracker_role = tracker_role
        self.app_name = app_name
        self.system_name = ""
        self._xr: Any = None
        self._instance: Any = None
        self._session: Any = None
        self._action_set: Any = None
        self._actions: dict[str, Any] = {}
        self._pose_space: Any = None
        self._ref_space: Any = None
        self._state: Any = None
        self._running = False
        self._time_source = "frame"  # "timespec", "win32" or "frame" (see the module docstring)
        self._failures = 0
        self._failing_since: float | None = None
        self._retry_at = 0.0
        self.problem = ""  # why samples are not coming now (retrying, not focused), for the status line

    @property
    def user_path(self) -> str:
        if self.tracker_role:
            return f"/user/vive_tracker_htcx/role/{self.tracker_role}"
        return f"/user/hand/{self.hand}"

    # -- lifecycle --------------------------------------------------------------------------------
    def open(self) -> None:
        if find_runtime_manifest() is None:
            raise DeviceUnavailable(runtime_status()[1])
        try:
            xr = import_pyopenxr()
        except ImportError:
            raise DeviceUnavailable("pyopenxr is not installed: pip install pyopenxr") from None
        self._xr = xr
        try:
            self._open(xr)
        except xr.exception.RuntimeUnavailableError:
            self.close()
            raise DeviceUnavailable(NO_RUNTIME_MESSAGE) from None
        except xr.exception.XrException as exc:
            self.close()
            raise DeviceUnavailable(f"OpenXR session could not start: {type(exc).__name__}: {exc}") from None

    def _open(self, xr: Any) -> None:
        available = {str(p) for p in xr.enumerate_instance_extension_properties()}
        if xr.MND_HEADLESS_EXTENSION_NAME not in available:
            raise DeviceUnavailable("the OpenXR runtime has no headless sessions (XR_MND_headless); "
                                    "Demo Station renders nothing in the headset: use Monado")
        extensions = [xr.MND_HEADLESS_EXTENSION_NAME]
        if TIMESPEC_TIME_EXTENSION in available and sys.platform != "win32":
            extensions.append(TIMESPEC_TIME_EXTENSION)
            self._time_source = "timespec"
        elif WIN32_TIME_EXTENSION in available and sys.platform == "win32":
            extensions.append(WIN32_TIME_EXTENSION)
            self._time_source = "win32"
        else:
            self._time_source = "frame"
        if self.tracker_role:
            if xr.HTCX_VIVE_TRACKER_INTERACTION_EXTENSION_NAME not in available:
                raise DeviceUnavailable("the OpenXR runtime cannot track Vive trackers "
                                        "(XR_HTCX_vive_tracker_interaction): use a controller instead")
            extensions.append(xr.HTCX_VIVE_TRACKER_INTERACTION_EXTENSION_NAME)
        self._instance = xr.create_instance(xr.InstanceCreateInfo(
            application_info=xr.ApplicationInfo(application_name=self.app_name, engine_name="demostation"),
            enabled_extension_names=extensions))
        system = xr.get_system(self._instance, xr.SystemGetInfo(form_factor=xr.FormFactor.HEAD_MOUNTED_DISPLAY))
        props = xr.get_system_properties(self._instance, system)
        self.system_name = props.system_name.decode(errors="replace") if isinstance(props.system_name, bytes) \
            else str(props.system_name)
        self._session = xr.create_session(self._instance, xr.SessionCreateInfo(system_id=system, next=None))
        self._make_actions(xr)
        spaces = set(xr.enumerate_reference_spaces(self._session))
        space_type = xr.ReferenceSpaceType.STAGE if xr.ReferenceSpaceType.STAGE in spaces \
            else xr.ReferenceSpaceType.LOCAL
        self._ref_space = xr.create_reference_space(self._session, xr.ReferenceSpaceCreateInfo(
            reference_space_type=space_type))
        self._state = xr.SessionState.UNKNOWN

    def _make_actions(self, xr: Any) -> None:
        inst = self._instance
        self._action_set = xr.create_action_set(inst, xr.ActionSetCreateInfo(
            action_set_name="demostation_teleop", localized_action_set_name="Demo Station teleop", priority=0))
        user = xr.string_to_path(inst, self.user_path)
        kinds = {"grip_pose": xr.ActionType.POSE_INPUT, "trigger": xr.ActionType.FLOAT_INPUT,
                 "squeeze": xr.ActionType.FLOAT_INPUT, **{b: xr.ActionType.BOOLEAN_INPUT for b in BUTTON_NAMES}}
        for name, kind in kinds.items():
            self._actions[name] = xr.create_action(self._action_set, xr.ActionCreateInfo(
                action_type=kind, action_name=name, localized_action_name=name.replace("_", " "),
                count_subaction_paths=1, subaction_paths=[user]))
        profiles = [_TRACKER_PROFILE] if self.tracker_role else list(_HAND_PROFILES.items())
        letters = {"a": "a", "b": "b"} if self.hand == "right" else {"a": "x", "b": "y"}
        bound = 0
        for profile, inputs in profiles:
            bindings = [xr.ActionSuggestedBinding(action=self._actions[name], binding=xr.string_to_path(
                inst, f"{self.user_path}/{path.format(**letters)}")) for name, path in inputs.items()]
            try:
                xr.suggest_interaction_profile_bindings(inst, xr.InteractionProfileSuggestedBinding(
                    interaction_profile=xr.string_to_path(inst, profile), suggested_bindings=bindings))
                bound += 1
            except xr.exception.PathUnsupportedError:
                continue  # the runtime does not know this controller; the others may match
        if not bound:
            raise DeviceUnavailable("the OpenXR runtime accepted none of Demo Station's controller bindings")
        xr.attach_session_action_sets(self._session, xr.SessionActionSetsAttachInfo(action_sets=[self._action_set]))
        self._pose_space = xr.create_action_space(self._session, xr.ActionSpaceCreateInfo(
            action=self._actions["grip_pose"], subaction_path=user))

    def close(self) -> None:
        xr = self._xr
        if xr is None:
            return
        for handle, destroy in ((self._pose_space, "destroy_space"), (self._ref_space, "destroy_space"),
                                (self._action_set, "destroy_action_set"), (self._session, "destroy_session"),
                                (self._instance, "destroy_instance")):
            if handle is not None:
                with contextlib.suppress(xr.exception.XrException):  # the runtime is already gone; nothing left to release
                    getattr(xr, destroy)(handle)
        self._pose_space = self._ref_space = self._action_set = self._session = self._instance = None
        self._actions = {}
        self._running = False
        self._failures, self._failing_since, self._retry_at, self.problem = 0, None, 0.0, ""

    # -- sampling ---------------------------------------------------------------------------------
    RETRY_FIRST_S = 0.05  # back-off after the first failed call, doubled per failure up to RETRY_MAX_S
    RETRY_MAX_S = 2.0
    GIVE_UP_S = 30.0  # failing this long without one good sample: DeviceLost, the session is reopened

    def poll(self) -> XrSample | None:
        """The controller's state now, or None while the session is not focused (not yet running,
        headset asleep) or a failed call waits for its retry. Raises ``DeviceLost`` when the
        runtime or the session went away."""
        xr = self._xr
        if xr is None or self._session is None:
            raise DeviceLost("OpenXR session is not open")
        now = time.monotonic()
        if now < self._retry_at:
            return None
        try:
            sample = self._sample(xr)
        except (xr.exception.SessionLostError, xr.exception.InstanceLostError) as exc:
            raise DeviceLost(f"OpenXR runtime lost the session ({type(exc).__name__})") from None
        except xr.exception.SessionNotFocused:
            self.problem = "OpenXR session is not focused (headset asleep or another app in front)"
            return None
        except xr.exception.XrException as exc:
            return self._retry_later(now, exc)
        self._failures, self._failing_since = 0, None
        self.problem = "" if sample is not None or self._running else "waiting for the OpenXR session to start"
        return sample

    def _retry_later(self, now: float, exc: Exception) -> None:
        self._failures += 1
        self._failing_since = now if self._failing_since is None else self._failing_since
        if now - self._failing_since > self.GIVE_UP_S:
            raise DeviceLost(f"OpenXR calls kept failing for {self.GIVE_UP_S:g} s ({type(exc).__name__})")
        delay = min(self.RETRY_FIRST_S * 2 ** (self._failures - 1), self.RETRY_MAX_S)
        self._retry_at = now + delay
        self.problem = (f"OpenXR call failed ({type(exc).__name__}); retry {self._failures} in {delay:.2g} s")
        return None

    def _sample(self, xr: Any) -> XrSample | None:
        self._pump_events(xr)
        if not self._running or self._state != xr.SessionState.FOCUSED:
            return None
        xr.sync_actions(self._session, xr.ActionsSyncInfo(active_action_sets=[
            xr.ActiveActionSet(action_set=self._action_set, subaction_path=xr.NULL_PATH)]))
        location = xr.locate_space(self._pose_space, self._ref_space, self._now(xr))
        valid = xr.SPACE_LOCATION_POSITION_VALID_BIT | xr.SPACE_LOCATION_ORIENTATION_VALID_BIT
        pose = None
        if (int(location.location_flags) & valid) == valid:
            p, o = location.pose.position, location.pose.orientation
            pose = np.array([p.x, p.y, p.z, o.w, o.x, o.y, o.z], dtype=float)
        trigger = self._float(xr, "trigger")
        squeeze = self._float(xr, "squeeze")
        buttons = frozenset(b for b in BUTTON_NAMES if self._bool(xr, b))
        return XrSample(pose=pose, trigger=trigger, squeeze=squeeze, buttons=buttons)

    def _float(self, xr: Any, name: str) -> float:
        state = xr.get_action_state_float(self._session, xr.ActionStateGetInfo(action=self._actions[name]))
        return float(state.current_state) if state.is_active else 0.0

    def _bool(self, xr: Any, name: str) -> bool:
        state = xr.get_action_state_boolean(self._session, xr.ActionStateGetInfo(action=self._actions[name]))
        return bool(state.is_active and state.current_state)

    def _pump_events(self, xr: Any) -> None:
        while True:
            try:
                event = xr.poll_event(self._instance)
            except xr.EventUnavailable:
                return
            kind = xr.StructureType(event.type)
            if kind == xr.StructureType.EVENT_DATA_INSTANCE_LOSS_PENDING:
                raise DeviceLost("OpenXR runtime is shutting down")
            if kind != xr.StructureType.EVENT_DATA_SESSION_STATE_CHANGED:
                continue
            changed = ctypes.cast(ctypes.byref(event), ctypes.POINTER(xr.EventDataSessionStateChanged)).contents
            self._state = xr.SessionState(changed.state)
            if self._state == xr.SessionState.READY:
                xr.begin_session(self._session, xr.SessionBeginInfo(
                    primary_view_configuration_type=xr.ViewConfigurationType.PRIMARY_MONO))
                self._running = True
            elif self._state == xr.SessionState.STOPPING:
                xr.end_session(self._session)
                self._running = False
            elif self._state in (xr.SessionState.EXITING, xr.SessionState.LOSS_PENDING):
                self._running = False
                raise DeviceLost(f"OpenXR session is {self._state.name.lower()}")

    def _now(self, xr: Any) -> Any:
        """The runtime's XrTime for this instant (see the module docstring for the three sources)."""
        if self._time_source == "timespec":
            t = time.clock_gettime(time.CLOCK_MONOTONIC)
            spec = xr.timespec()
            spec.tv_sec = int(t)
            spec.tv_nsec = int(math.modf(t)[0] * 1e9)
            return xr.convert_timespec_time_to_time_khr(self._instance, spec)
        if self._time_source == "win32":
            return xr.convert_win32_performance_counter_to_time_khr(self._instance, _performance_counter())
        # No conversion extension: one whole frame. xrWaitFrame is always followed by its
        # xrBeginFrame and xrEndFrame, so the next xrWaitFrame does not block forever.
        state = xr.wait_frame(self._session, xr.FrameWaitInfo())
        with contextlib.suppress(xr.exception.FrameDiscarded):  # a frame left open by a failed xrEndFrame was dropped; this one is begun all the same
            xr.begin_frame(self._session, xr.FrameBeginInfo())
        xr.end_frame(self._session, xr.FrameEndInfo(display_time=state.predicted_display_time,
                                                    environment_blend_mode=xr.EnvironmentBlendMode.OPAQUE,
                                                    layers=[]))
        return state.predicted_display_time


def _performance_counter() -> ctypes.c_longlong:
    """QueryPerformanceCounter, the clock ``XR_KHR_win32_convert_performance_counter_time`` converts."""
    counter = ctypes.c_longlong(0)
    ctypes.windll.kernel32.QueryPerformanceCounter(ctypes.byref(counter))  # type: ignore[attr-defined]
    return counter
