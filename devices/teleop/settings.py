"""Per-device-model teleop settings: typed dataclasses in one versioned JSON file, written atomically.

Why a file of our own and not QSettings: devices/ must work with no Qt (headless recording, the
command line), and the settings must be readable and editable by a lab technician. The file lives
in the user's config dir (``$DEMOSTATION_CONFIG_DIR`` wins, so tests and shared lab machines can
point it elsewhere) and every write goes through a temporary file and ``os.replace``, so a crash or
a full disk mid-write leaves the previous file intact.

Layout::

    {"format": "demostation-teleop-settings", "version": 1,
     "devices": {"spacemouse/256f:c635": {"mapper": {...}, "buttons": {...}, "options": {...}}}}

An entry may hold only the keys someone changed; the rest come from the device's defaults.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from devices.teleop.command import ButtonAction
from devices.teleop.frames import STATION_BASE_FROM_OPERATOR, check_rotation
from devices.userfiles import config_dir, write_text_atomic

SETTINGS_FORMAT = "demostation-teleop-settings"
SETTINGS_VERSION = 1
SETTINGS_FILE_NAME = "teleop-devices.json"
AXIS_NAMES = ("x", "y", "z", "rx", "ry", "rz")  # operator-frame axes of a twist, in order


class ClutchMode(StrEnum):
    """When device motion moves the robot: always, while the clutch button is held, or toggled."""

    ALWAYS = "always"
    HOLD = "hold"
    TOGGLE = "toggle"


def _matrix_tuple(m: np.ndarray) -> tuple[tuple[float, float, float], ...]:
    return tuple(tuple(float(v) for v in row) for row in np.asarray(m, dtype=float))


@dataclass(frozen=True)
class MapperSettings:
    """How one device model's motion becomes an end-effector target.

    Delta (rate) devices: ``translation_scale`` is m/s and ``rotation_scale`` rad/s at full
    deflection; ``deadzone`` is a fraction of full deflection per axis. Absolute devices:
    the scales are robot motion per device motion (0.5 = half the hand's motion) and ``deadzone`` is
    metres of hand motion from the clutch point that are ignored. ``axis_map`` rotates the operator
    frame (x right, y away, z up) into the robot base frame. ``axis_flip`` reverses single operator
    axes (x, y, z, rx, ry, rz) before that, for a device mounted or held the other way round — the
    fix the axes view of ``demostation devices --watch`` and the Station panel make visible.
    """

    translation_scale: float = 0.15
    rotation_scale: float = 0.8
    deadzone: float = 0.05
    axis_map: tuple[tuple[float, float, float], ...] = _matrix_tuple(STATION_BASE_FROM_OPERATOR)
    rotation_enabled: bool = True
    clutch: ClutchMode = ClutchMode.ALWAYS
    axis_flip: tuple[bool, ...] = (False,) * 6

    def __post_init__(self) -> None:
        object.__setattr__(self, "clutch", ClutchMode(self.clutch))  # accept "hold" as well as ClutchMode.HOLD
        for name in ("translation_scale", "rotation_scale"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"mapper {name} must be a positive number, got {v}")
        if not (math.isfinite(self.deadzone) and 0 <= self.deadzone < 0.9):
            raise ValueError(f"mapper deadzone must be in [0, 0.9), got {self.deadzone}")
        check_rotation(self.axis_map, "mapper axis_map")
        object.__setattr__(self, "axis_flip", tuple(bool(f) for f in self.axis_flip))
        if len(self.axis_flip) != len(AXIS_NAMES):
            raise ValueError(f"mapper axis_flip must have 6 entries ({', '.join(AXIS_NAMES)}), "
                             f"got {len(self.axis_flip)}")

    @property
    def flip_signs(self) -> tuple[float, ...]:
        """-1.0 for each flipped operator axis (x, y, z, rx, ry, rz), else 1.0."""
        return tuple(-1.0 if f else 1.0 for f in self.axis_flip)

    def with_flipped(self, axes: list[str] | tuple[str, ...]) -> "MapperSettings":
        """These settings with exactly ``axes`` (names from ``AXIS_NAMES``) flipped."""
        unknown = [a for a in axes if a not in AXIS_NAMES]
        if unknown:
            raise ValueError(f"unknown axis {unknown[0]!r}: the axes are {', '.join(AXIS_NAMES)}")
        return dataclasses.replace(self, axis_flip=tuple(a in axes for a in AXIS_NAMES))

    @property
    def rotation(self) -> np.ndarray:
        """``axis_map`` as an array: robot base frame from operator frame."""
        return np.asarray(self.axis_map, dtype=float)


@dataclass(frozen=True)
class DeviceSettings:
    """Everything persisted for one device model: mapping, button meanings, device options."""

    mapper: MapperSettings = field(default_factory=MapperSettings)
    buttons: dict[str, ButtonAction] = field(default_factory=dict)  # physical button → action
    options: Any = None  # the device kind's own frozen options dataclass, or None

    def with_options(self, options: Any) -> "DeviceSettings":
        return dataclasses.replace(self, options=options)


# -- typed JSON (de)serialisation of the settings dataclasses ----------------------------------------

def to_json(obj: Any) -> Any:
    """Plain JSON values for a settings dataclass (enums by value, tuples as lists)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_json(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (tuple, list)):
        return [to_json(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj


def from_json(cls: type, data: Any, where: str) -> Any:
    """An instance of the dataclass ``cls`` from JSON values, checking every field's type.

    Unknown keys are errors (a typo in a hand-edited file should not be silently ignored); missing
    keys take the dataclass default. Raises ValueError with one line that names the bad key.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown setting {unknown[0]!r} (known: {', '.join(fields)})")
    kwargs = {name: _convert(hints[name], data[name], f"{where}.{name}") for name in fields if name in data}
    try:
        return cls(**kwargs)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, where)
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError:
            choices = ", ".join(str(m.value) for m in tp)
            raise ValueError(f"{where} must be one of {choices}, got {value!r}") from None
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{where} must be a finite number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ValueError(f"{where} must be a string, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where} must be a list, got {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ValueError(f"{where} must have {len(args)} items, got {len(value)}")
        return tuple(_convert(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True)))
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{where} must be an object, got {type(value).__name__}")
        return {_convert(args[0], k, where): _convert(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return from_json(tp, value, where)
    raise TypeError(f"{where}: settings field type {tp!r} is not supported")  # a programming error


# -- the store -------------------------------------------------------------------------------------

class SettingsStore:
    """Reads and writes the teleop settings file; ``path`` is injectable (tests, lab setups)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else config_dir() / SETTINGS_FILE_NAME

    def load(self, model: str, defaults: DeviceSettings) -> DeviceSettings:
        """The stored settings of ``model`` laid over ``defaults`` (defaults when none are stored)."""
        entry = self._read_devices().get(model)
        if entry is None:
            return defaults
        where = f"{self.path}: devices[{model!r}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} must be an object")
        unknown = sorted(set(entry) - {"mapper", "buttons", "options"})
        if unknown:
            raise ValueError(f"{where}: unknown section {unknown[0]!r} (known: mapper, buttons, options)")
        mapper = from_json(MapperSettings, {**to_json(defaults.mapper), **entry.get("mapper", {})},
                           f"{where}.mapper")
        buttons = defaults.buttons
        if "buttons" in entry:
            buttons = _convert(dict[str, ButtonAction], entry["buttons"], f"{where}.buttons")
        options = defaults.options
        if "options" in entry and defaults.options is not None:
            options = from_json(type(defaults.options), {**to_json(defaults.options), **entry["options"]},
                                f"{where}.options")
        return DeviceSettings(mapper=mapper, buttons=buttons, options=options)

    def save(self, model: str, settings: DeviceSettings) -> None:
        """Store ``settings`` for ``model``, keeping every other model's entry, atomically."""
        devices = self._read_devices()
        entry: dict[str, Any] = {"mapper": to_json(settings.mapper), "buttons": to_json(settings.buttons)}
        if settings.options is not None:
            entry["options"] = to_json(settings.options)
        devices[model] = entry
        doc = {"format": SETTINGS_FORMAT, "version": SETTINGS_VERSION, "devices": devices}
        write_text_atomic(self.path, json.dumps(doc, indent=2, sort_keys=True) + "\n")

    def models(self) -> list[str]:
        return sorted(self._read_devices())

    def _read_devices(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"teleop settings file {self.path} is not valid JSON (line {exc.lineno}): "
                             "fix it or delete it to start from the defaults") from None
        except RecursionError:
            raise ValueError(f"teleop settings file {self.path} is nested too deeply to be settings: "
                             "fix it or delete it to start from the defaults") from None
        if not isinstance(doc, dict) or doc.get("format") != SETTINGS_FORMAT:
            raise ValueError(f"{self.path} is not a Demo Station teleop settings file "
                             f"(format should be {SETTINGS_FORMAT!r})")
        version = doc.get("version")
        if version != SETTINGS_VERSION:
            raise ValueError(f"{self.path} has settings version {version!r}; this Demo Station reads "
                             f"version {SETTINGS_VERSION} (written by a different release?)")
        devices = doc.get("devices", {})
        if not isinstance(devices, dict):
            raise ValueError(f"{self.path}: 'devices' must be an object")
        return devices


