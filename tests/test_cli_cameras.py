"""`demostation cameras`: lists connected and configured cameras, one status line each."""

from __future__ import annotations

import json

from app.cli import main
from devices.cameras.discovery import AvailableCamera, list_realsense, list_uvc_devices, probe_available
from devices.cameras.test_pattern import write_pattern_video


def test_cameras_json_lists_configured_cameras_and_probes_them(tmp_path, capsys):
    write_pattern_video(tmp_path / "scene.avi", frames=30, fps=30)
    (tmp_path / "cameras.json").write_text(json.dumps({"format": "demostation-cameras", "version": 1, "cameras": [
        {"name": "scene", "kind": "video", "path": "scene.avi", "width": 32, "height": 24, "fps": 30},
        {"name": "top", "kind": "sim"}]}))
    assert main(["cameras", "--config", str(tmp_path / "cameras.json"), "--probe", "0.3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    scene, top = out["configured"]
    assert scene["name"] == "scene" and scene["status"].startswith("32x24, streaming")
    assert "fps" in scene["status"] and "station camera" in top["status"]
    assert isinstance(out["available"], list)


def test_cameras_text_output_and_bad_config(tmp_path, capsys):
    assert main(["cameras"]) == 0
    text = capsys.readouterr().out
    assert "Configured: none" in text
    (tmp_path / "bad.json").write_text("{")
    assert main(["cameras", "--config", str(tmp_path / "bad.json")]) == 2
    err = capsys.readouterr().err
    assert "not valid JSON" in err and len(err.strip().splitlines()) == 1


def test_a_configured_camera_that_cannot_open_reports_its_error(tmp_path, capsys):
    (tmp_path / "cameras.json").write_text(json.dumps({"format": "demostation-cameras", "version": 1, "cameras": [
        {"name": "wrist", "kind": "uvc", "device": "/dev/video93"}]}))
    assert main(["cameras", "--config", str(tmp_path / "cameras.json"), "--probe", "0.1"]) == 0
    text = capsys.readouterr().out
    assert "wrist" in text and "error: camera 'wrist': cannot open" in text


def test_uvc_listing_reads_sysfs_names_and_flags_metadata_nodes(tmp_path):
    dev, sysfs = tmp_path / "dev", tmp_path / "sys"
    dev.mkdir()
    for n, (name, index) in enumerate([("HD Webcam", "0"), ("HD Webcam", "1")]):
        (dev / f"video{n}").write_text("")
        (sysfs / f"video{n}").mkdir(parents=True)
        (sysfs / f"video{n}" / "name").write_text(name + "\n")
        (sysfs / f"video{n}" / "index").write_text(index + "\n")
    (dev / "video10").write_text("")
    (dev / "videodev").write_text("")  # not a node name we list
    found = list_uvc_devices(dev, sysfs)
    assert [f.id for f in found] == [str(dev / "video0"), str(dev / "video1"), str(dev / "video10")]
    assert found[0].name == "HD Webcam" and found[0].status == "present"
    assert "metadata" in found[1].status and found[2].name == "unknown device"
    # probing a node that is not a real device reports the error, in one line
    assert probe_available(found[0], 0.05).startswith("error: camera 'probe-uvc': cannot open")
    assert probe_available(found[1], 0.05) == found[1].status


def test_realsense_listing_turns_sdk_failure_into_a_status():
    def broken():
        raise RuntimeError("librealsense backend\nfailed")

    (entry,) = list_realsense(broken)
    assert entry.status == "error: librealsense backend failed"
    assert list_realsense(lambda: []) == []
    assert isinstance(AvailableCamera("uvc", "x", "y", "z").as_dict(), dict)
