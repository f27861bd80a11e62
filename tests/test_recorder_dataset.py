"""The reader (lazy images, decoded attributes), corrupt files, validation, and the journal's recovery rules."""

import shutil

import h5py
import numpy as np
import pytest

from recorder import format as fmt
from recorder.clock import SimulatedClock
from recorder.command_path import UnfilteredPath
from recorder.dataset import Dataset
from recorder.journal import BLOCK, HEADER, JournalWriter, read_journal
from recorder.session import RecordingSession, SessionSettings
from recorder.validate import validate_dataset
from recorder.writer import EpisodeWriter
from tests.episode_files import count_h5_opens
from tests.recorder_fakes import EndAfter, FakeRobot, RateCamera, ScriptedSource, decode_index


def record(root, episodes=1, seconds=2.0, codec=fmt.DEFAULT_IMAGE_CODEC):
    clock = SimulatedClock()
    cams = {"scene": RateCamera("scene", clock, 20.0, phase_s=-1.0),
            "wrist": RateCamera("wrist", clock, 10.0, phase_s=-1.0, mount="wrist")}
    robot = FakeRobot(clock)
    session = RecordingSession(root, robot, cams, ScriptedSource(), clock=clock,
                               settings=SessionSettings(task="fake", image_codec=codec), control=UnfilteredPath(robot))
    return [session.record_episode(seed=i, end=EndAfter(seconds)) for i in range(episodes)]


def test_episode_reader_is_lazy_and_decodes_attributes(tmp_path):
    record(tmp_path)
    ds = Dataset(tmp_path)
    assert len(ds) == 1 and "ep_000000" in ds and [e.id for e in ds] == ["ep_000000"]
    with ds.open("ep_000000") as ep:
        assert ep._cache == {}  # nothing read yet
        assert len(ep) == 21 and ep.camera_names == ["scene", "wrist"]
        frames = ep.images("scene", np.array([5, 1, 5, -1]))  # unsorted, repeated, negative
        assert [decode_index(f) for f in frames] == [decode_index(ep.images("scene", i)) for i in (5, 1, 5, 20)]
        assert ep.images("scene", slice(2, 4)).shape == (2, 24, 32, 3)
        assert ep.images("scene", np.zeros(21, bool)).shape == (0, 24, 32, 3)
        assert not any(k.startswith(fmt.IMAGES_PREFIX) for k in ep._cache)  # images are never cached
        with pytest.raises(IndexError):
            ep.images("scene", 21)
        with pytest.raises(KeyError, match="no camera"):
            ep.images("top", 0)
        with pytest.raises(KeyError, match="no observation"):
            ep.obs("torque")
        assert isinstance(ep.attrs["station"], dict) and isinstance(ep.attrs["timing"], dict)
        assert ep.task == "fake" and ep.device == "scripted" and ep.complete and ep.rate_hz == 10.0
        assert ep.seed == 0 and ep.success is True and ep.score == 1.0 and ep.duration_s == pytest.approx(2.1)
        assert ep.attrs["image_codec"] == fmt.DEFAULT_IMAGE_CODEC
        assert ep.file["obs/images/scene"].compression == "gzip"
        assert ep.file["obs/images/scene"].chunks == (1, 24, 32, 3)
    with pytest.raises(ValueError, match="no readable episode"):
        ds.open("ep_000009")


@pytest.mark.parametrize("codec", ["none", "gzip-1", "gzip-9"])
def test_every_registered_codec_round_trips(tmp_path, codec):
    record(tmp_path, seconds=0.5, codec=codec)
    with Dataset(tmp_path).open("ep_000000") as ep:
        twin = RateCamera("wrist", None, 10.0, phase_s=-1.0)  # the recorded camera's twin
        expected = [twin.newest_index(t) for t in ep.time]
        assert [decode_index(f) for f in ep.images("wrist", slice(None))] == expected
        assert expected[-1] == 15 and len(set(expected)) >= 5


