"""The curation catalog: edits, undo, crash safety, concurrent reading, and raw files left untouched."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from curation.catalog import Catalog
from curation.stats import dataset_stats
from curation.trims import detect_dataset_pauses
from curation.workspace import open_workspace
from tests.curation_fixtures import file_hashes, still_then_move, write_corrupt, write_episode, write_half


@pytest.fixture
def dataset(tmp_path):
    """Three small episodes: a success, a failure and one the station did not judge."""
    root = tmp_path / "ds"
    for i, success in enumerate([True, False, None]):
        pose, grip = still_then_move(15, 12, 14, 12, 15, noise=0.002, rng=np.random.default_rng(i))
        write_episode(root, i, pose, grip, success=success)
    return root


def test_catalog_is_wal_and_outcomes_are_prefilled_from_the_station(dataset):
    with open_workspace(dataset) as ws:
        assert [r.outcome for r in ws.catalog.records()] == ["success", "failure", "unknown"]
        assert all(r.outcome_source == "station" for r in ws.catalog.records())
    conn = sqlite3.connect(dataset / "catalog.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_every_edit_is_undoable_repeatedly_and_across_processes(dataset):
    with open_workspace(dataset) as ws:
        c = ws.catalog
        c.set_outcome("ep_000002", "failure")
        c.add_tag("ep_000001", "recovery", 1.0, 2.5)
        c.add_tag("ep_000001", "wobbly")
        c.add_note("ep_000000", "operator sneezed")
        c.delete_episode("ep_000001")
        ws.add_trim("ep_000000", 0.0, 1.5)
        rec = c.record("ep_000001")
        assert rec.deleted and {t.tag for t in rec.tags} == {"recovery", "wobbly"}
        assert [(t.start, t.end) for t in rec.tags if t.tag == "recovery"] == [(1.0, 2.5)]
        assert ws.live_ids() == ["ep_000000", "ep_000002"]
        assert len(c.history()) == 6
    # A new process (a new connection) undoes them one by one, newest first.
    with open_workspace(dataset) as ws:
        c = ws.catalog
        assert c.undo().description == "trim ep_000000 0:1.5"
        assert c.kept_mask("ep_000000").all()
        assert c.undo().description == "delete ep_000001"
        assert not c.is_deleted("ep_000001")
        assert c.undo().description.startswith("note")
        assert c.notes("ep_000000") == []
        c.undo()
        c.undo()
        assert c.tags() == []
        c.undo()
        assert c.record("ep_000002").outcome == "unknown"
        assert c.record("ep_000002").outcome_source == "station"
        assert c.undo() is None
        assert all(e.undone_at for e in c.history())


def test_soft_delete_and_restore(dataset):
    with open_workspace(dataset) as ws:
        assert ws.catalog.delete_episode("ep_000000") is True
        assert ws.catalog.delete_episode("ep_000000") is False  # no second edit for nothing
        assert ws.live_ids() == ["ep_000001", "ep_000002"]
        assert ws.catalog.restore_episode("ep_000000") is True
        assert ws.live_ids() == ["ep_000000", "ep_000001", "ep_000002"]
        assert len(ws.catalog.history()) == 2


def test_kept_mask_follows_applied_trims_only(dataset):
    with open_workspace(dataset) as ws:
        report = detect_dataset_pauses(ws)
        assert {eid: len(s) for eid, s in report.spans.items()} == {f"ep_00000{i}": 3 for i in range(3)}
        assert ws.catalog.kept_mask("ep_000000").all()  # proposals do not cut anything yet
        first = ws.catalog.trims("ep_000000", status="proposed")
        ws.catalog.set_trim_status([first[1].id], "rejected")
        assert ws.catalog.apply_proposed() == 8
        mask = ws.catalog.kept_mask("ep_000000")
        assert mask.dtype == bool and mask.shape == (68,)
        assert not mask[:10].any() and mask[first[1].start_index:first[1].end_index].all()
        segments = ws.catalog.kept_segments("ep_000000")
        assert segments[0][0] >= first[0].end_index and len(segments) == 1
        # Detecting again proposes nothing already applied or rejected.
        again = detect_dataset_pauses(ws)
        assert again.trim_ids == [] and ws.catalog.trims(status="proposed") == []
        assert len(ws.catalog.history()) == 3  # and an edit that changes nothing is not on the undo stack
        ws.catalog.undo()
        ws.catalog.undo()
        assert ws.catalog.kept_mask("ep_000000").all()


def test_a_failed_edit_leaves_no_trace(dataset):
    with open_workspace(dataset) as ws:
        with pytest.raises(RuntimeError), ws.catalog.edit("half an edit") as e:
            e.update("episode_state", "ep_000000", {"outcome": "failure", "outcome_source": "curator"})
            raise RuntimeError("power cut")
        assert ws.catalog.record("ep_000000").outcome == "success"
        assert ws.catalog.history() == []


def test_readers_see_committed_state_while_a_writer_holds_the_lock(dataset):
    with open_workspace(dataset) as ws:
        ws.catalog.set_outcome("ep_000000", "failure")
        reader = Catalog.open(dataset)
        with ws.catalog.edit("slow edit") as e:
            e.update("episode_state", "ep_000001", {"outcome": "success", "outcome_source": "curator"})
            # Mid-transaction, another connection still reads (WAL): the last committed state.
            assert reader.record("ep_000001").outcome == "failure"
            assert reader.record("ep_000000").outcome == "failure"
        assert reader.record("ep_000001").outcome == "success"
        reader.close()


def test_episodes_recorded_while_curating_appear_on_the_next_open(dataset):
    with open_workspace(dataset) as ws:
        ws.catalog.add_tag("ep_000000", "good")
        pose, grip = still_then_move(5, 10, 0, 0, 5)
        write_episode(dataset, 3, pose, grip, success=True)
        (dataset / "episodes" / "ep_000004.journal").write_bytes(b"being recorded")  # in progress elsewhere
        with open_workspace(dataset) as ws2:
            assert ws2.readable == ["ep_000000", "ep_000001", "ep_000002", "ep_000003"]
            assert ws2.catalog.record("ep_000003").outcome == "success"
    assert (dataset / "episodes" / "ep_000004.journal").read_bytes() == b"being recorded"


def test_unknown_ids_and_bad_ranges_are_value_errors(dataset):
    with open_workspace(dataset) as ws:
        c = ws.catalog
        with pytest.raises(ValueError, match="unknown episode 'ep_9'"):
            c.add_tag("ep_9", "x")
        with pytest.raises(ValueError, match="ends after the episode"):
            c.add_tag("ep_000000", "x", 1.0, 99.0)
        with pytest.raises(ValueError, match="START < END"):
            ws.add_trim("ep_000000", 3.0, 2.0)
        with pytest.raises(ValueError, match="not finite"):
            c.add_tag("ep_000000", "x", float("nan"), 1.0)
        with pytest.raises(ValueError, match="outcome must be"):
            c.set_outcome("ep_000000", "great")
        with pytest.raises(ValueError, match="unknown trim id"):
            c.set_trim_status([999], "applied")
        assert c.history() == []


def test_corrupt_and_half_written_episodes_are_reported_and_skipped(dataset, tmp_path):
    write_corrupt(dataset, 7)
    write_half(dataset, 8, dataset / "episodes" / "ep_000000.h5")
    with open_workspace(dataset) as ws:
        assert ws.readable == ["ep_000000", "ep_000001", "ep_000002"]
        assert sorted(p.split(":")[0] for p in ws.problems) == ["ep_000007.h5", "ep_000008.h5"]
        report = detect_dataset_pauses(ws)
        assert report.episodes == 3 and len(report.problems) == 2
        stats = dataset_stats(ws).summary()
        assert stats["episodes"] == 3 and stats["unreadable"] == 2


def test_a_catalog_that_is_not_sqlite_is_a_clear_error(dataset):
    (dataset / "catalog.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(ValueError, match="not a readable curation catalog"):
        open_workspace(dataset)


def test_curation_never_modifies_raw_episode_files(dataset, tmp_path):
    from curation.export_robomimic import export_robomimic
    from curation.split import split_dataset

    before = file_hashes(dataset)
    with open_workspace(dataset) as ws:
        detect_dataset_pauses(ws, apply=True)
        ws.catalog.add_tag("ep_000000", "recovery", 0.5, 1.5)
        ws.catalog.set_outcome("ep_000001", "success")
        ws.catalog.delete_episode("ep_000002")
        split_dataset(ws, 0.5, seed=1)
        dataset_stats(ws)
        export_robomimic(ws, tmp_path / "out.h5")
        while ws.catalog.undo() is not None:
            pass
    assert file_hashes(dataset) == before


def test_logged_mistakes_and_recoveries_become_tagged_ranges(tmp_path):
    from curation.events import tag_logged_events

    root = tmp_path / "ds"
    pose, grip = still_then_move(10, 20, 10, 20, 10)  # 7 s
    events = [{"kind": "mistake", "start": 1.0, "end": 2.5, "label": "missed grasp"},
              {"kind": "recovery", "start": 2.5, "end": 3.7, "label": "re-grasp"},
              {"kind": "pause", "start": 4.0, "end": 5.0, "label": ""},
              {"kind": "recovery", "start": 6.5, "end": float("nan"), "label": "an instant mark"}]
    write_episode(root, 0, pose, grip, events=events)
    with open_workspace(root) as ws:
        result = tag_logged_events(ws)
        assert result["added"] == 3
        tags = [(t.tag, t.start, t.end) for t in ws.catalog.tags("ep_000000")]
        assert tags == [("mistake", 1.0, 2.5), ("recovery", 2.5, 3.7), ("recovery", 6.5, 6.6)]
        assert tag_logged_events(ws)["added"] == 0  # nothing twice
        assert len(ws.catalog.history()) == 1
        ws.catalog.undo()
        assert ws.catalog.tags() == []


def test_logged_mistakes_become_trims_and_training_keeps_the_recovery(tmp_path):
    from curation.events import trim_logged_events
    from curation.training import training_episodes

    root = tmp_path / "ds"
    pose, grip = still_then_move(10, 20, 10, 20, 10)  # 7 s at 10 Hz
    events = [{"kind": "mistake", "start": 1.0, "end": 2.5, "label": "missed grasp"},
              {"kind": "recovery", "start": 2.5, "end": 3.7, "label": "re-grasp"}]
    write_episode(root, 0, pose, grip, events=events)
    with open_workspace(root) as ws:
        proposed = trim_logged_events(ws)
        assert proposed["found"] == 1 and proposed["episodes"] == 1
        (trim,) = ws.catalog.trims("ep_000000")
        assert (trim.start_index, trim.end_index, trim.status) == (10, 25, "proposed")
        assert trim_logged_events(ws)["found"] == 1 and len(ws.catalog.trims()) == 1  # replaced, not doubled
        ws.catalog.set_trim_status([t.id for t in ws.catalog.trims()], "rejected")
        assert trim_logged_events(ws, apply=True)["trim_ids"] == []  # a rejected span is not proposed again
        ws.catalog.undo()
        ws.catalog.undo()
        applied = trim_logged_events(ws, apply=True)
        assert [t.status for t in ws.catalog.trims()] == ["applied"] and len(applied["trim_ids"]) == 1
    (ep,) = training_episodes(root)[0]
    kept = np.asarray(ep.kept)
    assert not kept[10:25].any() and kept[:10].all() and kept[25:].all()  # the recovery (2.5 s on) stays


def test_training_view_has_live_episodes_with_masks_outcomes_and_subsets(dataset):
    from curation.split import split_dataset
    from curation.training import training_episodes

    episodes, problems = training_episodes(dataset)  # never curated: everything, all kept
    assert [e.id for e in episodes] == ["ep_000000", "ep_000001", "ep_000002"] and problems == []
    assert all(e.kept.all() and e.subset is None for e in episodes)
    assert [e.outcome for e in episodes] == ["success", "failure", "unknown"]
    with open_workspace(dataset) as ws:
        ws.add_trim("ep_000000", 2.0, 3.0)
        ws.catalog.delete_episode("ep_000002")
        split_dataset(ws, 0.5, seed=0)
    episodes, _ = training_episodes(dataset)
    assert [e.id for e in episodes] == ["ep_000000", "ep_000001"]
    assert episodes[0].segments == ((0, 20), (30, 68)) and int(episodes[0].kept.sum()) == 58
    assert sorted(e.subset for e in episodes) == ["train", "valid"]


def test_trims_and_durations_follow_tick_times_across_missed_ticks(tmp_path):
    """Ticks 5-9 missed: times jump from 0.4 s to 1.0 s, so seconds are not index / rate."""
    import h5py

    root = tmp_path / "ds"
    pose, grip = still_then_move(5, 10, 0, 5, 0)
    path = write_episode(root, 0, pose, grip)
    with h5py.File(path, "r+") as f:  # the fixture, building a recorded-with-gaps file
        f["time"][5:] = f["time"][5:] + 0.5
    with open_workspace(root) as ws:
        assert ws.require("ep_000000").duration == pytest.approx(2.5)
        ws.add_trim("ep_000000", 0.45, 1.15)  # covers ticks at 1.0 and 1.1 only
        assert np.flatnonzero(~ws.catalog.kept_mask("ep_000000")).tolist() == [5, 6]
        stats = dataset_stats(ws).summary()["per_episode"][0]
        assert stats["duration_s"] == pytest.approx(2.5)
        assert stats["kept_duration_s"] == pytest.approx(2.5 - 0.2)
        with pytest.raises(ValueError, match="ends after"):
            ws.catalog.add_tag("ep_000000", "x", 2.0, 2.6)


def test_a_process_killed_mid_edit_leaves_the_catalog_whole(dataset):
    """The process dies inside an edit's transaction (no rollback, no close): nothing of it remains."""
    import subprocess
    import sys
    from pathlib import Path

    with open_workspace(dataset) as ws:
        ws.catalog.add_tag("ep_000000", "kept")
    child = (
        "import os, sys\n"
        "from curation.catalog import Catalog\n"
        "c = Catalog.open(sys.argv[1])\n"
        "with c.edit('doomed') as e:\n"
        "    e.update('episode_state', 'ep_000001', {'outcome': 'success', 'outcome_source': 'curator'})\n"
        "    e.insert('notes', {'episode_id': 'ep_000001', 'text': 'x', 'created_at': 'now'})\n"
        "    os._exit(9)\n"
    )
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", child, str(dataset)], cwd=root, timeout=60)
    assert proc.returncode == 9
    conn = sqlite3.connect(dataset / "catalog.sqlite")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with open_workspace(dataset) as ws:
        c = ws.catalog
        assert c.record("ep_000001").outcome == "failure" and c.notes("ep_000001") == []
        assert [e.description for e in c.history()] == ["tag ep_000000 kept"]
        c.set_outcome("ep_000001", "success")  # and it takes new edits
        assert c.undo().description == "outcome ep_000001 success"


