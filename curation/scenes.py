"""Curation by scene: which perturbations each episode was recorded under, and filtering by them.

The severities live in the raw episode files (``scene`` attribute, `recorder.scene`); curation
reads them and never writes them, so a curator can list, tag or balance episodes by scene (e.g.
everything recorded with ``object_color>=0.25``) without touching a recording.
"""

from __future__ import annotations

from typing import Iterable

from curation.workspace import Workspace
from recorder.scene import SceneCondition, episode_scene, scene_matches


def episode_scenes(ws: Workspace, episode_ids: Iterable[str] | None = None) -> dict[str, dict[str, float]]:
    """Readable episode id → its perturbation severities (absent ones are 0)."""
    wanted = ws.readable if episode_ids is None else [i for i in episode_ids if i in ws.readable]
    out: dict[str, dict[str, float]] = {}
    for eid in wanted:
        with ws.dataset.open(eid) as ep:
            out[eid] = episode_scene(ep.attr)
    return out


def episodes_where(ws: Workspace, conditions: Iterable[SceneCondition],
                   episode_ids: Iterable[str] | None = None) -> list[str]:
    """The readable episodes (of ``episode_ids``, default all) whose scene meets every condition."""
    conds = tuple(conditions)
    return [eid for eid, scene in episode_scenes(ws, episode_ids).items() if scene_matches(scene, conds)]
