"""Take-over in the Run panel is recorded: a trained checkpoint drives the live station, the operator
takes over with the keyboard (its real mapping code), hands back, and the open dataset gains a
complete, valid episode tagged ``recovery`` that the Dataset panel lists."""

import threading

import numpy as np
import pytest
import torch
from episode_files import tiny_run_config, write_dataset

from policy.compute_device import shared_process_threads
from recorder.dataset import Dataset
from recorder.validate import validate_dataset

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny policy trained for a few steps on a tiny dataset (the dataset take-overs go into)."""
    from policy.trainer import train

    root = tmp_path_factory.mktemp("takeover_gui")
    data = write_dataset(root / "data", episodes=2, length=10, image_size=32)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(lambda: Dataset(data), root / "run", tiny_run_config())
    finally:
        torch.set_num_threads(threads)
    return data, root / "run"


def _panels():
    from app.gui.panels.dataset import DatasetPanel
    from app.gui.panels.run import RunPanel
    from app.gui.panels.station import StationPanel

    return [StationPanel, RunPanel, DatasetPanel]


def test_take_over_records_a_recovery_episode_into_the_open_dataset(make_window, qtbot, trained):
    data, run_dir = trained
    w = make_window(panels=_panels())
    qtbot.waitUntil(lambda: w.ctx.station.is_alive, timeout=15000)

    # The curator has the dataset open; the Run panel offers it for take-overs.
    w.show_panel("dataset")
    ds = w.panels["dataset"]
    ds.path_edit.setText(str(data))
    ds.open_from_field()
    qtbot.waitUntil(lambda: ds.model.rowCount() == 2, timeout=20000)
    w.show_panel("run")
    panel = w.panels["run"]
    c = panel.controller
    # Rows are listed before their facts are read; the dataset counts as opened once they are.
    qtbot.waitUntil(lambda: c.recovery.target == data, timeout=20000)
    assert data.name in panel.recovery_target.text()

    panel.add_source(str(run_dir))
    panel.continuous_check.setChecked(False)
    assert panel.start()
    qtbot.waitUntil(lambda: c.state in ("running", "idle"), timeout=60000)
    assert c.state == "running", w.ctx.messages.history[-3:]
    # Inference shares this process with the station, its renderer and the recorder: half the cores.
    # (Torch applies the setting to each thread at its first operation, as on the inference thread.)
    seen = []
    probe = threading.Thread(target=lambda: seen.append((torch.ones(2) + 1, torch.get_num_threads())[1]))
    probe.start()
    probe.join()
    assert seen == [shared_process_threads()]

    # Take over: the operator drives (keyboard: R raises the hand) and the take-over records.
    panel.takeover_button.setChecked(True)
    qtbot.waitUntil(lambda: c.active_source == "teleop" and c.recovery.recording, timeout=5000)
    qtbot.waitUntil(lambda: panel.recovery_light.state == "recording", timeout=2000)
    assert "REC recovery" in panel.recovery_light.text()
    qtbot.waitUntil(lambda: panel.live.views["scene"]._badge == "OPERATOR · REC", timeout=2000)
    keyboard = w.ctx.station.keyboard
    keyboard.key_down("r")
    qtbot.wait(1500)
    keyboard.key_up("r")
    qtbot.wait(1500)
    panel.takeover_button.setChecked(False)
    qtbot.waitUntil(lambda: c.active_source == "policy", timeout=3000)
    qtbot.waitUntil(lambda: len(c.recovery.saved_ids) == 1, timeout=15000)
    assert panel.recovery_light.state == "ok" and "tagged recovery" in panel.recovery_light.text()
    assert c.stop()
    qtbot.waitUntil(lambda: c.state == "idle", timeout=30000)

    # The dataset holds a new complete episode, tagged recovery, that validates.
    new_id = c.recovery.saved_ids[0]
    assert new_id not in ("ep_000000", "ep_000001")
    with Dataset(data).open(new_id) as ep:
        assert bool(ep.attrs["complete"]) and list(ep.attrs["tags"]) == ["recovery"]
        assert ep.attrs["device"] == "keyboard" and ep.sources == ["keyboard"]
        assert ep.attrs["policy_source"] == str(run_dir)
        np.testing.assert_allclose(ep.action()[0, :3], np.array(ep.attrs["start_command"])[:3], atol=0.01)
        assert ep.action_pose[:, 2].max() - ep.action_pose[0, 2] > 0.02  # the operator raised the hand
        assert len(ep.time) >= 10 and ep.images("scene", 0).ndim == 3
    # Every check of the format passes. The tick rate is a timing figure (on this shared, loaded
    # 2-core machine the 10 Hz recorder missed up to 19 % of its ticks behind the policy's threads),
    # so, like the responsiveness test, this one only fails on a recorder that all but stopped.
    report = validate_dataset(data)
    assert [pr.line() for pr in report.problems if pr.kind != "rate"] == []
    with Dataset(data).open(new_id) as ep:
        assert (len(ep.time) - 1) / (ep.time[-1] - ep.time[0]) > 5.0

    # The Dataset panel lists it with its tag.
    w.show_panel("dataset")
    qtbot.waitUntil(lambda: ds.model.rowCount() == 3, timeout=20000)
    qtbot.waitUntil(lambda: "recovery" in ds.model.row_by_id(new_id).tags, timeout=20000)


def test_without_a_dataset_take_over_still_drives_and_says_it_is_not_recorded(make_window, qtbot):
    w = make_window(panels=_panels()[:2])
    panel = w.panels["run"]
    c = panel.controller
    panel.set_recovery_dataset(None)
    assert c.recovery.target is None and "not recorded" in panel.recovery_target.text()
    qtbot.waitUntil(lambda: w.ctx.station.is_alive, timeout=15000)
    panel.continuous_check.setChecked(False)
    assert panel.start()  # the scripted expert
    qtbot.waitUntil(lambda: c.state == "running", timeout=20000)
    panel.takeover_button.setChecked(True)
    qtbot.waitUntil(lambda: c.active_source == "teleop", timeout=3000)
    qtbot.wait(300)
    assert not c.recovery.recording and panel.recovery_light.state == "idle"
    panel.takeover_button.setChecked(False)
    qtbot.waitUntil(lambda: c.active_source == "policy", timeout=3000)
    assert c.stop()
    qtbot.waitUntil(lambda: c.state == "idle", timeout=20000)
    assert not c.recovery.saved_ids
