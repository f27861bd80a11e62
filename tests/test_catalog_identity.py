"""A catalog is tied to its dataset: a dataset id plus per-episode file fingerprints (#18 item 11)."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest
from episode_files import write_dataset, write_episode

from app.cli import main
from curation.catalog import CATALOG_NAME, ForeignCatalogError
from curation.workspace import open_workspace
from recorder.identity import DATASET_FILE, dataset_id


def _curated(root, **kw):
    write_dataset(root, episodes=3, length=12, image_size=16, **kw)
    with open_workspace(root) as ws:
        ws.catalog.delete_episode("ep_000001")
        ws.catalog.set_outcome("ep_000002", "failure")
    return root


def test_a_catalog_copied_from_another_dataset_is_refused_in_one_line_naming_both_ids(tmp_path, capsys):
    a = _curated(tmp_path / "a")
    b = write_dataset(tmp_path / "b", episodes=3, length=14, image_size=16, seed=7)  # other recordings, same ids
    shutil.copy(a / CATALOG_NAME, b / CATALOG_NAME)
    with pytest.raises(ForeignCatalogError):
        open_workspace(b)
    assert main(["curate", str(b), "--list"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and dataset_id(a) in err and dataset_id(b) in err, err
    assert main(["export", str(b), "--out", str(tmp_path / "x.h5")]) == 2  # nor applied by the exporter
    assert not (tmp_path / "x.h5").exists()
    capsys.readouterr()
    assert main(["train", str(b), "--out", str(tmp_path / "run")]) == 2  # nor trained with
    assert "belongs to dataset" in capsys.readouterr().err


def test_a_catalog_copied_with_the_dataset_id_but_over_other_files_is_refused_naming_the_episode(tmp_path):
    a = _curated(tmp_path / "a")
    b = tmp_path / "b"
    shutil.copytree(a, b)  # an honest copy: same id, same files — its catalog still applies
    with open_workspace(b) as ws:
        assert ws.catalog.is_deleted("ep_000001")
    write_episode(b, 1, length=15, image_size=16, seed=99)  # then another recording under a reused name
    with pytest.raises(ForeignCatalogError, match="ep_000001"):
        open_workspace(b)


def test_a_catalog_from_before_ids_is_bound_in_place_on_first_open_keeping_every_decision(tmp_path):
    a = _curated(tmp_path / "a")
    with sqlite3.connect(a / CATALOG_NAME) as conn:  # what an older Demo Station left behind
        conn.execute("DELETE FROM meta WHERE key = 'dataset_id'")
        conn.execute("UPDATE episodes SET fingerprint = NULL")
    conn.close()
    (a / DATASET_FILE).unlink()
    with open_workspace(a) as ws:
        assert ws.catalog.dataset_id == dataset_id(a, create=False) is not None
        assert ws.catalog.unfingerprinted_ids() == []
        assert ws.catalog.is_deleted("ep_000001") and ws.catalog.record("ep_000002").outcome == "failure"
    doc = json.loads((a / DATASET_FILE).read_text())
    assert doc["dataset_id"] == dataset_id(a)


def test_a_damaged_identity_file_is_one_line(tmp_path, capsys):
    a = _curated(tmp_path / "a")
    (a / DATASET_FILE).write_text("[1, 2")
    assert main(["curate", str(a), "--list"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and DATASET_FILE in err
