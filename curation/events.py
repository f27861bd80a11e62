"""Tag what was logged while recording: a scripted expert's mistakes and recoveries, operator marks.

The episode's ``events`` attribute lists ``{kind, start, end, label}`` spans (the scripted expert
logs its injected mistakes and the recoveries that follow; an operator can mark spans while
recording). Turning them into tagged time ranges lets a curator find every recovery segment with
the same tools as hand-made tags — and undo the import in one step.
"""

from __future__ import annotations

import math

from curation.source import READ_ERRORS, load_actions
from curation.workspace import Workspace

DEFAULT_KINDS = ("recovery", "mistake")


def tag_logged_events(ws: Workspace, kinds: tuple[str, ...] = DEFAULT_KINDS,
                      episode_ids: list[str] | None = None) -> dict:
    """Add a tag named after each logged event of ``kinds`` over its time range (one edit).

    Ranges are clipped to the episode. An instant (``end`` NaN, as the dataset format logs an
    operator's point mark) becomes a one-sample range. Tags already present are not added twice.
    """
    ids = ws.live_ids() if episode_ids is None else episode_ids
    for eid in ids:
        ws.require(eid)
    wanted: list[tuple[str, str, float | None, float | None]] = []
    problems = list(ws.problems)
    for eid in ids:
        if eid not in ws.readable:
            continue
        try:
            ep = load_actions(ws.dataset, eid)
        except READ_ERRORS as exc:
            problems.append(f"{eid}: skipped ({type(exc).__name__}: {exc})")
            continue
        for ev in ep.events:
            kind = str(ev.get("kind", ""))
            if kind not in kinds:
                continue
            start = float(ev.get("start", math.nan))
            end = float(ev.get("end", math.nan))
            if not math.isfinite(start):
                continue
            start = min(max(0.0, start), ep.duration)
            if not math.isfinite(end):  # an instant: the sample it falls in
                end = start + 1.0 / ep.rate_hz
            end = min(max(start, end), ep.duration)
            if end > start:
                wanted.append((eid, kind, start, end))
    added = ws.catalog.add_tags(wanted, f"tag {len(wanted)} logged {'/'.join(kinds)} events") if wanted else []
    return {"kinds": list(kinds), "found": len(wanted), "added": len(added), "tag_ids": added, "problems": problems}
