"""Recovery of journals that are not a plain crash (issue #18): a journal beside another recording's
finished episode, a damaged journal, a huge one, a crafted one; and the labels recovery gives."""

from __future__ import annotations

import shutil

import numpy as np

from recorder.dataset import Dataset
from recorder.finalize import finalize_journal
from tests.journal_fixtures import write_journal


def _x(ep) -> list[int]:
    return [int(v) for v in np.asarray(ep.action_pose)[:, 0]]


def test_a_journal_of_another_recording_beside_a_finished_episode_is_recovered_under_a_new_number(tmp_path):
    eps = tmp_path / "episodes"
    finished = write_journal(eps / "ep_000000.journal", blocks=2, end={"success": True})
    finalize_journal(finished.path)
    # A different recording's journal under the same number (a copied-in file, a reused name).
    other = write_journal(eps / "ep_000000.journal", blocks=3, metadata={"start_time": "2026-02-02T00:00:00+00:00"})
    ds = Dataset(tmp_path)
    assert other.path.exists() is False
    assert ds.recovery.recovered == ["ep_000001"]
    assert ds.recovery.notes == ["ep_000000.journal does not belong to the finished ep_000000.h5 (another "
                                 "recording); recovered it as ep_000001 instead"]
    with ds.open("ep_000000") as ep:  # the finished episode is untouched
        assert ep.complete and len(ep) == 20 and ep.attrs["recording_id"] == finished.recording_id
    with ds.open("ep_000001") as ep:  # and nothing of the other recording is lost
        assert not ep.complete and _x(ep) == list(range(30)) and ep.attrs["recording_id"] == other.recording_id


def test_a_journal_with_the_same_start_but_other_samples_is_not_deleted(tmp_path):
    """Older journals carry no recording id: the start time alone does not prove it is the episode's."""
    eps = tmp_path / "episodes"
    finished = write_journal(eps / "ep_000000.journal", blocks=2, end={}, metadata={"recording_id": None})
    finalize_journal(finished.path)
    write_journal(eps / "ep_000000.journal", blocks=4, metadata={"recording_id": None})
    ds = Dataset(tmp_path)
    assert ds.recovery.recovered == ["ep_000001"] and len(ds.recovery.notes) == 1
    with ds.open("ep_000001") as ep:
        assert len(ep) == 40


def test_the_journal_of_a_recording_that_died_after_its_rename_is_removed(tmp_path):
    eps = tmp_path / "episodes"
    j = write_journal(eps / "ep_000000.journal", blocks=2, end={"success": True})
    kept = tmp_path / "copy.journal"
    shutil.copy(j.path, kept)
    finalize_journal(j.path)
    shutil.copy(kept, j.path)  # as if the process died between the rename and removing the journal
    ds = Dataset(tmp_path)
    assert not j.path.exists() and ds.recovery.recovered == [] and ds.episode_ids() == ["ep_000000"]
    assert ds.recovery.notes == ["ep_000000.journal: episode was already finalised; removed its journal"]
