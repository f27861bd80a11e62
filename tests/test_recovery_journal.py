"""Recovery of journals that are not a plain crash (issue #18): a journal beside another recording's
finished episode, a damaged journal, a huge one, a crafted one; and the labels recovery gives."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

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


def _flip(path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


def test_one_flipped_byte_mid_journal_loses_only_its_block_and_keeps_the_journal_aside(tmp_path):
    eps = tmp_path / "episodes"
    j = write_journal(eps / "ep_000000.journal", blocks=8, cameras={"scene": (16, 16)}, end={"success": True})
    start, end = j.block_span(3)
    _flip(j.path, (start + end) // 2)  # one byte in the middle of block 3 (samples 30-39)
    original = j.path.read_bytes()
    ds = Dataset(tmp_path)
    assert ds.recovery.recovered == ["ep_000000"] and ds.problems() == []
    kept = eps / "ep_000000.journal.damaged"
    assert kept.read_bytes() == original and not j.path.exists()  # kept aside, byte for byte
    assert ds.recovery.notes == [
        f"ep_000000: its journal was damaged; recovered 70 samples, lost 10 samples (30-39, between 2.90 s and "
        f"4.00 s) in bytes {start}-{end}; the journal is kept as ep_000000.journal.damaged (delete it once "
        "ep_000000 is checked)"]
    with ds.open("ep_000000") as ep:  # every intact block after the damage is there
        assert _x(ep) == list(range(30)) + list(range(40, 80))
        assert ep.images("scene", 30)[0, 0, 0] == 40 and ep.attrs["recovered"] is True
        assert not ep.complete  # sealed, but with samples missing: not a complete recording
        assert ep.attrs["recovered_lost"] == [{"bytes": [start, end], "why": "corrupt", "after_s": 2.9,
                                               "before_s": 4.0, "samples": [30, 39]}]
    from recorder.validate import validate_dataset

    lines = [p.line() for p in validate_dataset(tmp_path).problems]
    assert any("incomplete" in ln and "recovered from a damaged journal, samples 30-39 lost" in ln for ln in lines)
    again = Dataset(tmp_path)  # the next open reminds, and touches nothing
    assert again.recovery.notes == ["ep_000000.journal.damaged: a damaged journal kept aside by an earlier "
                                    "recovery; delete it once ep_000000 is checked"]
    assert kept.read_bytes() == original


def test_a_damaged_record_header_resynchronises_by_scanning(tmp_path):
    eps = tmp_path / "episodes"
    j = write_journal(eps / "ep_000000.journal", blocks=6)
    start, _ = j.block_span(1)
    _flip(j.path, start + 3)  # the length field of block 1: its end cannot be known
    ds = Dataset(tmp_path)
    with ds.open("ep_000000") as ep:
        assert _x(ep) == list(range(10)) + list(range(20, 60))
    assert "lost 10 samples (10-19" in ds.recovery.notes[0]


def test_damage_in_the_last_block_and_in_an_older_journal_is_reported(tmp_path):
    """A corrupt (not torn) last block is damage too; blocks without sample numbers give an estimate."""
    eps = tmp_path / "episodes"
    j = write_journal(eps / "ep_000000.journal", blocks=4)
    start, end = j.block_span(3)
    _flip(j.path, end - 2)
    old = write_journal(eps / "ep_000001.journal", blocks=4, sample_numbers=False)
    from recorder.journal import read_journal

    _flip(old.path, sum(old.block_span(1)) // 2)
    ds = Dataset(tmp_path)
    notes = "\n".join(ds.recovery.notes)
    assert f"lost every sample from 30 on (after 2.90 s) in bytes {start}-{end}" in notes
    assert "ep_000001: its journal was damaged; recovered 30 samples, lost about 10 samples (10-19, between 0.90 s and 2.00 s)" in notes
    assert read_journal(eps / "ep_000001.journal.damaged").damaged  # kept, still readable as a journal


def test_a_torn_tail_is_no_damage(tmp_path):
    eps = tmp_path / "episodes"
    j = write_journal(eps / "ep_000000.journal", blocks=3)
    j.path.write_bytes(j.path.read_bytes()[:-25])  # the crash tore the last append
    ds = Dataset(tmp_path)
    assert ds.recovery.recovered == ["ep_000000"] and ds.recovery.notes == [] and not list(eps.glob("*.damaged"))
    with ds.open("ep_000000") as ep:
        assert len(ep) == 20 and ep.attrs["recovered_torn_bytes"] > 0


def test_recovering_a_big_journal_streams_it(tmp_path):
    """Memory during recovery is of the order of one block, not of the journal (36 MB here)."""
    import tracemalloc

    eps = tmp_path / "episodes"
    j = write_journal(eps / "ep_000000.journal", blocks=300, cameras={"scene": (64, 64)}, codec="none")
    size = j.path.stat().st_size
    assert size > 35e6
    tracemalloc.start()
    try:
        ds = Dataset(tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ds.recovery.recovered == ["ep_000000"]
    print(f"journal {size / 1e6:.1f} MB, peak traced memory {peak / 1e6:.2f} MB")
    assert peak < 8e6, f"recovery held {peak / 1e6:.1f} MB for a {size / 1e6:.0f} MB journal"
    with ds.open("ep_000000") as ep:
        assert len(ep) == 3000 and ep.images("scene", 2999)[0, 0, 0] == 2999 % 251


def test_a_journal_declaring_huge_images_is_refused_in_one_line(tmp_path, capsys):
    from app.cli import main
    from tests.journal_fixtures import layout_json

    eps = tmp_path / "episodes"
    j = write_journal(eps / "ep_000000.journal", blocks=2, cameras={"scene": (2, 2)},
                      layout=layout_json({"scene": (30000, 30000)}))
    before = j.path.read_bytes()
    ds = Dataset(tmp_path)
    assert ds.recovery.recovered == [] and not (eps / "ep_000000.h5").exists()
    assert ds.problems() == ["ep_000000.journal: cannot recover: its header declares 30000x30000 images for camera "
                             "'scene' (at most 8192x8192); not a journal Demo Station wrote, refused"]
    assert j.path.read_bytes() == before  # left in place, untouched
    assert main(["info", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [ln for ln in out if "30000" in ln] == ["  problem: " + ds.problems()[0]]


def test_crafted_sizes_in_a_journal_are_bounded_before_anything_is_allocated(tmp_path):
    import json
    import struct
    import zlib

    from recorder.journal import BLOCK, MAGIC, read_journal

    eps = tmp_path / "episodes"
    j = write_journal(eps / "ep_000000.journal", blocks=2)
    data = j.path.read_bytes()
    # A block whose index claims 10^9 samples of time, CRC made valid: refused as a damaged block.
    index = json.dumps({"arrays": {"time": ["<f8", [10**9], 0, 8 * 10**9]}, "chunks": {}, "extra": {}}).encode()
    payload = struct.pack("<I", len(index)) + index
    lie = struct.pack("<cBII", b"R", BLOCK, len(payload), zlib.crc32(payload)) + payload
    # A record header claiming 4 GB: not a record (and not read).
    huge = struct.pack("<cBII", b"R", BLOCK, 0xFFFFFFF0, 0) + b"{" * 16
    start, end = j.block_span(1)
    j.path.write_bytes(data[:start] + lie + huge + data[start:])
    contents = read_journal(j.path)
    assert data.startswith(MAGIC) and contents.samples == 20 and len(contents.blocks) == 2
    assert [d.why for d in contents.damaged] == ["a block whose time does not match the layout", "corrupt"]
    ds = Dataset(tmp_path)
    with ds.open("ep_000000") as ep:
        assert _x(ep) == list(range(20))
    assert "lost no samples (between 0.90 s and 1.00 s) in bytes" in ds.recovery.notes[0]


def _spawn(*args: str):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "app", *args], cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_ctrl_c_during_record_is_labelled_stopped_by_the_user_not_a_crash(tmp_path):
    import signal
    import time

    from recorder.validate import validate_dataset

    out = tmp_path / "ds"
    proc = _spawn("record", "--out", str(out), "--episodes", "4", "--image-size", "32")
    journal = out / "episodes" / "ep_000001.journal"
    try:
        deadline = time.monotonic() + 60
        while not (journal.exists() and journal.stat().st_size > 20_000):
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the recording did not reach its second episode"
            time.sleep(0.002)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1 and err.strip().splitlines()[-1] == "demostation: interrupted"
    assert not journal.exists()  # finalised by the recording itself, nothing left to recover
    ds = Dataset(out)
    assert ds.recovery.recovered == [] and ds.episode_ids() == ["ep_000000", "ep_000001"]
    with ds.open("ep_000001") as ep:
        assert not ep.complete and ep.attrs["stopped_by_user"] is True and "recovered" not in ep.attrs
        assert len(ep) >= 10
    lines = [p.line() for p in validate_dataset(out).problems]
    assert lines == ["ep_000001: incomplete: episode is incomplete (stopped by the user before it ended); keep it, "
                     "trim it or delete it in curation"]


def test_concurrent_info_calls_recover_once_and_report_no_spurious_problem(tmp_path):
    write_journal(tmp_path / "episodes" / "ep_000000.journal", blocks=100, cameras={"scene": (48, 48)})
    procs = [_spawn("info", str(tmp_path), "--json") for _ in range(5)]
    results = [p.communicate(timeout=120) for p in procs]
    import json

    infos = [json.loads(out) for out, _ in results]
    assert [p.returncode for p in procs] == [0] * 5 and all(err == "" for _, err in results)
    assert all(i["problems"] == [] and i["in_progress"] == [] and i["episodes"] == 1 for i in infos), infos
    assert sum(i["recovered"] == ["ep_000000"] for i in infos) == 1  # exactly one of them did the work


def test_a_journal_killed_while_writing_its_header_holds_nothing_and_is_removed(tmp_path):
    eps = tmp_path / "episodes"
    j = write_journal(eps / "ep_000000.journal", blocks=1)
    header_end = j.records[0][1]
    data = j.path.read_bytes()
    import os
    import time

    j.path.write_bytes(b"")  # as a recorder's journal is for a moment, between its creation and its lock
    ds = Dataset(tmp_path)
    assert j.path.exists() and ds.in_progress == ["ep_000000"] and ds.problems() == []
    for cut in (0, 5, 8, header_end - 3):  # before, inside and after the magic, inside the header record
        j.path.write_bytes(data[:cut])
        os.utime(j.path, (time.time() - 120, time.time() - 120))  # found a while after the kill
        ds = Dataset(tmp_path)
        assert not j.path.exists() and ds.problems() == [] and ds.recovery.recovered == []
        assert ds.recovery.notes == ["ep_000000: the recording was killed before its header was written; nothing "
                                     "to recover"]
    grown = bytearray(data)
    grown[8 + 3] ^= 0x10  # the header's length now runs past the end, but intact blocks follow: damage
    j.path.write_bytes(bytes(grown))
    os.utime(j.path, (time.time() - 120, time.time() - 120))
    assert Dataset(tmp_path).problems()[0].startswith("ep_000000.journal: cannot recover: has no intact header")
    assert j.path.read_bytes() == bytes(grown)
    bad = bytearray(data[:header_end])
    bad[20] ^= 1  # a whole header that fails its CRC is damage, not a kill: kept and reported
    j.path.write_bytes(bytes(bad))
    assert Dataset(tmp_path).problems()[0].startswith("ep_000000.journal: cannot recover: has no intact header")
    assert j.path.exists()


def _crafted_layouts():
    from tests.journal_fixtures import layout_json

    base = layout_json({"scene": (2, 2)})
    object_array = {**base, "lowdim": base["lowdim"] + [["obs/x", [3], "O"]]}
    huge_array = {**base, "lowdim": base["lowdim"] + [["obs/x", [100000, 100000], "float32"]]}
    many_cameras = layout_json({f"c{i}": (2, 2) for i in range(40)})
    return [(object_array, {}, "array 'obs/x' as O"), (huge_array, {}, "array 'obs/x' as float32"),
            (many_cameras, {}, "40 cameras"), (base, {"image_codec": "lz4-9"}, "unknown image codec 'lz4-9'")]


@pytest.mark.parametrize("layout,header,words", _crafted_layouts())
def test_crafted_headers_are_refused_in_one_line(tmp_path, layout, header, words):
    from recorder.journal import JournalError, read_journal

    path = tmp_path / "episodes" / "ep_000000.journal"
    write_journal(path, blocks=1, cameras={"scene": (2, 2)}, layout=layout)
    if header:  # rewrite the header record with the crafted field (a valid CRC: crafted, not damaged)
        import json
        import struct
        import zlib

        data = path.read_bytes()
        _, _, n, _ = struct.unpack_from("<cBII", data, 8)
        doc = {**json.loads(data[18:18 + n]), **header}
        raw = json.dumps(doc).encode()
        path.write_bytes(data[:8] + struct.pack("<cBII", b"R", 1, len(raw), zlib.crc32(raw)) + raw + data[18 + n:])
    with pytest.raises(JournalError, match=words.replace("(", r"\(")):
        read_journal(path)
    (problem,) = Dataset(tmp_path).problems()
    assert problem.startswith("ep_000000.journal: cannot recover: ") and words in problem and path.exists()


def test_an_uncompressed_frame_of_the_wrong_size_is_a_damaged_block(tmp_path):
    from recorder.journal import read_journal

    path = tmp_path / "episodes" / "ep_000000.journal"
    j = write_journal(path, blocks=3, cameras={"scene": (4, 4)}, codec="none")
    assert not read_journal(path).damaged
    from tests.journal_fixtures import layout_json

    path.unlink()
    write_journal(path, blocks=3, cameras={"scene": (2, 2)}, codec="none", layout=layout_json({"scene": (4, 4)}))
    contents = read_journal(path)
    assert len(contents.blocks) == 0 and [d.why for d in contents.damaged] == [
        "a block whose scene frames do not match its samples"] * 3
    assert j.samples == 30
    ds = Dataset(tmp_path)  # no intact block: no episode, and the journal is kept aside, not deleted
    assert ds.problems() == ["ep_000000.journal: cannot recover: no block of it is intact; it is kept as "
                             "ep_000000.journal.damaged"]
    assert (path.parent / "ep_000000.journal.damaged").exists() and ds.file_ids() == []


def test_an_episodes_own_journal_damaged_after_finalising_is_kept_aside_not_duplicated(tmp_path, capsys):
    from app.cli import main

    eps = tmp_path / "episodes"
    j = write_journal(eps / "ep_000000.journal", blocks=4, end={"success": True})
    kept = tmp_path / "copy.journal"
    shutil.copy(j.path, kept)
    finalize_journal(j.path)
    shutil.copy(kept, j.path)
    _flip(j.path, sum(j.block_span(2)) // 2)  # and then a byte of it rotted
    assert main(["validate", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("recovery: ep_000000.journal: ep_000000.h5 was already finalised from it, but the journal now "
                      "differs (damaged); kept it as ep_000000.journal.damaged")
    ds = Dataset(tmp_path)
    assert ds.episode_ids() == ["ep_000000"] and (eps / "ep_000000.journal.damaged").exists()


def test_a_long_journal_is_written_in_runs_and_loses_no_row(tmp_path):
    """More rows than one low-dimensional run (4096): every run lands where it belongs."""
    write_journal(tmp_path / "episodes" / "ep_000000.journal", blocks=450, per_block=10, end={})
    with Dataset(tmp_path).open("ep_000000") as ep:
        assert _x(ep) == list(range(4500)) and np.allclose(ep.time, np.arange(4500) / 10.0)
        assert ep.complete
