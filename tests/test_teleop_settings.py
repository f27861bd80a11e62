"""Per-device-model settings: typed, versioned, atomic, in the config dir (env-var overridable)."""

import json
import os
from pathlib import Path

import pytest

from devices.teleop import ButtonAction, ClutchMode, DeviceSettings, MapperSettings, SettingsStore, config_dir
from devices.teleop.haptic import HapticOptions
from devices.teleop.keyboard import KeyboardDevice, KeyboardOptions
from devices.teleop.settings import SETTINGS_FILE_NAME


def defaults():
    return DeviceSettings(mapper=MapperSettings(), buttons={"left": ButtonAction.GRIPPER_TOGGLE},
                          options=HapticOptions())


def test_config_dir_honours_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("DEMOSTATION_CONFIG_DIR", str(tmp_path / "cfg"))
    assert config_dir() == tmp_path / "cfg"
    assert SettingsStore().path == tmp_path / "cfg" / SETTINGS_FILE_NAME
    monkeypatch.delenv("DEMOSTATION_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_dir() == tmp_path / "xdg" / "demostation"


def test_defaults_without_a_file_and_a_round_trip(tmp_path):
    store = SettingsStore(tmp_path / "s.json")
    assert store.load("spacemouse/256f:c635", defaults()) == defaults()
    changed = DeviceSettings(mapper=MapperSettings(translation_scale=0.3, clutch=ClutchMode.TOGGLE),
                             buttons={"right": ButtonAction.RECORD}, options=HapticOptions(force_scale=0.2))
    store.save("spacemouse/256f:c635", changed)
    store.save("keyboard", defaults())
    assert SettingsStore(tmp_path / "s.json").load("spacemouse/256f:c635", defaults()) == changed
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["format"] == "demostation-teleop-settings" and doc["version"] == 1
    assert sorted(doc["devices"]) == ["keyboard", "spacemouse/256f:c635"]
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]  # no temporary file left behind


def test_a_partial_hand_edited_entry_is_laid_over_the_defaults(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"format": "demostation-teleop-settings", "version": 1, "devices": {
        "haptic/openhaptics": {"mapper": {"deadzone": 0.01}, "options": {"max_force": 1.5}}}}))
    s = SettingsStore(path).load("haptic/openhaptics", defaults())
    assert s.mapper.deadzone == 0.01 and s.mapper.translation_scale == MapperSettings().translation_scale
    assert s.options.max_force == 1.5 and s.options.loop_hz == HapticOptions().loop_hz
    assert s.buttons == defaults().buttons


@pytest.mark.parametrize("entry, words", [
    ({"mapper": {"deadzon": 0.1}}, "unknown setting 'deadzon'"),
    ({"mapper": {"deadzone": "big"}}, "deadzone must be a finite number"),
    ({"mapper": {"clutch": "sometimes"}}, "clutch must be one of always, hold, toggle"),
    ({"mapper": {"axis_map": [[1, 0, 0], [0, 1, 0], [0, 0, -1]]}}, "must be a rotation"),
    ({"buttons": {"left": "explode"}}, "buttons.left must be one of"),
    ({"options": {"loop_hz": 50}}, "loop_hz must be in [100, 10000]"),
    ({"mapper": {"rotation_enabled": 1}}, "must be true or false"),
    ({"extras": {}}, "unknown section 'extras'"),
])
def test_bad_values_fail_in_one_line_that_names_the_key(tmp_path, entry, words):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"format": "demostation-teleop-settings", "version": 1, "devices": {"m": entry}}))
    with pytest.raises(ValueError) as err:
        SettingsStore(path).load("m", defaults())
    assert words in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("text, words", [
    ("{not json", "is not valid JSON"),
    (json.dumps({"format": "other", "version": 1}), "is not a Demo Station teleop settings file"),
    (json.dumps({"format": "demostation-teleop-settings", "version": 99}), "settings version 99"),
    ("[" * 200_000 + "]" * 200_000, "nested too deeply"),  # RecursionError, without the file's name
])
def test_corrupt_or_foreign_files_fail_clearly(tmp_path, text, words):
    path = tmp_path / "s.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=words):
        SettingsStore(path).load("m", defaults())


def test_a_failed_write_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    store = SettingsStore(tmp_path / "s.json")
    store.save("keyboard", defaults())
    before = (tmp_path / "s.json").read_text()

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        store.save("keyboard", DeviceSettings(mapper=MapperSettings(translation_scale=9.0)))
    assert (tmp_path / "s.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


def test_a_device_loads_and_saves_its_model_settings(tmp_path):
    store = SettingsStore(tmp_path / "s.json")
    kb = KeyboardDevice(store=store)
    assert kb.settings.options == KeyboardOptions()
    mine = kb.settings.with_options(KeyboardOptions(axis_keys={"up": "+z", "down": "-z"}))
    kb.save_settings(mine)
    again = KeyboardDevice(store=store)
    assert again.settings.options.axis_keys == {"up": "+z", "down": "-z"}
    assert again.settings.buttons["space"] is ButtonAction.GRIPPER_TOGGLE
    # the default store follows $DEMOSTATION_CONFIG_DIR (set per test by conftest)
    KeyboardDevice().save_settings(mine)
    assert (Path(os.environ["DEMOSTATION_CONFIG_DIR"]) / SETTINGS_FILE_NAME).is_file()
