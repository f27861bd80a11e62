"""`demostation devices`: the device list with one-line statuses, and --watch on a recorded stream."""

import json
from pathlib import Path

import pytest

from app.cli import main

DEMO = Path(__file__).resolve().parents[1] / "assets" / "teleop" / "spacemouse_demo.jsonl"


def test_devices_json_lists_every_kind_with_a_one_line_status(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("XR_RUNTIME_JSON", str(tmp_path / "none.json"))
    assert main(["devices", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    listings = json.loads(out[0])["devices"]
    assert {d["kind"] for d in listings} == {"keyboard", "spacemouse", "openxr", "handheld", "haptic"}
    for d in listings:
        assert d["status"] in {"connected", "available", "not found", "unavailable"}
        assert d["message"] and "\n" not in d["message"]
    known = {m["id"]: m for m in json.loads(out[0])["known_spacemouse_models"]}
    assert known["256f:c652"]["report"] == "combined" and known["046d:c626"]["report"] == "separate"
    openxr = next(d for d in listings if d["kind"] == "openxr")
    assert openxr["status"] == "unavailable" and "install Monado or SteamVR" in openxr["message"]


def test_devices_text_has_a_line_per_device(capsys):
    assert main(["devices"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) >= 6 and lines[0].startswith("keyboard")


def test_devices_says_which_hid_backend_it_used_and_where_the_udev_rules_are(capsys):
    from devices.teleop.spacemouse import UDEV_RULES

    assert main(["devices"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("HID backend: hidraw;") and str(UDEV_RULES) in last  # Linux: the hidraw module
    assert UDEV_RULES.is_file()
    assert main(["devices", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["hid_backend"] == "hidraw" and out["udev_rules"] == str(UDEV_RULES)
    [sm] = [d for d in out["devices"] if d["kind"] == "spacemouse"]
    assert "hidraw backend" in sm["message"]


def test_watch_a_recorded_stream(capsys):
    assert main(["devices", "--watch", f"replay:{DEMO}", "--fast", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["model"] == "spacemouse/256f:c635" and summary["events"] == ["record_toggle"]
    assert summary["updates"] > 700 and 0.05 < summary["moved_m"] < 0.15


@pytest.mark.parametrize("argv, code", [
    (["devices", "--watch", "trackball"], 2),
    (["devices", "--watch", "replay:/nonexistent/stream.jsonl"], 2),
    (["devices", "--watch", "keyboard", "--fast"], 2),
])
def test_watch_bad_input_is_one_line(argv, code, capsys):
    assert main(argv) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1


def test_watch_missing_device_fails_in_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("XR_RUNTIME_JSON", str(tmp_path / "none.json"))
    assert main(["devices", "--watch", "openxr:left", "--seconds", "0.1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "install Monado or SteamVR" in err[0]
