"""Camera kinds by name: "uvc", "realsense", "video", "sim", "tactile" → a function that builds one.

Each kind declares its options (name → type, default, whether required), so a config file is
checked when it is read and `demostation cameras` can list what every kind accepts. Adding a kind
is one entry in `CAMERA_KINDS`; nothing else dispatches on kind names.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

from devices.camera import Camera
from devices.cameras.config import CameraConfig
from devices.cameras.threaded import CaptureSettings


@dataclass(frozen=True)
class CameraContext:
    """What building a camera may need besides its config."""

    clock: Callable[[], float] = time.monotonic  # the recorder's clock: capture times are on it
    station: Any = None  # a SimStation, for "sim" cameras
    base_dir: Path = field(default_factory=Path.cwd)  # relative file paths in a config are relative to this


@dataclass(frozen=True)
class Option:
    types: tuple[type, ...]
    default: Any = None
    required: bool = False
    help: str = ""


@dataclass(frozen=True)
class CameraKind:
    name: str
    help: str
    options: Mapping[str, Option]
    build: Callable[[CameraConfig, CameraContext], Camera]
    check: Callable[[CameraConfig], None] | None = None  # checks beyond option types
    default_mount: str = "scene"

    def check_options(self, config: CameraConfig) -> None:
        """ValueError naming the camera and the option for an unknown, missing or mistyped option."""
        unknown = sorted(set(config.options) - set(self.options))
        if unknown:
            raise ValueError(f"camera {config.name!r} ({self.name}): unknown option {', '.join(unknown)} "
                             f"(known: {', '.join(self.options) or 'none'})")
        for key, opt in self.options.items():
            if key not in config.options:
                if opt.required:
                    raise ValueError(f"camera {config.name!r} ({self.name}): option {key!r} is required ({opt.help})")
                continue
            value = config.options[key]
            if isinstance(value, bool) and bool not in opt.types or not isinstance(value, opt.types):
                names = " or ".join(t.__name__ for t in opt.types)
                raise ValueError(f"camera {config.name!r} ({self.name}): option {key!r} must be {names}, "
                                 f"got {value!r}")
        for key in ("capture_size", "depth_size", "intrinsics"):
            if config.options.get(key) is not None and key in self.options:
                _check_numbers(config, key, 4 if key == "intrinsics" else 2)
        if self.check is not None:
            self.check(config)

    def option(self, config: CameraConfig, key: str) -> Any:
        return config.options.get(key, self.options[key].default)


def _check_numbers(config: CameraConfig, key: str, count: int) -> None:
    value = config.options[key]
    if len(value) != count or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0
                                      for v in value):
        raise ValueError(f"camera {config.name!r}: option {key!r} must be {count} positive numbers, got {value!r}")


def _settings(config: CameraConfig) -> CaptureSettings:
    return CaptureSettings(width=config.width, height=config.height, fps=float(config.fps))


def _path(value: str, context: CameraContext) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else context.base_dir / path


def _build_uvc(config: CameraConfig, context: CameraContext) -> Camera:
    from devices.cameras.opencv_camera import OpenCVCamera

    kind = CAMERA_KINDS["uvc"]
    size = kind.option(config, "capture_size")
    intr = kind.option(config, "intrinsics")
    return OpenCVCamera(config.name, kind.option(config, "device"), _settings(config), mount=config.mount,
                        clock=context.clock, capture_size=tuple(size) if size else None,
                        fourcc=kind.option(config, "fourcc") or None, buffer_size=kind.option(config, "buffer_size"),
                        is_file=False, intrinsics=tuple(intr) if intr else None, serial=kind.option(config, "serial"))


def _build_video(config: CameraConfig, context: CameraContext) -> Camera:
    from devices.cameras.opencv_camera import OpenCVCamera

    kind = CAMERA_KINDS["video"]
    intr = kind.option(config, "intrinsics")
    path = _path(kind.option(config, "path"), context)
    return OpenCVCamera(config.name, str(path), _settings(config), mount=config.mount, clock=context.clock,
                        fourcc=None, is_file=True, loop=kind.option(config, "loop"), pace_fps=float(config.fps),
                        intrinsics=tuple(intr) if intr else None, serial=f"file:{path.name}")


def _build_realsense(config: CameraConfig, context: CameraContext) -> Camera:
    from devices.cameras.realsense import RealSenseCamera

    kind = CAMERA_KINDS["realsense"]
    recording = kind.option(config, "recording")
    depth_size = kind.option(config, "depth_size")
    return RealSenseCamera(config.name, _settings(config), serial=kind.option(config, "serial"),
                           recording=_path(recording, context) if recording else None,
                           capture_size=tuple(kind.option(config, "capture_size")), depth=kind.option(config, "depth"),
                           depth_size=tuple(depth_size) if depth_size else None,
                           mount=config.mount, clock=context.clock, loop=kind.option(config, "loop"))


def _build_sim(config: CameraConfig, context: CameraContext) -> Camera:
    from devices.cameras.station_camera import StationCamera

    if context.station is None:
        raise ValueError(f"camera {config.name!r} is a station camera, but no station is running")
    source = CAMERA_KINDS["sim"].option(config, "camera") or config.name
    cameras = getattr(context.station, "cameras", {})
    if source not in cameras:
        raise ValueError(f"camera {config.name!r}: the station has no camera {source!r} "
                         f"(it has {', '.join(cameras) or 'none'})")
    return StationCamera(cameras[source], name=config.name, mount=config.mount, size=(config.width, config.height))


def _tactile_inner(config: CameraConfig) -> CameraConfig:
    """The capture device's config: the tactile camera's name, size and rate, the inner kind's options."""
    if config.mount != "tactile":
        raise ValueError(f"camera {config.name!r}: a tactile camera's mount is 'tactile', got {config.mount!r}")
    inner_item = dict(config.options["inner"])
    inner_kind = inner_item.get("kind")
    if inner_kind == "tactile" or inner_kind not in CAMERA_KINDS:
        raise ValueError(f"camera {config.name!r}: 'inner.kind' must be one of "
                         f"{', '.join(k for k in CAMERA_KINDS if k != 'tactile')}, got {inner_kind!r}")
    clash = sorted({"name", "mount", "width", "height", "fps"} & set(inner_item))
    if clash:
        raise ValueError(f"camera {config.name!r}: set {', '.join(clash)} on the tactile camera, not in 'inner'")
    inner_item.update(name=config.name, mount="tactile", width=config.width, height=config.height, fps=config.fps)
    return CameraConfig.from_dict(inner_item)


