"""Pause detection over a whole dataset, as a job: propose trims for review, or apply them.

Detection runs on every live (readable, not deleted) episode, or on the ones asked for; a damaged
episode is reported and skipped. All proposals are stored in one catalog edit at the end, so a
cancelled or failed run leaves the catalog exactly as it was, and one ``--undo`` takes a whole run
back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from curation.pauses import PauseSettings, PauseSpan, detect_pauses
from curation.source import READ_ERRORS, load_actions
from curation.workspace import Workspace
from recorder.jobs import Progress, ShouldStop, check_stop, never_stop, no_progress

DETECTOR_SOURCE = "pause-detector"


@dataclass
class PauseReport:
    settings: PauseSettings
    applied: bool
    episodes: int = 0
    spans: dict[str, list[PauseSpan]] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    trim_ids: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def pause_seconds(self) -> float:
        return sum(s.duration for spans in self.spans.values() for s in spans)

    def summary(self) -> dict:
        total = sum(self.durations.values())
        return {
            "settings": asdict(self.settings), "applied": self.applied, "episodes": self.episodes,
            "pauses": sum(len(v) for v in self.spans.values()), "pause_seconds": self.pause_seconds,
            "pause_fraction": self.pause_seconds / total if total else 0.0,
            "trim_ids": self.trim_ids,
            "proposals": {eid: [s.as_dict() for s in spans] for eid, spans in self.spans.items() if spans},
            "problems": self.problems,
        }


def detect_dataset_pauses(ws: Workspace, settings: PauseSettings = PauseSettings(), apply: bool = False,
                          episode_ids: list[str] | None = None, progress: Progress = no_progress,
                          should_stop: ShouldStop = never_stop) -> PauseReport:
    """Detect idle pauses and store them as proposed (or applied) trims in the catalog."""
    settings.validate()
    if episode_ids is not None:
        for eid in episode_ids:
            ws.require(eid)
    ids = ws.live_ids() if episode_ids is None else [i for i in episode_ids if i in ws.readable]
    report = PauseReport(settings, apply, problems=list(ws.problems))
    for k, eid in enumerate(ids):
        check_stop(should_stop)
        progress(k, len(ids), f"detecting pauses in {eid}")
        try:
            ep = load_actions(ws.dataset, eid)
            spans = detect_pauses(ep.time, ep.pose, ep.gripper, settings)
        except READ_ERRORS as exc:
            report.problems.append(f"{eid}: skipped ({type(exc).__name__}: {exc})")
            continue
        report.spans[eid] = spans
        report.durations[eid] = ep.duration
        report.episodes += 1
    check_stop(should_stop)
    progress(len(ids), len(ids), "storing proposals")
    proposals = {eid: [{"start_index": s.start_index, "end_index": s.end_index, "start": s.start, "end": s.end,
                        "detail": {"where": s.where}} for s in spans] for eid, spans in report.spans.items()}
    report.trim_ids = ws.catalog.propose_trims(proposals, DETECTOR_SOURCE, {"settings": asdict(settings)},
                                               apply=apply)
    return report
