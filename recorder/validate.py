"""Validation of a dataset: is every episode sound enough to curate and train on?

Each check yields `Problem`s with a kind, so the command line can list them and a program can
filter them. A file that cannot be opened at all is one problem ("unreadable"); a readable episode
is checked for the schema (keys, shapes, lengths), numbers (NaN/inf), time (strictly increasing),
rate (within 5 % of ``rate_hz``), synchronisation (no frame captured after its tick) and whether it
was finished properly (``complete``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import h5py
import numpy as np

from recorder import format as fmt
from recorder.dataset import Dataset, Episode, require_dataset

RATE_TOLERANCE = 0.05

# What a consumer (an exporter, the trainer) refuses an episode for: its data is wrong or
# unreadable. `rate`, `sync` and `incomplete` are reported to the curator but leave the samples
# consistent — a crash-recovered episode is incomplete by design and is kept, trimmed or deleted in
# curation — so they do not exclude it.
UNUSABLE_KINDS = frozenset({"unreadable", "attribute", "missing", "shape", "nan", "time"})
_READ_ERRORS = (OSError, KeyError, ValueError, TypeError)


@dataclass(frozen=True)
class Problem:
    episode: str  # episode id or file name
    kind: str  # unreadable, missing, shape, nan, time, rate, sync, incomplete, attribute
    message: str

    def line(self) -> str:
        return f"{self.episode}: {self.kind}: {self.message}"


@dataclass
class ValidationReport:
    root: str
    episode_ids: list[str] = field(default_factory=list)  # readable episode files checked
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what recovery did on this open (one line each)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def episodes(self) -> int:
        return len(self.episode_ids)

    @property
    def sound(self) -> int:
        return len(set(self.episode_ids) - {p.episode for p in self.problems})

    def as_dict(self) -> dict:
        return {"dataset": self.root, "ok": self.ok, "episodes": self.episodes, "sound": self.sound,
                "problems": [asdict(p) for p in self.problems], "notes": list(self.notes)}


def validate_dataset(root: str | Path) -> ValidationReport:
    ds = Dataset(require_dataset(root))
    report = ValidationReport(str(ds.root), notes=list(ds.recovery.notes))
    for fp in ds.problem_details():
        report.problems.append(Problem(fp.name, "unreadable", fp.message))
    for eid in ds.episode_ids():
        report.episode_ids.append(eid)
        report.problems.extend(check_episode(ds, eid))
    return report


def check_episode(ds: Dataset, episode_id: str) -> list[Problem]:
    """Every problem of one readable episode; damage deeper than the header is one "unreadable"."""
    try:
        with ds.open(episode_id) as ep:
            return validate_episode(ep)
    except _READ_ERRORS as exc:
        return [Problem(episode_id, "unreadable", " ".join(str(exc).split()) or type(exc).__name__)]


def unusable_reason(ds: Dataset, episode_id: str) -> str | None:
    """Why exporters and the trainer must leave this episode out (validate's own checks, the kinds in
    `UNUSABLE_KINDS`), as ``"kind: message"`` (the first problem; ``(+N more)``), or None if usable."""
    bad = [p for p in check_episode(ds, episode_id) if p.kind in UNUSABLE_KINDS]
    if not bad:
        return None
    more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
    return f"{bad[0].kind}: {bad[0].message}{more}"


def validate_episode(ep: Episode) -> list[Problem]:
    out: list[Problem] = []

    def bad(kind: str, message: str) -> None:
        out.append(Problem(ep.id, kind, message))

    f = ep.file
    for key in fmt.REQUIRED_ATTRS:
        if key not in f.attrs:
            bad("attribute", f"missing root attribute {key!r}")
    missing = [k for k in fmt.REQUIRED_DATASETS if k not in f]
    for key in missing:
        bad("missing", f"missing dataset {key!r}")
    if missing:
        return out
    if not _check_types(ep, bad):  # everything below reads these; a wrong type would surface as Python's words
        return out
    n = len(ep)
    datasets = _datasets(f)
    for key, ds in datasets.items():
        if ds.shape[:1] != (n,):
            bad("shape", f"{key} has {ds.shape[0] if ds.shape else 0} samples, time has {n}")
    expected = {fmt.ACTION_POSE: (7,), fmt.ACTION_GRIPPER: (1,), fmt.COMMAND_POSE: (7,), fmt.COMMAND_GRIPPER: (1,),
                "obs/ee_pose": (7,), "obs/gripper": (1,), "obs/ee_wrench": (6,)}
    if (fmt.COMMAND_POSE in datasets) != (fmt.COMMAND_GRIPPER in datasets):
        bad("missing", f"{fmt.COMMAND_POSE} and {fmt.COMMAND_GRIPPER} come together; one is missing")
    for key, shape in expected.items():
        if key in datasets and datasets[key].shape[1:] != shape:
            bad("shape", f"{key} has shape {datasets[key].shape[1:]} per sample, expected {shape}")
    for key, ds in datasets.items():
        if key.startswith(fmt.IMAGES_PREFIX):
            if ds.dtype != np.uint8 or ds.ndim != 4 or ds.shape[-1] != 3:
                bad("shape", f"{key} must be (T, H, W, 3) uint8, is {ds.shape} {ds.dtype}")
            cam = key[len(fmt.IMAGES_PREFIX):]
            if fmt.IMAGE_TIME_PREFIX + cam not in f:
                bad("missing", f"missing dataset {fmt.IMAGE_TIME_PREFIX + cam!r}")
            continue
        if ds.dtype.kind == "f":
            a = ds[()]
            finite = np.isfinite(a)
            if not finite.all():
                rows = np.unique(np.nonzero(~finite)[0])
                bad("nan", f"{key} has {int((~finite).sum())} non-finite values (first at sample {int(rows[0])})")
    if out:
        return out
    if _check_time(ep, bad):  # frames are checked against the tick times only when those are sound
        _check_sync(ep, bad)
    sources = ep.sources
    src = ep.action_source
    if n and (src.max(initial=0) >= max(1, len(sources))):
        bad("attribute", f"action/source refers to device {int(src.max())} but sources lists {len(sources)}")
    if not ep.complete:
        why = "recovered after the recording crashed" if ep.attrs.get("recovered") else "not finalised"
        if ep.attrs.get("stopped_by_user"):
            why = "stopped by the user before it ended"
        lost = ep.attrs.get("recovered_lost")
        if isinstance(lost, list) and lost:
            why = f"recovered from a damaged journal, {_lost_words(lost)}"
        bad("incomplete", f"episode is incomplete ({why}); keep it, trim it or delete it in curation")
    return out


def _lost_words(lost: list) -> str:
    """What ``recovered_lost`` says was lost, in words ("samples 30-39 lost")."""
    spans = []
    for span in lost:
        first, last = (span.get("samples") or [None, None]) if isinstance(span, dict) else (None, None)
        spans.append(f"{first}-{last if last is not None else 'end'}")
    return f"samples {', '.join(spans)} lost"


# The type each JSON-text root attribute must decode to (docs/dataset-format.md).
_JSON_TYPES: dict[str, type] = {"station": dict, "cameras": list, "events": list, "timing": dict, "sources": list,
                                "start_command": list}
_TYPE_WORDS = {dict: "a JSON object", list: "a JSON list"}


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_types(ep: Episode, bad) -> bool:
    """Attributes and ``time`` of the types the format says, before anything computes with them."""
    ok = True
    rate = ep.attr("rate_hz")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float))):
        bad("attribute", f"rate_hz must be a number (samples per second), is {_shown(rate)}")
        ok = False
    for key, kind in _JSON_TYPES.items():
        value = ep.attr(key)
        if value is not None and not isinstance(value, kind):
            bad("attribute", f"{key} must be {_TYPE_WORDS[kind]}, is {_shown(value)}")
            ok = False
    t = ep.file[fmt.TIME]
    if t.ndim != 1 or t.dtype.kind not in "fiu":
        bad("shape", f"{fmt.TIME} must be (T,) seconds, is {t.shape} {t.dtype}")
        ok = False
    return ok


def _datasets(f: h5py.File) -> dict[str, h5py.Dataset]:
    found: dict[str, h5py.Dataset] = {}

    def visit(name: str, obj: object) -> None:
        if isinstance(obj, h5py.Dataset):
            found[name] = obj

    f.visititems(visit)
    return found


def _check_time(ep: Episode, bad) -> bool:
    """Time strictly increasing and the measured rate within 5 % of ``rate_hz``; False if time is broken."""
    t = ep.time
    n = len(t)
    if n == 0:
        bad("time", "episode has no samples")
        return False
    dt = np.diff(t)
    if np.any(dt <= 0):
        i = int(np.argmax(dt <= 0))
        bad("time", f"time is not strictly increasing (sample {i + 1}: {t[i]:.4f} s then {t[i + 1]:.4f} s)")
        return False
    rate = ep.rate_hz
    if not (rate > 0):
        bad("attribute", f"rate_hz is {rate}")
        return True
    if n >= 3:
        # Time the recorder spent paused (a teleop device lost) stores no samples: not a rate error.
        paused = float((ep.timing or {}).get("paused_s", 0.0) or 0.0)
        span = t[-1] - t[0] - paused
        measured = (n - 1) / span if span > 0 else float("inf")
        if abs(measured - rate) > RATE_TOLERANCE * rate:
            bad("rate", f"measured rate {measured:.3f} Hz is more than {RATE_TOLERANCE:.0%} off the recorded "
                        f"rate_hz {rate:g}")
    return True


def _check_sync(ep: Episode, bad) -> None:
    t = ep.time
    for cam in ep.camera_names:
        it = ep.image_time(cam)
        if it.shape != t.shape:
            continue
        ahead = it - t > 1e-6
        if np.any(ahead):
            i = int(np.argmax(ahead))
            bad("sync", f"camera {cam}: frame at sample {i} was captured {1e3 * (it[i] - t[i]):.1f} ms after its tick")
