"""Teleop devices as recorder sources: replay in simulated time, buttons drive the session,
a lost device pauses the recording, a missing one is a one-line usage error."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from teleop_fakes import FakeHidApi, wait_until

from app.cli import main
from devices.teleop.command import RawEvent
from devices.teleop.spacemouse import KNOWN_MODELS, encode_reports, operator_twist_to_raw
from devices.teleop.stream_files import write_stream
from recorder.dataset import Dataset
from recorder.record import StationRecordingSettings, record_station
from recorder.sources import SourceOptions
from recorder.validate import validate_dataset

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "teleop" / "spacemouse_demo.jsonl"
PRO = KNOWN_MODELS[(0x046D, 0xC62B)]  # buttons 1 record, 2 stop, 3 discard, 4 mark_recovery
COMPACT = KNOWN_MODELS[(0x256F, 0xC635)]  # left gripper_toggle, right record_toggle
BIT = {"1": 12, "2": 13, "3": 14, "4": 15}


def pro_stream(path: Path, presses: list[tuple[float, str]], duration: float, twist=(0.0, 0.6, 0.0)) -> Path:
    """A SpaceMouse Pro stream pushing away from the operator, pressing buttons at the given times."""
    events, period = [], 0.016
    pending = sorted(presses)
    for k in range(int(duration / period)):
        t = k * period
        reports = encode_reports(PRO, operator_twist_to_raw([*twist, 0, 0, 0]))
        if pending and pending[0][0] <= t:
            _, button = pending.pop(0)
            reports.append(encode_reports(PRO, np.zeros(6), button_mask=1 << BIT[button])[-1])
            reports.append(encode_reports(PRO, np.zeros(6), button_mask=0)[-1])
        events += [RawEvent(round(t + 0.0005 * i, 6), "hid", r) for i, r in enumerate(reports)]
    header = {"device": "spacemouse", "model": PRO.key, "name": PRO.name,
              "params": {"vendor_id": PRO.vendor_id, "product_id": PRO.product_id}}
    return write_stream(path, header, events)


def test_replay_records_headlessly_in_simulated_time_through_the_same_mapping(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["record", "--out", str(out), "--device", f"replay:{DEMO}", "--image-size", "32", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["episodes"] == 1 and report["discarded"] == 0
    with Dataset(out).open("ep_000000") as ep:
        assert ep.device == "spacemouse" and ep.attrs["clock"] == "simulated" and ep.seed == 0
        assert ep.sources == ["spacemouse"]  # the device commanded every sample (it never went quiet)
        # The demo presses record-toggle at 5.5 s of its stream: that stopped the episode.
        assert 5.4 <= ep.time[-1] <= 5.7
        moved = ep.action_pose[-1, :3] - ep.action_pose[0, :3]
        gripper = ep.action_gripper[:, 0]
        assert gripper.max() == pytest.approx(1.0) and gripper[-1] < 0.5  # closed at 1.7 s, reopened at 5.1 s
        np.testing.assert_allclose(ep.time, 0.1 * np.arange(len(ep)), atol=1e-6)
    # The same stream through `devices --watch --fast` (the mapper alone, no robot) moves the target
    # by the same amount: the recorder fed the replayed commands through the same mapping code.
    assert main(["devices", "--watch", f"replay:{DEMO}", "--fast", "--json"]) == 0
    watch = json.loads(capsys.readouterr().out)
    watch_moved = np.array(watch["final"]["ee_pose"][:3]) - np.array(watch["start"][:3])
    np.testing.assert_allclose(moved, watch_moved, atol=0.01)
    assert np.linalg.norm(moved) > 0.05
    assert validate_dataset(out).ok


def test_device_buttons_stop_discard_mark_and_start_episodes(tmp_path):
    stream = pro_stream(tmp_path / "pro.jsonl", [(0.8, "4"), (1.2, "2"), (1.6, "1"), (2.2, "3"), (2.6, "1")],
                        duration=3.5)
    report = record_station(StationRecordingSettings(out=str(tmp_path / "ds"), device=f"replay:{stream}",
                                                     episodes=5, cameras=(), fsync=False))
    assert report.discarded == 1 and len(report.episodes) == 2
    first, last = report.episodes
    ds = Dataset(tmp_path / "ds")
    assert ds.episode_ids() == [first.episode_id, last.episode_id]  # nothing of the discarded one is left
    assert not list((tmp_path / "ds" / "episodes").glob("*.journal"))
    with ds.open(first.episode_id) as ep:
        assert ep.seed == 0 and ep.time[-1] == pytest.approx(1.3)  # button 2 at 1.216 s: the next tick is the last
        marks = [e for e in ep.events if e["kind"] == "recovery"]
        assert len(marks) == 1 and marks[0]["start"] == pytest.approx(0.8, abs=0.15)
    with ds.open(last.episode_id) as ep:
        assert ep.seed is None  # started by button 1 where the arm was, without a reset
        assert 0.7 <= ep.time[-1] <= 1.0  # from the press at 2.6 s to the end of the stream
        start_x = ep.action_pose[0, 0]
    # The arm kept moving between the episodes (teleop continued while idle): pushed away (-x).
    with ds.open(first.episode_id) as ep:
        assert start_x < ep.action_pose[-1, 0] - 0.05


def test_a_device_unplugged_mid_episode_pauses_the_recording_until_it_is_back(tmp_path):
    api = FakeHidApi()
    notices: list[str] = []
    settings = StationRecordingSettings(out=str(tmp_path / "ds"), device="spacemouse", episodes=1, cameras=(),
                                        fsync=False, source=SourceOptions(device_options={"hid_api": api}))
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(report=record_station(settings, notice=notices.append)))
    worker.start()
    try:
        assert wait_until(lambda: api.current is not None, timeout=20.0)
        push = encode_reports(COMPACT, operator_twist_to_raw([0.0, 0.8, 0.0, 0, 0, 0]))
        for _ in range(50):  # ~0.8 s of pushing away from the operator
            api.feed(*push)
            threading.Event().wait(0.016)
        api.unplug()
        assert wait_until(lambda: any("paused" in n for n in notices), timeout=5.0)
        threading.Event().wait(0.6)
        api.plug_in()
        assert wait_until(lambda: any("resumed" in n for n in notices), timeout=5.0)
        threading.Event().wait(0.3)
        stop = encode_reports(COMPACT, np.zeros(6), button_mask=0b10)  # right: record_toggle → stop
        api.feed(*stop, encode_reports(COMPACT, np.zeros(6), button_mask=0)[-1])
        worker.join(timeout=20.0)
    finally:
        if worker.is_alive():
            api.plug_in()
            api.feed(*encode_reports(COMPACT, np.zeros(6), button_mask=0b10))
            worker.join(timeout=20.0)
    report = result["report"]
    assert len(report.episodes) == 1
    paused_line = next(n for n in notices if "paused" in n)
    assert "lost" in paused_line and "reconnecting" in paused_line and "\n" not in paused_line
    with Dataset(tmp_path / "ds").open(report.episodes[0].episode_id) as ep:
        assert ep.attrs["clock"] == "real" and ep.device == "spacemouse"
        pauses = [e for e in ep.events if e["kind"] == "recording_paused"]
        assert len(pauses) == 1 and "lost" in pauses[0]["label"]
        start, end = pauses[0]["start"], pauses[0]["end"]
        assert end - start >= 0.5
        assert not np.any((ep.time > start + 1e-6) & (ep.time < end - 1e-6))  # nothing stored while paused
        assert ep.timing["paused_s"] == pytest.approx(end - start, abs=1e-6) and ep.timing["paused_ticks"] >= 5
        before = ep.time < start
        assert ep.action_pose[before][-1, 0] < ep.action_pose[0, 0] - 0.02  # it moved before the pause
        assert ep.timing["safety_interventions"].get("source_lost", 0) == 1  # the arm held while lost
    assert validate_dataset(tmp_path / "ds").ok


@pytest.mark.parametrize("spec, needle", [("spacemouse", "no SpaceMouse found"), ("openxr", "OpenXR"),
                                          ("keyboard", "keyboard")])
def test_a_missing_device_exits_2_with_its_one_line_error(spec, needle, tmp_path, capsys):
    assert main(["record", "--out", str(tmp_path / "ds"), "--device", spec, "--cameras", ""]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]
    assert not (tmp_path / "ds" / "episodes").exists()


def test_a_corrupt_replay_keeps_what_was_recorded_and_exits_2(tmp_path, capsys):
    stream = pro_stream(tmp_path / "pro.jsonl", [], duration=1.5)
    lines = stream.read_text().splitlines()
    lines.insert(60, '{"t": 0.5, "k": "hid", "d": {"hex": "zz"}}')
    stream.write_text("\n".join(lines) + "\n")
    out = tmp_path / "ds"
    assert main(["record", "--out", str(out), "--device", f"replay:{stream}", "--cameras", ""]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("demostation record: error:") and "line 61" in err[-1]
    assert "recorded 1 episode" in err[-1]
    assert any("recording paused" in line and "line 61" in line for line in err[:-1])  # the visible notice
    with Dataset(out).open("ep_000000") as ep:
        pauses = [e for e in ep.events if e["kind"] == "recording_paused"]
        assert ep.complete and len(pauses) == 1 and "line 61" in pauses[0]["label"]