def test_corrupt_and_foreign_files_are_reported_and_skipped(tmp_path):
    record(tmp_path, episodes=2)
    eps = tmp_path / "episodes"
    (eps / "ep_000007.h5").write_bytes(b"this is not hdf5" * 100)
    good = (eps / "ep_000001.h5").read_bytes()
    (eps / "ep_000008.h5").write_bytes(good[: len(good) // 3])  # truncated copy
    with h5py.File(eps / "ep_000009.h5", "w") as f:
        f.attrs["format"] = "something-else"
    (eps / "notes.txt").write_text("not an episode")
    ds = Dataset(tmp_path)
    assert ds.episode_ids() == ["ep_000000", "ep_000001"]
    problems = ds.problems()
    assert len(problems) == 3
    assert problems[0].startswith("ep_000007.h5: unreadable HDF5 file")
    assert problems[1].startswith("ep_000008.h5: unreadable HDF5 file")
    assert problems[2].startswith("ep_000009.h5: not a Demo Station episode")
    report = validate_dataset(tmp_path)
    assert not report.ok and report.episodes == 2 and report.sound == 2
    assert [p.kind for p in report.problems] == ["unreadable"] * 3


def _tamper(path, key, fn):
    with h5py.File(path, "r+") as f:
        data = f[key][()]
        del f[key]
        f[key] = fn(data)


def test_validation_finds_nan_time_rate_and_missing_keys(tmp_path):
    record(tmp_path, episodes=5)
    eps = tmp_path / "episodes"
    assert validate_dataset(tmp_path).ok

    def with_nan(a):
        a = a.copy()
        a[4, 2] = np.nan
        return a

    _tamper(eps / "ep_000000.h5", "obs/ee_pose", with_nan)
    _tamper(eps / "ep_000001.h5", "time", lambda t: np.r_[t[:10], t[9:-1]])
    _tamper(eps / "ep_000002.h5", "time", lambda t: t * 1.2)  # 8.3 Hz against rate_hz 10
    with h5py.File(eps / "ep_000003.h5", "r+") as f:
        del f["action/gripper"]
    report = validate_dataset(tmp_path)
    kinds = {(p.episode, p.kind) for p in report.problems}
    assert kinds == {("ep_000000", "nan"), ("ep_000001", "time"), ("ep_000002", "rate"), ("ep_000003", "missing")}
    assert report.sound == 1
    lines = [p.line() for p in report.problems]
    assert any("obs/ee_pose has 1 non-finite values (first at sample 4)" in ln for ln in lines)


def test_a_torn_journal_keeps_every_intact_block(tmp_path, monkeypatch):
    summaries = record(tmp_path, seconds=3.0)
    # Rebuild the journal of an interrupted recording by hand: header and blocks, then a torn tail.
    layout = fmt.EpisodeLayout.from_json({"lowdim": [["time", [], "float64"], ["timing/tick_error", [], "float64"],
                                                     ["action/ee_pose", [7], "float32"],
                                                     ["action/gripper", [1], "float32"],
                                                     ["action/source", [], "uint8"], ["obs/ee_pose", [7], "float32"],
                                                     ["obs/gripper", [1], "float32"]], "cameras": []})
    path = tmp_path / "episodes" / "ep_000001.journal"
    j = JournalWriter(path, fsync=False)
    metadata = {"task": "x", "device": "d", "operator": "o", "station": {}, "software_version": "test",
                "start_time": "2026-01-01T00:00:00+00:00"}
    j.append_json(HEADER, {"layout": layout.to_json(), "metadata": metadata, "rate_hz": 10.0})
    from recorder.journal import encode_block

    for b in range(3):
        n = 10
        t = 0.1 * np.arange(b * n, (b + 1) * n)
        arrays = {"time": t, "timing/tick_error": np.zeros(n), "action/ee_pose": np.zeros((n, 7), np.float32),
                  "action/gripper": np.zeros((n, 1), np.float32), "action/source": np.zeros(n, np.uint8),
                  "obs/ee_pose": np.zeros((n, 7), np.float32), "obs/gripper": np.zeros((n, 1), np.float32)}
        j.append(BLOCK, encode_block(arrays, {}, {"sources": ["x"], "events": [], "missed": 0}))
    j.close()
    data = path.read_bytes()
    path.write_bytes(data[:-25])  # the last block was being written when the power went
    contents = read_journal(path)
    assert len(contents.blocks) == 2 and contents.torn_bytes > 0 and contents.end is None

    opened = count_h5_opens(monkeypatch)
    ds = Dataset(tmp_path)
    assert ds.recovery.recovered == ["ep_000001"] and not path.exists()
    assert "ep_000000.h5" not in opened  # recovering on open reads no finished episode
    with ds.open("ep_000001") as ep:
        assert len(ep) == 20 and not ep.complete and ep.attrs["recovered"] is True
    report = validate_dataset(tmp_path)
    assert [(p.episode, p.kind) for p in report.problems] == [("ep_000001", "incomplete")]
    assert summaries[0].episode_id == "ep_000000"


def test_a_live_recording_is_left_alone_and_a_garbage_journal_is_reported(tmp_path):
    record(tmp_path)
    eps = tmp_path / "episodes"
    clock = SimulatedClock()
    cams = {"scene": RateCamera("scene", clock, 10.0, phase_s=-1.0)}
    layout = fmt.EpisodeLayout.from_devices(FakeRobot(clock).features, cams)
    writer = EpisodeWriter(eps / "ep_000001.h5", layout, {"task": "live"}, 10.0, 0.0, fsync=False)
    (eps / "ep_000002.journal").write_bytes(b"garbage")
    (eps / "ep_000003.h5.tmp").write_bytes(b"half a file")
    ds = Dataset(tmp_path)
    assert ds.in_progress == ["ep_000001"] and ds.episode_ids() == ["ep_000000"]
    assert (eps / "ep_000001.journal").exists()  # not touched while its recorder holds it
    assert any(p.startswith("ep_000002.journal: cannot recover") for p in ds.problems())
    assert not (eps / "ep_000003.h5.tmp").exists()
    writer.abort()
    assert not (eps / "ep_000001.journal").exists()


def test_an_empty_or_missing_dataset(tmp_path):
    assert len(Dataset(tmp_path)) == 0 and Dataset(tmp_path).problems() == []
    with pytest.raises(FileNotFoundError):
        Dataset(tmp_path / "nope")
    shutil.copy(__file__, tmp_path / "file.py")
    with pytest.raises(NotADirectoryError):
        Dataset(tmp_path / "file.py")


def test_building_a_dataset_opens_no_episode_file_and_open_checks_the_one_asked_for(tmp_path, monkeypatch):
    """A large dataset must list at once: the reader lists file names and opens a file only when asked."""
    record(tmp_path, episodes=3, seconds=1.0)
    eps = tmp_path / "episodes"
    (eps / "ep_000007.h5").write_bytes(b"this is not hdf5" * 100)
    opened = count_h5_opens(monkeypatch)
    ds = Dataset(tmp_path)
    assert opened == [] and ds.file_ids() == ["ep_000000", "ep_000001", "ep_000002", "ep_000007"]
    with ds.open("ep_000001") as ep:
        assert ep.task == "fake" and len(ep) > 0
    assert opened == ["ep_000001.h5"]
    with pytest.raises(ValueError, match="ep_000007.h5: unreadable HDF5 file"):
        _ = ds.open("ep_000007").task  # checked when first read: a clear one-line error
    opened.clear()
    assert ds.episode_ids() == ["ep_000000", "ep_000001", "ep_000002"]  # the full check, asked for
    assert sorted(opened) == ["ep_000000.h5", "ep_000001.h5", "ep_000002.h5", "ep_000007.h5"]
    assert ds.problems()[0].startswith("ep_000007.h5: unreadable HDF5 file") and len(opened) == 4  # cached
