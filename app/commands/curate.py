"""`demostation curate DIR`: trim idle pauses, tag, judge, delete, split, merge, undo — and stats.

One action per call. Every edit goes to DIR/catalog.sqlite and can be taken back with ``--undo``;
the raw episode files are only ever read.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable

NAME = "curate"
HELP = "curate a dataset: pause trims, tags, outcomes, soft deletes, notes, split, merge, stats, undo"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", metavar="DIR", help="the dataset folder (for --merge: the new merged dataset)")
    act = p.add_mutually_exclusive_group()
    act.add_argument("--list", action="store_true", help="list episodes with outcome, tags and trims (default)")
    act.add_argument("--detect-pauses", action="store_true",
                     help="propose idle pauses as trims for review (add --apply to apply them at once)")
    act.add_argument("--trims", action="store_true", help="list trims (proposed, applied, rejected) for review")
    act.add_argument("--reject-trim", type=int, nargs="+", metavar="ID", help="reject proposed or applied trims")
    act.add_argument("--trim", nargs=2, metavar=("EP", "START:END"), help="trim a time range (seconds) by hand")
    act.add_argument("--tag", nargs=2, metavar=("EP", "TAG"),
                     help="tag an episode (e.g. recovery), or a time range of it with --range")
    act.add_argument("--tag-events", nargs="*", metavar="KIND",
                     help="tag the time ranges of events logged while recording (default kinds: recovery mistake)")
    act.add_argument("--trim-events", nargs="*", metavar="KIND",
                     help="propose trims over events logged while recording (default kind: mistake; the "
                          "recovery after it stays); add --apply to apply them at once")
    act.add_argument("--untag", nargs=2, metavar=("EP", "TAG"), help="remove a tag (and its ranges)")
    act.add_argument("--outcome", nargs=2, metavar=("EP", "OUTCOME"), help="set success, failure or unknown")
    act.add_argument("--delete", metavar="EP", help="soft-delete an episode (its file stays)")
    act.add_argument("--restore", metavar="EP", help="restore a soft-deleted episode")
    act.add_argument("--note", nargs=2, metavar=("EP", "TEXT"), help="add a note to an episode")
    act.add_argument("--undo", action="store_true", help="take back the last edit (repeat to go further back)")
    act.add_argument("--history", action="store_true", help="list edits, newest first")
    act.add_argument("--stats", action="store_true", help="statistics per dataset and per episode")
    act.add_argument("--split", type=float, metavar="VAL_FRACTION",
                     help="store a seeded train/validation split by episode")
    act.add_argument("--merge", nargs="+", metavar="SRC", help="merge datasets SRC... into the new dataset DIR")
    p.add_argument("--apply", action="store_true",
                   help="with --detect-pauses or --trim-events: apply what is found; alone: apply all proposed trims")
    p.add_argument("--range", metavar="START:END", help="with --tag: tag this time range (seconds)")
    p.add_argument("--seed", type=int, default=0, help="with --split: the seed (default 0)")
    p.add_argument("--camera-map", action="append", metavar="OLD=NEW",
                   help="with --merge: rename a camera so camera sets match; repeatable")
    p.add_argument("--episode", action="append", metavar="EP",
                   help="limit --detect-pauses, --stats or --apply to these episodes; repeatable")
    p.add_argument("--min-pause", type=float, default=None, metavar="S", help="shortest pause (default 1.0 s)")
    p.add_argument("--max-speed", type=float, default=None, metavar="M_PER_S",
                   help="linear speed below which the command counts as still (default 0.05 m/s)")
    p.add_argument("--max-angular-speed", type=float, default=None, metavar="RAD_PER_S",
                   help="angular speed below which the command counts as still (default 0.2 rad/s)")
    p.add_argument("--velocity-window", type=float, default=None, metavar="S",
                   help="window of the speed estimate that averages out hand jitter (default 0.9 s)")
    p.add_argument("--where", action="append", metavar="COND",
                   help="with --list: only episodes whose recorded scene satisfies COND, e.g. "
                        "object_color>=0.25 (repeatable, all must hold)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def parse_range(text: str) -> tuple[float, float]:
    """``"2.5:4"`` → (2.5, 4.0); a clear error otherwise."""
    start, sep, end = str(text).partition(":")
    try:
        if not sep:
            raise ValueError
        a, b = float(start), float(end)
    except ValueError:
        raise ValueError(f"bad range {text!r}: use START:END in seconds, e.g. 2.5:4") from None
    return a, b


def pause_settings(args: argparse.Namespace):
    from curation.pauses import PauseSettings

    given = {"min_pause_s": args.min_pause, "max_linear_speed": args.max_speed,
             "max_angular_speed": args.max_angular_speed, "velocity_window_s": args.velocity_window}
    settings = PauseSettings(**{k: v for k, v in given.items() if v is not None})
    settings.validate()
    return settings


def stderr_progress() -> Callable[[int, int, str], None]:
    """Progress on stderr when it is a terminal; silent otherwise (pipes and logs stay clean)."""
    if not sys.stderr.isatty():
        return lambda done, total, message="": None

    def show(done: int, total: int, message: str = "") -> None:
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r[{done}/{total}] {message[:60]:<60}{end}")
        sys.stderr.flush()

    return show


def run(args: argparse.Namespace) -> int:
    from app.cli import print_json
    from app.errors import UsageError

    if args.merge:
        return _merge(args, print_json)
    if args.range and not args.tag:
        raise UsageError("--range goes with --tag EP TAG")
    if args.where and _handler(args) is not _list:
        raise UsageError("--where goes with --list")
    if args.camera_map:
        raise UsageError("--camera-map goes with --merge")
    if args.apply and _handler(args) not in (_detect, _trim_events, _apply):
        raise UsageError("--apply goes with --detect-pauses or --trim-events, or alone to apply proposed trims")
    from curation.workspace import open_workspace

    with open_workspace(args.dataset) as ws:
        handler = _handler(args)
        result, text = handler(ws, args)
        if args.json:
            print_json({**result, "problems": result.get("problems", ws.problems)})
        else:
            for line in text:
                print(line)
            for problem in ws.problems:
                print(f"warning: {problem}", file=sys.stderr)
    return 0


def _handler(args: argparse.Namespace):
    table = [
        ("detect_pauses", _detect), ("trims", _list_trims), ("reject_trim", _reject), ("trim", _trim),
        ("tag", _tag), ("untag", _untag), ("outcome", _outcome), ("delete", _delete), ("restore", _restore),
        ("note", _note), ("undo", _undo), ("history", _history), ("stats", _stats),
    ]
    for attr, fn in table:
        if getattr(args, attr):
            return fn
    if args.split is not None:
        return _split
    if args.tag_events is not None:
        return _tag_events
    if args.trim_events is not None:
        return _trim_events
    if args.apply:
        return _apply
    return _list


# -- handlers: each returns (JSON object, text lines) -----------------------------------------------
def _detect(ws, args):
    from curation.trims import detect_dataset_pauses

    report = detect_dataset_pauses(ws, pause_settings(args), apply=args.apply, episode_ids=args.episode,
                                   progress=stderr_progress())
    s = report.summary()
    verb = "applied" if args.apply else "proposed"
    lines = [f"{s['pauses']} pauses ({s['pause_seconds']:.1f} s, {s['pause_fraction']:.1%} of the time) "
             f"in {s['episodes']} episodes, {verb} as trims"]
    for eid, spans in s["proposals"].items():
        lines.append(f"  {eid}: " + ", ".join(f"{p['start']:.1f}-{p['end']:.1f} s ({p['where']})" for p in spans))
    if not args.apply and s["pauses"]:
        lines.append("review with --trims, reject with --reject-trim ID, then apply with --apply")
    return s, lines


def _list_trims(ws, args):
    trims = [t for t in ws.catalog.trims() if not args.episode or t.episode_id in args.episode]
    lines = [f"#{t.id:<4} {t.episode_id} {t.start:7.2f}-{t.end:7.2f} s  {t.status:<8} {t.source}" for t in trims]
    return {"trims": [t.as_dict() for t in trims]}, lines or ["no trims"]


def _reject(ws, args):
    changed = ws.catalog.set_trim_status(args.reject_trim, "rejected")
    return {"rejected": args.reject_trim, "changed": changed}, [f"rejected {changed} trim(s)"]


def _apply(ws, args):
    if args.episode:
        for eid in args.episode:
            ws.require(eid)
        n = sum(ws.catalog.apply_proposed(eid) for eid in args.episode)
    else:
        n = ws.catalog.apply_proposed()
    return {"applied": n}, [f"applied {n} proposed trim(s)" if n else "no proposed trims to apply"]


def _trim(ws, args):
    eid, text = args.trim
    start, end = parse_range(text)
    tid = ws.add_trim(eid, start, end)
    return {"trim_id": tid, "episode": eid, "start": start, "end": end}, [f"trimmed {eid} {start:g}-{end:g} s (#{tid})"]


def _tag(ws, args):
    eid, tag = args.tag
    start, end = parse_range(args.range) if args.range else (None, None)
    tid = ws.catalog.add_tag(eid, tag, start, end)
    where = f" {start:g}-{end:g} s" if start is not None else ""
    return {"tag_id": tid, "episode": eid, "tag": tag, "start": start, "end": end}, [f"tagged {eid} {tag}{where}"]


def _tag_events(ws, args):
    from curation.events import DEFAULT_KINDS, tag_logged_events

    result = tag_logged_events(ws, tuple(args.tag_events) or DEFAULT_KINDS, episode_ids=args.episode)
    return result, [f"tagged {result['added']} logged event ranges ({', '.join(result['kinds'])}); "
                    f"{result['found'] - result['added']} were already tagged"]


def _trim_events(ws, args):
    from curation.events import TRIM_KINDS, trim_logged_events

    result = trim_logged_events(ws, tuple(args.trim_events) or TRIM_KINDS, apply=args.apply,
                                episode_ids=args.episode)
    verb = "applied" if args.apply else "proposed"
    lines = [f"{len(result['trim_ids'])} of {result['found']} logged {'/'.join(result['kinds'])} spans in "
             f"{result['episodes']} episodes {verb} as trims"]
    if not args.apply and result["trim_ids"]:
        lines.append("review with --trims, reject with --reject-trim ID, then apply with --apply")
    return result, lines


def _untag(ws, args):
    eid, tag = args.untag
    n = ws.catalog.remove_tag(eid, tag)
    return {"episode": eid, "tag": tag, "removed": n}, [f"removed {n} {tag!r} tag(s) from {eid}"]


def _outcome(ws, args):
    eid, outcome = args.outcome
    ws.catalog.set_outcome(eid, outcome)
    return {"episode": eid, "outcome": outcome}, [f"{eid}: {outcome}"]


def _delete(ws, args):
    changed = ws.catalog.delete_episode(args.delete)
    return ({"episode": args.delete, "deleted": True, "changed": changed},
            [f"deleted {args.delete} (restore with --restore)" if changed else f"{args.delete} was already deleted"])


def _restore(ws, args):
    changed = ws.catalog.restore_episode(args.restore)
    return ({"episode": args.restore, "deleted": False, "changed": changed},
            [f"restored {args.restore}" if changed else f"{args.restore} was not deleted"])


def _note(ws, args):
    eid, text = args.note
    nid = ws.catalog.add_note(eid, text)
    return {"episode": eid, "note_id": nid}, [f"noted on {eid}"]


def _undo(ws, args):
    edit = ws.catalog.undo()
    if edit is None:
        return {"undone": None}, ["nothing to undo"]
    return {"undone": edit.as_dict()}, [f"undid: {edit.description} ({edit.at})"]


def _history(ws, args):
    edits = ws.catalog.history()
    lines = [f"#{e.id:<4} {e.at}  {e.description}{'  (undone)' if e.undone_at else ''}" for e in edits]
    return {"edits": [e.as_dict() for e in edits]}, lines or ["no edits yet"]


def _stats(ws, args):
    from curation.stats import dataset_stats

    s = dataset_stats(ws, pause_settings(args), episode_ids=args.episode, progress=stderr_progress()).summary()
    lines = [
        f"{s['episodes']} episodes ({s['deleted']} deleted, {s['unreadable']} unreadable), "
        f"{s['duration_s']:.1f} s recorded, {s['kept_duration_s']:.1f} s kept",
        f"pauses: {s['pause_s']:.1f} s ({s['pause_fraction']:.1%}); path {s['path_length_m']:.2f} m",
        "outcomes: " + (", ".join(f"{k} {v}" for k, v in sorted(s["outcomes"].items())) or "none"),
        "tags: " + (", ".join(f"{k} {v}" for k, v in s["tags"].items()) or "none"),
        "devices: " + (", ".join(f"{k} {v}" for k, v in sorted(s["devices"].items())) or "none"),
    ]
    for e in s["per_episode"]:
        flag = " (deleted)" if e["deleted"] else ""
        lines.append(f"  {e['id']}{flag}: {e['duration_s']:.1f} s, kept {e['kept_duration_s']:.1f} s, "
                     f"pause {e['pause_fraction']:.0%}, path {e['path_length_m']:.2f} m, {e['outcome']}, "
                     f"{e['device']}{', tags ' + ', '.join(e['tags']) if e['tags'] else ''}")
    return s, lines


def _split(ws, args):
    from curation.split import split_dataset

    assignment = split_dataset(ws, args.split, args.seed)
    train = sorted(i for i, s in assignment.items() if s == "train")
    valid = sorted(i for i, s in assignment.items() if s == "valid")
    return ({"seed": args.seed, "val_fraction": args.split, "train": train, "valid": valid},
            [f"split {len(assignment)} episodes: {len(train)} train, {len(valid)} valid (seed {args.seed})",
             "valid: " + (", ".join(valid) or "none")])


def _list(ws, args):
    from curation.scenes import episode_scenes
    from recorder.scene import known_perturbations, parse_conditions, scene_matches

    conditions = parse_conditions(args.where, known_perturbations())
    scenes = episode_scenes(ws)
    records = [r for r in ws.catalog.records() if r.id in scenes and scene_matches(scenes[r.id], conditions)]
    trims = ws.catalog.trims()
    split = ws.catalog.split()
    out = []
    lines = []
    for r in records:
        if r.id not in ws.readable:
            continue
        mine = [t for t in trims if t.episode_id == r.id]
        applied = sum(t.status == "applied" for t in mine)
        proposed = sum(t.status == "proposed" for t in mine)
        subset = split.assignment.get(r.id) if split else None
        d = {**r.as_dict(), "trims_applied": applied, "trims_proposed": proposed, "subset": subset,
             "scene": scenes[r.id]}
        out.append(d)
        tags = ", ".join(t.tag + (f"@{t.start:g}-{t.end:g}" if t.start is not None else "") for t in r.tags)
        parts = [f"{r.id}{' [deleted]' if r.deleted else ''}", f"{r.facts.duration:6.1f} s", f"{r.outcome:<8}",
                 f"{r.facts.device:<12}", subset or "-"]
        if applied or proposed:
            parts.append(f"trims {applied} applied" + (f", {proposed} proposed" if proposed else ""))
        if tags:
            parts.append(f"tags: {tags}")
        if r.notes:
            parts.append(f"{len(r.notes)} note(s)")
        perturbed = {k: v for k, v in scenes[r.id].items() if v > 0}
        if perturbed:
            parts.append("scene: " + ", ".join(f"{k} {v:g}" for k, v in sorted(perturbed.items())))
        lines.append("  ".join(parts))
    return {"episodes": out}, lines or ["no readable episodes"]


def _merge(args: argparse.Namespace, print_json) -> int:
    from curation.merge import merge_datasets, parse_camera_map

    report = merge_datasets(args.merge, args.dataset, parse_camera_map(args.camera_map), progress=stderr_progress())
    s = report.summary()
    if args.json:
        print_json(s)
    else:
        print(f"merged {s['episodes']} episodes into {s['out']} (cameras: {', '.join(s['cameras']) or 'none'}; "
              f"{s['renamed']} rewritten with renamed cameras)")
        for problem in report.problems:
            print(f"warning: {problem}", file=sys.stderr)
    return 0

