"""Camera layout (stored with episodes, compared on merge / policy start), config file and registry."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from devices.camera import CameraInfo
from devices.cameras.config import (
    CameraConfig,
    load_camera_configs,
    parse_camera_configs,
    save_camera_configs,
    select_cameras,
)
from devices.cameras.layout import CameraLayout, check_compatible, compare_layouts, layout_from_json, layout_to_json
from devices.cameras.opencv_camera import OpenCVCamera
from devices.cameras.realsense import RealSenseCamera
from devices.cameras.registry import CAMERA_KINDS, CameraContext, build_camera, build_cameras
from devices.cameras.tactile import TactileCamera
from devices.cameras.test_pattern import write_pattern_video


def cam(name, w=96, h=96, mount="scene", **kw):
    return CameraInfo(name=name, width=w, height=h, mount=mount, **kw)


# -- layout -------------------------------------------------------------------------------------

def test_layout_json_roundtrip_keeps_unknown_intrinsics_as_null():
    layout = CameraLayout((cam("scene", serial="123", fx=80.0, fy=80.0, cx=47.5, cy=47.5, model="realsense",
                               extra={"depth": True}), cam("wrist", mount="wrist")))
    text = layout_to_json(layout)
    data = json.loads(text)  # strict JSON: no NaN tokens
    assert data[1]["fx"] is None and data[0]["fx"] == 80.0
    back = layout_from_json(text.encode())
    assert back.names == ("scene", "wrist") and back.cameras[0] == layout.cameras[0]
    assert math.isnan(back.cameras[1].fx)
    assert layout_to_json(list(layout.cameras)) == text


def test_layout_reads_newer_files_and_rejects_malformed_ones():
    newer = json.dumps([{"name": "scene", "width": 96, "height": 96, "mount": "scene", "exposure_us": 300}])
    assert layout_from_json(newer).names == ("scene",)
    for bad, match in [("{", "not valid JSON"), ('{"name": "x"}', "JSON list"), ('[{"name": "x"}]', "lacks"),
                       ('[{"name": "x", "width": 9.5, "height": 2}]', "integer"),
                       ('[{"name": "x", "width": 9, "height": 2, "mount": "ceiling"}]', "mount"),
                       ('[{"name": "x", "width": 9, "height": 2}, {"name": "x", "width": 9, "height": 2}]', "unique")]:
        with pytest.raises(ValueError, match=match):
            layout_from_json(bad)


def test_check_compatible_names_problems_and_warnings():
    ref = CameraLayout((cam("scene", serial="A", fx=80.0, fy=80.0, cx=47.5, cy=47.5), cam("wrist", mount="wrist")))
    same = CameraLayout((cam("wrist", mount="wrist"), cam("scene", serial="A", fx=80.5, fy=80.0, cx=47.5, cy=47.5)))
    assert check_compatible(ref, same) == [] and compare_layouts(ref, same).warnings == ()
    other = CameraLayout((cam("scene", 128, 96, serial="B", fx=120.0, fy=120.0, cx=63.5, cy=47.5),
                          cam("wrist", mount="scene"), cam("gel", mount="tactile")))
    result = compare_layouts(ref, other)
    assert not result.compatible
    assert any("scene" in p and "128x96" in p for p in result.problems)
    assert any("wrist" in p and "mount" in p for p in result.problems)
    assert any("'gel' is extra" in p for p in result.problems)
    assert any("serial" in w for w in result.warnings) and any("fx" in w for w in result.warnings)
    assert check_compatible(ref, CameraLayout((cam("scene"),))) == ["camera 'wrist' is missing"]


def test_station_cameras_give_a_valid_layout():
    from devices.sim.station import make_station

    station = make_station("pick_place", image_size=32)
    layout = CameraLayout(tuple(c.info for c in station.cameras.values()))
    back = layout_from_json(layout_to_json(layout))
    assert check_compatible(layout, back) == [] and back.get("wrist").mount == "wrist"


# -- config file --------------------------------------------------------------------------------

CONFIG = {"format": "demostation-cameras", "version": 1, "cameras": [
    {"name": "scene", "kind": "realsense", "width": 64, "height": 48, "fps": 30, "serial": "123", "depth": True},
    {"name": "wrist", "kind": "uvc", "mount": "wrist", "device": "/dev/video2", "capture_size": [640, 480]},
    {"name": "gel", "kind": "tactile", "width": 32, "height": 32, "inner": {"kind": "video", "path": "gel.avi"}},
    {"name": "top", "kind": "sim", "camera": "scene"},
]}


def test_config_file_roundtrip(tmp_path):
    configs = parse_camera_configs(json.dumps(CONFIG))
    assert [c.name for c in configs] == ["scene", "wrist", "gel", "top"]
    assert configs[0].options == {"serial": "123", "depth": True} and configs[2].mount == "tactile"
    path = save_camera_configs(configs, tmp_path / "cfg" / "cameras.json")
    assert load_camera_configs(path) == configs
    assert not list(path.parent.glob("*.tmp"))


def test_default_config_location_is_the_isolated_settings_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("DEMOSTATION_CONFIG_DIR", str(tmp_path))
    assert load_camera_configs() == []  # no file yet: no cameras, not an error
    save_camera_configs(parse_camera_configs(json.dumps(CONFIG)))
    assert (tmp_path / "cameras.json").is_file() and len(load_camera_configs()) == 4


@pytest.mark.parametrize("cameras, match", [
    ([{"name": "a", "kind": "webcam"}], "unknown camera kind 'webcam'"),
    ([{"name": "a", "kind": "uvc"}], "'device' is required"),
    ([{"name": "a", "kind": "uvc", "device": 0, "fourc": "MJPG"}], "unknown option fourc"),
    ([{"name": "a", "kind": "realsense", "depth": "yes"}], "'depth' must be bool"),
    ([{"name": "a", "kind": "uvc", "device": 0, "width": -1}], "positive integer"),
    ([{"name": "a", "kind": "uvc", "device": 0, "fps": float("inf")}], "fps"),
    ([{"name": "a", "kind": "uvc", "device": 0, "mount": "ceiling"}], "mount"),
    ([{"name": "a", "kind": "tactile", "inner": {"kind": "tactile"}}], "inner.kind"),
    ([{"name": "a", "kind": "tactile", "inner": {"kind": "uvc"}}], "'device' is required"),
    ([{"name": "a", "kind": "tactile", "mount": "wrist", "inner": {"kind": "uvc", "device": 0}}], "mount is 'tactile'"),
    ([{"name": "a", "kind": "video", "path": "x"}, {"name": "a", "kind": "video", "path": "y"}], "unique"),
])
def test_config_errors_are_one_line_and_name_the_camera(cameras, match):
    text = json.dumps({"format": "demostation-cameras", "version": 1, "cameras": cameras})
    with pytest.raises(ValueError, match=match) as err:
        parse_camera_configs(text)
    assert "\n" not in str(err.value)


def test_config_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_camera_configs(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_camera_configs(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"cameras": []}))
    with pytest.raises(ValueError, match="not a Demo Station camera config"):
        load_camera_configs(tmp_path / "other.json")
    (tmp_path / "newer.json").write_text(json.dumps({"format": "demostation-cameras", "version": 9, "cameras": []}))
    with pytest.raises(ValueError, match="version 9"):
        load_camera_configs(tmp_path / "newer.json")


def test_select_cameras_resolves_a_cameras_argument():
    configs = parse_camera_configs(json.dumps(CONFIG))
    assert [c.name for c in select_cameras(configs, "wrist, scene")] == ["wrist", "scene"]
    assert len(select_cameras(configs, "all")) == 4 and len(select_cameras(configs, None)) == 4
    with pytest.raises(ValueError, match=r"unknown camera side \(configured: scene, wrist, gel, top\)"):
        select_cameras(configs, "scene,side")


# -- registry -----------------------------------------------------------------------------------

def test_registry_has_every_kind_and_builds_them(tmp_path):
    assert set(CAMERA_KINDS) == {"uvc", "realsense", "video", "sim", "tactile"}
    write_pattern_video(tmp_path / "gel.avi", frames=10, fps=30)
    configs = parse_camera_configs(json.dumps(CONFIG))
    with pytest.raises(ValueError, match="no station is running"):
        build_cameras(configs, CameraContext(base_dir=tmp_path))
    from devices.sim.station import make_station

    station = make_station("pick_place", image_size=32)
    cams = build_cameras(configs, CameraContext(base_dir=tmp_path, station=station))
    assert isinstance(cams["scene"], RealSenseCamera) and cams["scene"].has_depth
    assert isinstance(cams["wrist"], OpenCVCamera) and cams["wrist"].source == "/dev/video2"
    assert isinstance(cams["gel"], TactileCamera) and cams["gel"].inner.source == str(tmp_path / "gel.avi")
    assert cams["gel"].info.mount == "tactile" and (cams["gel"].info.width, cams["gel"].info.height) == (32, 32)
    layout = CameraLayout(tuple(c.info for c in cams.values()))
    assert layout.get("wrist").mount == "wrist" and layout.get("scene").width == 64


def test_sim_camera_through_the_registry_renders_at_configured_size():
    from devices.sim.station import make_station

    station = make_station("pick_place", image_size=48)
    station.connect()
    try:
        config = CameraConfig(name="top", kind="sim", width=32, height=24, options={"camera": "scene"})
        camera = build_camera(config, CameraContext(station=station))
        camera.connect()
        frame = camera.read_latest()
        info = camera.info
    finally:
        station.disconnect()
    assert frame.image.shape == (24, 32, 3) and frame.timestamp == station.time
    assert (info.name, info.width, info.height, info.mount) == ("top", 32, 24, "scene")
    native = station.cameras["scene"].info
    assert info.fx == pytest.approx(native.fx * 32 / 48)
    with pytest.raises(ValueError, match="no camera 'side'"):
        build_camera(CameraConfig(name="x", kind="sim", options={"camera": "side"}), CameraContext(station=station))
    assert np.asarray(frame.image).dtype == np.uint8
