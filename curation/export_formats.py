"""The export formats, registered by name: the one list `demostation export --format` and the GUI's
Export dialog both offer, so a format added here appears in both.

Each entry says what its destination is (one file or a folder, and the usual suffix) so a caller
can ask for the right kind of path, and runs its exporter with the options that apply to it. The
exporters are imported when run: listing the formats costs nothing (the command line's start-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

from recorder.errors import NoSpaceError
from recorder.jobs import Progress, ShouldStop, never_stop, no_progress
from recorder.journal import is_disk_full

if TYPE_CHECKING:  # the command line lists the formats before it opens anything
    from curation.workspace import Workspace

DEFAULT_CRF = 23  # H.264 constant quality of the LeRobot videos
DEFAULT_GOP = 2  # a key frame every 2 frames, as LeRobot encodes: random access for training


@dataclass(frozen=True)
class ExportOptions:
    """Format-specific knobs; each format reads only its own."""

    next_obs: bool = True  # robomimic: store next_obs (robomimic's default hdf5_load_next_obs=True)
    crf: int = DEFAULT_CRF  # lerobot videos
    gop: int = DEFAULT_GOP  # lerobot videos


Runner = Callable[["Workspace", Path, bool, ExportOptions, Progress, ShouldStop], Any]


@dataclass(frozen=True)
class ExportFormat:
    name: str  # the --format value
    label: str  # what a person picks from
    target: Literal["file", "folder"]  # what the destination is
    suffix: str  # the usual ending of the destination ("" for a plain folder)
    trainer: str  # who reads it
    run: Runner

    def export(self, ws: "Workspace", out: str | Path, overwrite: bool = False, options: ExportOptions | None = None,
               progress: Progress = no_progress, should_stop: ShouldStop = never_stop) -> Any:
        """Export ``ws`` to ``out``; returns the exporter's report (``.summary()`` is a dict).

        A disk that fills is one line: each exporter writes to a temporary name and removes it when
        it fails, so nothing half-written is left and an earlier export at ``out`` is untouched.
        """
        try:
            return self.run(ws, Path(out), overwrite, options or ExportOptions(), progress, should_stop)
        except NoSpaceError:
            raise  # already says what did not fit
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            raise NoSpaceError(f"disk full while writing the {self.name} export to {out}; nothing was left "
                               "behind and the dataset is untouched: free space and run again") from exc


def _robomimic(ws, out, overwrite, options, progress, should_stop):
    from curation.export_robomimic import export_robomimic

    return export_robomimic(ws, out, next_obs=options.next_obs, overwrite=overwrite, progress=progress,
                            should_stop=should_stop)


def _lerobot(ws, out, overwrite, options, progress, should_stop):
    from curation.export_lerobot import export_lerobot

    return export_lerobot(ws, out, overwrite=overwrite, crf=options.crf, gop=options.gop, progress=progress,
                          should_stop=should_stop)


def _zarr(ws, out, overwrite, options, progress, should_stop):
    from curation.export_zarr import export_zarr

    return export_zarr(ws, out, overwrite=overwrite, progress=progress, should_stop=should_stop)


# In the order a person picks from (most labs keep LeRobot datasets); the command line's default
# stays robomimic, what `demostation export` wrote before the others existed.
EXPORT_FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("lerobot", "LeRobot dataset v3.0 (parquet + H.264 videos)", "folder", "", "LeRobot, openpi, GR00T",
                 _lerobot),
    ExportFormat("zarr", "Diffusion Policy replay buffer (Zarr)", "folder", ".zarr", "diffusion_policy", _zarr),
    ExportFormat("robomimic", "robomimic HDF5 file", "file", ".h5", "robomimic, Diffusion Policy (robomimic loader)",
                 _robomimic),
)}
DEFAULT_FORMAT = "robomimic"


def describe_export(s: dict) -> str:
    """One line saying what an export wrote, from its report's ``summary()`` (the command line prints
    it; the GUI shows it in the status bar)."""
    if s["format"] == "lerobot":
        return (f"wrote {s['episodes']} episodes ({s['frames']} frames, {s['trimmed_frames']} trimmed) at {s['fps']} "
                f"fps to {s['out']}: LeRobot {s['codebase_version']}, {s['train']} train, {s['valid']} valid, "
                f"videos {s['codec'] or 'none'}")
    if s["format"] == "zarr":
        return (f"wrote {s['episodes']} episodes ({s['frames']} frames, {s['trimmed_frames']} trimmed) to {s['out']}: "
                f"diffusion_policy replay buffer (Zarr format 2), keys {', '.join(s['keys'])}")
    if s["format"] == "mp4":
        return (f"wrote {s['episode']} ({s['frames']} frames, {s['trimmed_frames']} trimmed; "
                f"{' | '.join(s['cameras'])}) to {s['out']}: {s['codec']} {s['width']}x{s['height']} at {s['fps']:g} fps")
    return (f"wrote {s['demos']} demos ({s['samples']} samples, {s['trimmed_samples']} trimmed) to {s['out']}: "
            f"{s['train']} train, {s['valid']} valid (split: {s['split_source']})")


def export_format(name: str) -> ExportFormat:
    """The registered format ``name``; one line naming the known ones otherwise."""
    try:
        return EXPORT_FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown export format {name!r}; choose one of {', '.join(sorted(EXPORT_FORMATS))}") \
            from None
