"""The camera layout an episode was seen with, and whether two layouts are interchangeable.

Policies overfit to viewpoints: a policy trained with a wrist camera at 96x96 cannot run without
it, and datasets recorded with different camera sets must not be silently merged. The layout is
stored with every episode (the recorder writes `layout_to_json` into the ``cameras`` attribute)
and compared with `check_compatible` when datasets are merged or a policy is started.

JSON form: a list of objects with the `CameraInfo` fields; unknown intrinsics (NaN) are stored as
``null`` so the text stays strict JSON (the same form as `recorder.format.camera_info_dict`);
fields this version does not know are ignored when reading, so newer files stay readable.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields

from devices.camera import CameraInfo

MOUNTS = ("scene", "wrist", "tactile")
_INTRINSICS = ("fx", "fy", "cx", "cy")
_FIELDS = {f.name for f in fields(CameraInfo)}


@dataclass(frozen=True)
class CameraLayout:
    """The cameras of a station or an episode, in the order they are stored."""

    cameras: tuple[CameraInfo, ...] = ()

    def __post_init__(self) -> None:
        names = [c.name for c in self.cameras]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"camera names must be unique, repeated: {', '.join(duplicates)}")
        for cam in self.cameras:
            if cam.mount not in MOUNTS:
                raise ValueError(f"camera {cam.name!r}: mount must be one of {', '.join(MOUNTS)}, got {cam.mount!r}")
            if cam.width <= 0 or cam.height <= 0:
                raise ValueError(f"camera {cam.name!r}: size must be positive, got {cam.width}x{cam.height}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cameras)

    def get(self, name: str) -> CameraInfo | None:
        return next((c for c in self.cameras if c.name == name), None)

    def to_list(self) -> list[dict]:
        return [_info_to_dict(c) for c in self.cameras]

    def to_json(self) -> str:
        return json.dumps(self.to_list(), allow_nan=False)

    @classmethod
    def from_list(cls, items: list) -> "CameraLayout":
        if not isinstance(items, list):
            raise ValueError(f"a camera layout is a JSON list of cameras, got {type(items).__name__}")
        return cls(tuple(_info_from_dict(item, i) for i, item in enumerate(items)))

    @classmethod
    def from_json(cls, text: str) -> "CameraLayout":
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"camera layout is not valid JSON: {exc.msg} at line {exc.lineno}") from None
        except RecursionError:
            raise ValueError("camera layout is nested too deeply to be a camera list") from None
        return cls.from_list(items)


def layout_to_json(cameras: "CameraLayout | list[CameraInfo] | tuple[CameraInfo, ...]") -> str:
    """The ``cameras`` attribute the recorder stores: a JSON list of CameraInfo dicts."""
    layout = cameras if isinstance(cameras, CameraLayout) else CameraLayout(tuple(cameras))
    return layout.to_json()


def layout_from_json(text: str | bytes) -> CameraLayout:
    """Parse a stored ``cameras`` attribute; a clear ValueError for anything malformed."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return CameraLayout.from_json(text)


@dataclass(frozen=True)
class LayoutComparison:
    problems: tuple[str, ...]  # these make the two layouts incompatible
    warnings: tuple[str, ...]  # worth telling the user, not a reason to refuse

    @property
    def compatible(self) -> bool:
        return not self.problems