def test_a_known_dataset_opens_for_curation_without_reading_an_episode(dataset, monkeypatch):
    """The catalog's cached facts stand for unchanged files; only a new or changed file is read, once."""
    from tests.episode_files import count_h5_opens

    with open_workspace(dataset):
        pass
    opened = count_h5_opens(monkeypatch)
    with open_workspace(dataset) as ws:
        assert ws.readable == ["ep_000000", "ep_000001", "ep_000002"] and opened == []
    pose, grip = still_then_move(5, 5, 5, 5, 5)
    write_episode(dataset, 3, pose, grip, success=True)
    opened.clear()  # (writing it opened it)
    with open_workspace(dataset) as ws:
        assert ws.readable[-1] == "ep_000003" and opened == ["ep_000003.h5"]


def test_moving_a_trim_or_a_tagged_range_is_one_undoable_edit(dataset):
    """The timeline's draggable regions edit the catalog's own trims and tags: new ends, same source
    and status, sample indices from the tick times; each move is undone on its own."""
    with open_workspace(dataset) as ws:
        c = ws.catalog
        tid = ws.add_trim("ep_000000", 0.5, 1.5)
        tag_id = c.add_tag("ep_000000", "recovery", 2.0, 3.0)
        mask_before = c.kept_mask("ep_000000").copy()
        ws.move_trim(tid, 1.0, 2.0)
        (trim,) = c.trims("ep_000000")
        assert (trim.start, trim.end, trim.start_index, trim.end_index) == (1.0, 2.0, 10, 20)
        assert (trim.source, trim.status) == ("manual", "applied")
        assert not c.kept_mask("ep_000000")[10:20].any() and c.kept_mask("ep_000000")[5:10].all()
        c.move_tag(tag_id, 2.5, 3.5)
        assert [(t.tag, t.start, t.end) for t in c.tags("ep_000000")] == [("recovery", 2.5, 3.5)]
        with pytest.raises(ValueError, match="ends after"):
            c.move_tag(tag_id, 2.5, 99.0)
        with pytest.raises(ValueError, match="bad range"):
            ws.move_trim(tid, 2.0, 1.0)
        with pytest.raises(ValueError, match="unknown trim"):
            ws.move_trim(999, 0.0, 1.0)
        whole = c.add_tag("ep_000000", "wobbly")
        with pytest.raises(ValueError, match="whole episode"):
            c.move_tag(whole, 0.0, 1.0)
        c.undo()  # the whole-episode tag
        assert c.undo().description.startswith("move tag recovery")
        assert [(t.start, t.end) for t in c.tags("ep_000000")] == [(2.0, 3.0)]
        assert c.undo().description.startswith(f"move trim {tid}")
        assert (c.trims("ep_000000")[0].start, c.trims("ep_000000")[0].end) == (0.5, 1.5)
        assert (c.kept_mask("ep_000000") == mask_before).all()
