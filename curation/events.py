"""Tag or trim what was logged while recording: a scripted expert's mistakes and recoveries, operator marks.

The episode's ``events`` attribute lists ``{kind, start, end, label}`` spans (the scripted expert
logs its injected mistakes and the recoveries that follow; an operator can mark spans while
recording). Turning them into tagged time ranges lets a curator find every recovery segment with
the same tools as hand-made tags — and undo the import in one step. Trimming the *mistake* spans
keeps what follows them: a policy learns the recovery (re-open, re-approach after a missed grasp)
without learning to make the mistake on purpose — which it otherwise does as often as the demos
did (training windows never bridge a trim across which the hand moved).
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from curation.source import READ_ERRORS, load_actions
from curation.workspace import Workspace

DEFAULT_KINDS = ("recovery", "mistake")
TRIM_KINDS = ("mistake",)
EVENTS_TRIM_SOURCE = "logged-events"


def _readable_episodes(ws: Workspace, episode_ids: list[str] | None, problems: list[str]) -> Iterator:
    """The actions and events of each episode asked for (live ones by default); a damaged one is
    reported in ``problems`` and skipped. Unknown ids raise before anything is read."""
    ids = ws.live_ids() if episode_ids is None else episode_ids
    for eid in ids:
        ws.require(eid)
    for eid in ids:
        if eid not in ws.readable:
            continue
        try:
            yield load_actions(ws.dataset, eid)
        except READ_ERRORS as exc:
            problems.append(f"{eid}: skipped ({type(exc).__name__}: {exc})")


def _event_spans(ep, kinds: tuple[str, ...]) -> list[tuple[str, float, float]]:
    """(kind, start, end) seconds of the logged events of ``kinds``, clipped to the episode; an
    instant (``end`` NaN, an operator's point mark) covers the sample it falls in."""
    spans = []
    for ev in ep.events:
        kind = str(ev.get("kind", ""))
        if kind not in kinds:
            continue
        start = float(ev.get("start", math.nan))
        end = float(ev.get("end", math.nan))
        if not math.isfinite(start):
            continue
        start = min(max(0.0, start), ep.duration)
        if not math.isfinite(end):
            end = start + 1.0 / ep.rate_hz
        end = min(max(start, end), ep.duration)
        if end > start:
            spans.append((kind, start, end))
    return spans


def tag_logged_events(ws: Workspace, kinds: tuple[str, ...] = DEFAULT_KINDS,
                      episode_ids: list[str] | None = None) -> dict:
    """Add a tag named after each logged event of ``kinds`` over its time range (one edit).

    Ranges are clipped to the episode. An instant (``end`` NaN, as the dataset format logs an
    operator's point mark) becomes a one-sample range. Tags already present are not added twice.
    """
    problems = list(ws.problems)
    wanted: list[tuple[str, str, float | None, float | None]] = []
    for ep in _readable_episodes(ws, episode_ids, problems):
        wanted.extend((ep.id, kind, start, end) for kind, start, end in _event_spans(ep, kinds))
    added = ws.catalog.add_tags(wanted, f"tag {len(wanted)} logged {'/'.join(kinds)} events") if wanted else []
    return {"kinds": list(kinds), "found": len(wanted), "added": len(added), "tag_ids": added, "problems": problems}


def trim_logged_events(ws: Workspace, kinds: tuple[str, ...] = TRIM_KINDS, apply: bool = False,
                       episode_ids: list[str] | None = None) -> dict:
    """Propose (or apply) a trim over each logged event of ``kinds`` — by default the mistakes.

    One catalog edit, undone in one step; re-running replaces this source's unreviewed proposals
    and never re-proposes a span a curator already applied or rejected. A trim covers the samples
    whose tick falls in [start, end).
    """
    problems = list(ws.problems)
    proposals: dict[str, list[dict]] = {}
    for ep in _readable_episodes(ws, episode_ids, problems):
        for kind, start, end in _event_spans(ep, kinds):
            first, stop = (int(i) for i in np.searchsorted(ep.time, [start, end], side="left"))
            if stop > first:
                proposals.setdefault(ep.id, []).append({"start_index": first, "end_index": stop, "start": start,
                                                      "end": end, "detail": {"event": kind}})
    ids_added = ws.catalog.propose_trims(proposals, EVENTS_TRIM_SOURCE, {"kinds": list(kinds)}, apply=apply)
    found = sum(len(v) for v in proposals.values())
    return {"kinds": list(kinds), "found": found, "trim_ids": ids_added, "applied": apply,
            "episodes": len(proposals), "problems": problems}