def compare_layouts(a: CameraLayout, b: CameraLayout, *, rel_tol: float = 0.02) -> LayoutComparison:
    """Problems (missing or extra camera, size or mount mismatch) and warnings (serial, intrinsics).

    ``a`` is the reference (the dataset or the policy), ``b`` the candidate (the other dataset or
    the station the policy is about to run on).
    """
    problems: list[str] = []
    warnings: list[str] = []
    for name in a.names:
        if b.get(name) is None:
            problems.append(f"camera {name!r} is missing")
    for name in b.names:
        if a.get(name) is None:
            problems.append(f"camera {name!r} is extra (not in the reference layout)")
    for ca in a.cameras:
        cb = b.get(ca.name)
        if cb is None:
            continue
        if (ca.width, ca.height) != (cb.width, cb.height):
            problems.append(f"camera {ca.name!r}: size {cb.width}x{cb.height}, expected {ca.width}x{ca.height}")
        if ca.mount != cb.mount:
            problems.append(f"camera {ca.name!r}: mount {cb.mount!r}, expected {ca.mount!r}")
        if ca.serial and cb.serial and ca.serial != cb.serial:
            warnings.append(f"camera {ca.name!r}: serial {cb.serial!r}, reference has {ca.serial!r} (another unit)")
        for key in _INTRINSICS:
            va, vb = getattr(ca, key), getattr(cb, key)
            if math.isnan(va) and math.isnan(vb):
                continue
            if math.isnan(va) != math.isnan(vb):
                warnings.append(f"camera {ca.name!r}: {key} known in only one layout")
                break
            if not math.isclose(va, vb, rel_tol=rel_tol, abs_tol=0.5):
                warnings.append(f"camera {ca.name!r}: {key} {vb:.1f}, reference {va:.1f} (different lens or zoom?)")
    return LayoutComparison(tuple(problems), tuple(warnings))


def check_compatible(a: CameraLayout, b: CameraLayout) -> list[str]:
    """Problems that make ``b`` unusable where ``a`` is expected (empty: compatible)."""
    return list(compare_layouts(a, b).problems)


def _info_to_dict(info: CameraInfo) -> dict:
    d = asdict(info)
    for key in _INTRINSICS:
        d[key] = None if math.isnan(d[key]) else float(d[key])
    d["width"], d["height"] = int(d["width"]), int(d["height"])
    return d


def _info_from_dict(item: object, position: int) -> CameraInfo:
    if not isinstance(item, dict):
        raise ValueError(f"camera #{position} in the layout is not an object")
    missing = {"name", "width", "height"} - set(item)
    if missing:
        raise ValueError(f"camera #{position} lacks {', '.join(sorted(missing))}")
    data = {k: v for k, v in item.items() if k in _FIELDS}  # fields a newer version added are ignored
    try:
        for key in _INTRINSICS:
            data[key] = math.nan if data.get(key) is None else float(data[key])
        for key in ("width", "height"):
            if isinstance(data[key], bool) or int(data[key]) != data[key]:
                raise ValueError(f"{key} must be an integer")
            data[key] = int(data[key])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"camera #{position} ({item.get('name', '?')}): {exc}") from None
    if not isinstance(data["name"], str) or not data["name"]:
        raise ValueError(f"camera #{position}: name must be a non-empty string")
    if not isinstance(data.get("extra", {}), dict):
        raise ValueError(f"camera #{position}: extra must be an object")
    return CameraInfo(**data)


class CameraLayoutMismatch(ValueError):
    """A policy cannot run with these cameras; the message lists every problem on one line."""


def check_policy_cameras(policy_layout: CameraLayout, station_layout: CameraLayout) -> list[str]:
    """Check, before a policy runs, that the station shows it the cameras it was trained with.

    ``policy_layout`` is the layout stored with the policy (its training episodes' ``cameras``
    attribute); ``station_layout`` the cameras the station or robot offers now. The policy only
    reads the cameras it knows, so extra station cameras are fine; a missing camera, another
    image size or another mount (a wrist view where a scene view was trained) is not: raises
    `CameraLayoutMismatch` (a ValueError, one line). Returns the warnings worth showing — another
    unit (serial) or different intrinsics — which do not stop the policy.
    """
    used = CameraLayout(tuple(c for c in station_layout.cameras if policy_layout.get(c.name) is not None))
    comparison = compare_layouts(policy_layout, used)
    if comparison.problems:
        raise CameraLayoutMismatch(f"the policy cannot run with these cameras: {'; '.join(comparison.problems)} "
                                   f"(trained with {_describe(policy_layout)}, the station has {_describe(station_layout)})")
    return list(comparison.warnings)


def _describe(layout: CameraLayout) -> str:
    return ", ".join(f"{c.name} {c.width}x{c.height} {c.mount}" for c in layout.cameras) or "no cameras"