def _build_tactile(config: CameraConfig, context: CameraContext) -> Camera:
    from devices.cameras.tactile import TactileCamera

    kind = CAMERA_KINDS["tactile"]
    inner_config = _tactile_inner(config)
    inner = CAMERA_KINDS[inner_config.kind].build(inner_config, context)
    return TactileCamera(inner, name=config.name, subtract_reference=kind.option(config, "subtract_reference"),
                         gain=float(kind.option(config, "gain")))


_NUM = (int, float)
CAMERA_KINDS: Mapping[str, CameraKind] = MappingProxyType({
    "uvc": CameraKind("uvc", "USB (UVC) webcam through OpenCV/V4L2: MJPG, one-frame driver queue", {
        "device": Option((str, int), required=True, help="/dev/videoN or an index"),
        "capture_size": Option((list,), None, help="[width, height] asked of the driver"),
        "fourcc": Option((str,), "MJPG", help="pixel format asked of the driver; '' for its default"),
        "buffer_size": Option((int,), 1, help="driver queue length; 1 keeps frames fresh"),
        "intrinsics": Option((list,), None, help="[fx, fy, cx, cy] at capture_size, from a calibration"),
        "serial": Option((str,), "", help="a label to tell units apart (UVC has no standard serial)"),
    }, _build_uvc),
    "realsense": CameraKind("realsense", "Intel RealSense colour (+ depth aligned to colour) via pyrealsense2", {
        "serial": Option((str,), "", help="device serial; empty for the only one connected"),
        "capture_size": Option((list,), [640, 480], help="[width, height] of the colour stream"),
        "depth": Option((bool,), False, help="also stream depth, aligned to colour"),
        "depth_size": Option((list,), None, help="[width, height] of the depth stream, a D400 depth mode "
                             "(default: the largest one matching the colour stream, e.g. 1280x720 for 1920x1080)"),
        "recording": Option((str,), "", help="play a .db3/.bag recording instead of a device"),
        "loop": Option((bool,), False, help="loop the recording"),
    }, _build_realsense),
    "video": CameraKind("video", "a video file played at 'fps' as if it were a live camera", {
        "path": Option((str,), required=True, help="video file"),
        "loop": Option((bool,), True, help="start over at the end"),
        "intrinsics": Option((list,), None, help="[fx, fy, cx, cy] at the file's size"),
    }, _build_video),
    "sim": CameraKind("sim", "a camera of the embedded MuJoCo station (renders at sim time)", {
        "camera": Option((str,), "", help="station camera name; default: this camera's name"),
    }, _build_sim),
    "tactile": CameraKind("tactile", "camera-based tactile sensor (GelSight-style), reference-subtracted", {
        "inner": Option((dict,), required=True, help="the capture device: {\"kind\": \"uvc\", ...}"),
        "subtract_reference": Option((bool,), True, help="subtract the no-contact frame taken at connect"),
        "gain": Option(_NUM, 2.0, help="contrast of the difference image"),
    }, _build_tactile, check=_tactile_inner, default_mount="tactile"),
})


def camera_kind(name: str) -> CameraKind:
    try:
        return CAMERA_KINDS[name]
    except KeyError:
        raise ValueError(f"unknown camera kind {name!r} (known: {', '.join(sorted(CAMERA_KINDS))})") from None


def build_camera(config: CameraConfig, context: CameraContext | None = None) -> Camera:
    """The camera a config describes (not yet connected)."""
    kind = camera_kind(config.kind)
    kind.check_options(config)
    return kind.build(config, context or CameraContext())


def build_cameras(configs: list[CameraConfig], context: CameraContext | None = None) -> dict[str, Camera]:
    ctx = context or CameraContext()
    return {c.name: build_camera(c, ctx) for c in configs}
