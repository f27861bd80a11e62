"""Render every panel of the main window to PNG for review: `python scripts/screenshots.py OUT_DIR
[--size WxH] [--quick] [--root-grab]`.

It walks the loop the way an operator would — the live station, a recording in progress, the
recorded dataset with an episode on the timeline, a training run, a policy run — and grabs each
panel at that moment. Run it under a real X server (scripts/screenshots.sh starts Xvfb) or with
QT_QPA_PLATFORM=offscreen. Settings and data live in a temporary folder, so a user's configuration
is never read or changed. The dataset lives under a deliberately long path, so every path field shows
how it elides. With ``--quick`` no policy is trained and no sweep runs (the forms are filled, the
panels shown): what scripts/screenshots.sh uses at each of its three window sizes. With
``--root-grab`` each picture is the whole X screen as ImageMagick's ``import -window root`` takes it
(what a person at that screen sees), else the window's own rendering. Each panel's cut-off widgets
(app/gui/layout_audit.py) are listed in OUT_DIR/layout.txt and on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def wait(app, seconds: float, until=None) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if until is not None and until():
            return True
        time.sleep(0.01)
    return until is None


# A dataset path as long as a lab's network share makes them: every field that shows it must elide.
LONG_DATASET = "lab-share/projects/robot-learning/pick-and-place-demonstrations/2026-12-08-session-with-operators/dataset"


class Driver:
    def __init__(self, app, window, out: Path, work: Path, quick: bool = False, root_grab: bool = False) -> None:
        self.app, self.window, self.out, self.work = app, window, out, work
        self.quick, self.root_grab = quick, root_grab
        self.dataset_dir = work / LONG_DATASET
        self.written: list[str] = []
        self.layout_problems: dict[str, list[str]] = {}

    def grab(self, name: str) -> None:
        from app.gui.layout_audit import cut_off_widgets

        path = self.out / f"{name}.png"
        wait(self.app, 0.2)
        if self.root_grab:
            subprocess.run(["import", "-window", "root", str(path)], check=True)
        else:
            self.window.grab().save(str(path))
        self.written.append(str(path))
        self.layout_problems[name] = cut_off_widgets(self.window)

    def show(self, key: str, settle: float = 0.8) -> bool:
        if key not in self.window.panels:
            return False
        self.window.show_panel(key)
        wait(self.app, settle)
        return True

    def station(self) -> None:
        if self.show("station", 1.5):
            self.grab("station")

    def record(self) -> None:
        if not self.show("record"):
            return
        panel = self.window.panels["record"]
        panel.dataset_edit.setText(str(self.dataset_dir))
        panel.operator_edit.setText("ada")
        panel.driver_combo.setCurrentIndex(panel.driver_combo.findData("expert"))
        panel.pause_spin.setValue(0.5)
        panel.auto_end_check.setChecked(False)
        panel.goal_spin.setValue(40)
        panel.review_check.setChecked(True)
        c = panel.controller
        for i in range(1 if self.quick else 2):
            panel.command("start")
            wait(self.app, 15, until=lambda: c.state == "recording")
            wait(self.app, 4.0 if i == 0 else 6.0)
            if i == (0 if self.quick else 1):
                self.grab("record")
            panel.command("stop")
            wait(self.app, 20, until=lambda: c.state == "idle")
            if panel.reviewing is not None:  # the replay before keep or discard
                wait(self.app, 10, until=lambda: panel.review.timeline.episode is not None)
                wait(self.app, 1.5)
                self.grab("record_review")
                panel.command("toggle")  # keep

    def dataset(self) -> None:
        if not self.show("dataset"):
            return
        panel = self.window.panels["dataset"]
        panel.path_edit.setText(str(self.dataset_dir))
        panel.open_from_field()
        wait(self.app, 30, until=lambda: panel.scans >= 1)
        ids = [r.id for r in panel.model.rows()]
        if ids:
            wait(self.app, 2.0)  # the panel may still be re-listing the episodes the recording announced
            for _ in range(3):
                panel.select_ids([ids[-1]])
                if wait(self.app, 10, until=lambda: panel.timeline.episode is not None and panel.selected_ids()):
                    break
            panel.tag_edit.setText("clean grasp")
            panel.tag_selected()
            wait(self.app, 1.0)
            panel.timeline.seek(panel.timeline.episode.duration * 0.6)
        wait(self.app, 0.8)
        self.grab("dataset")
        panel.tabs.setCurrentIndex(1)
        wait(self.app, 0.5)
        self.grab("dataset_statistics")
        panel.tabs.setCurrentIndex(0)


    def train(self) -> None:
        if not self.show("train"):
            return
        panel = self.window.panels["train"]
        # A small network, so the screenshots take a minute, not an hour (the form's own defaults
        # are the project's CPU preset).
        small = self.work / "small_policy.json"
        small.write_text(json.dumps({"policy": {"encoder_channels": 8, "keypoints": 8, "image_features": 16,
                                                "unet_dims": [16, 32], "time_embed_dim": 16, "sample_steps": 4},
                                     "train": {"log_every": 2, "val_every": 10, "val_batches": 1}}))
        panel.dataset_edit.setText(str(self.dataset_dir))
        panel.steps_spin.setValue(40)
        panel.batch_spin.setValue(8)
        panel.config_edit.setText(str(small))
        panel.out_edit.setText(str(self.dataset_dir.parent / "runs" / "first"))
        if self.quick:
            self.grab("train")
            return
        self.run = panel.start_training()
        if self.run is not None:
            wait(self.app, 20, until=lambda: self.run.step >= 10)
            self.grab("train_running")
            wait(self.app, 300, until=lambda: not self.run.is_running())
        wait(self.app, 0.5)
        self.grab("train")

    def run_policy(self) -> None:
        if not self.show("run"):
            return
        panel = self.window.panels["run"]
        panel.sweep_episodes.setValue(1)
        panel.source_combo.setCurrentIndex(panel.source_combo.findData("expert"))
        if not self.quick:
            panel.toggle_sweep()  # the expert's sweep, in its own process
            wait(self.app, 240, until=lambda: panel._sweep is None)
        run = getattr(self, "run", None)
        if run is not None and run.checkpoint() is not None:
            panel.add_source(str(run.run_dir))  # selects it
        panel.continuous_check.setChecked(True)
        panel.start()
        wait(self.app, 60, until=lambda: panel.controller.state == "running")
        wait(self.app, 4.0)
        self.grab("run")
        panel.emergency_stop()
        wait(self.app, 0.8)
        self.grab("run_estop")
        panel.release_estop()
        panel.controller.stop()
        wait(self.app, 30, until=lambda: panel.controller.state == "idle")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", default="1440x900")
    parser.add_argument("--quick", action="store_true", help="no training run, no sweep: the panels as filled in")
    parser.add_argument("--root-grab", action="store_true", help="grab the X screen with ImageMagick's import")
    args = parser.parse_args(argv)
    try:
        w, h = (int(v) for v in args.size.split("x"))
    except ValueError:
        print(f"screenshots: --size must be WIDTHxHEIGHT, e.g. 1280x720, not {args.size!r}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="demostation-shots-"))
    os.environ["DEMOSTATION_CONFIG_DIR"] = str(work / "config")

    from PySide6.QtWidgets import QApplication

    from app.gui.main_window import build_main_window
    from app.gui.settings import open_settings
    from app.gui.theme import apply_theme

    app = QApplication.instance() or QApplication(["demostation-screenshots"])
    apply_theme(app)
    window = build_main_window(open_settings(work / "config" / "gui.ini"))
    window.move(0, 0)
    window.resize(w, h)
    window.show()
    wait(app, 30, until=lambda win=window: win.ctx.station.ticks > 5)
    driver = Driver(app, window, args.out, work, quick=args.quick, root_grab=args.root_grab)
    for step in (driver.station, driver.record, driver.dataset, driver.train, driver.run_policy):
        step()
    lines = [f"{name}: {'clean' if not found else f'{len(found)} cut off'}" + "".join(f"\n  {p}" for p in found)
             for name, found in driver.layout_problems.items()]
    (args.out / "layout.txt").write_text(f"window {window.width()}x{window.height()}\n" + "\n".join(lines) + "\n")
    print("\n".join(lines), file=sys.stderr)
    window.close()
    # Tear the window down while the interpreter is whole (PySide6 objects left to the final
    # garbage collection can crash at exit).
    window.deleteLater()
    wait(app, 0.2)
    del window, driver.window
    import gc

    gc.collect()
    print("\n".join(driver.written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
