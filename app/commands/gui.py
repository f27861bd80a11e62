"""`demostation gui`: open the application (Station, Record, Dataset, Train, Run) on the embedded station."""

from __future__ import annotations

import argparse

NAME = "gui"
HELP = "open the Demo Station application on the embedded MuJoCo station"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", default="pick_place", help="station task (default pick_place)")
    p.add_argument("--dataset", metavar="DIR", help="open this dataset (default: the last one used)")
    p.add_argument("--panel", choices=("station", "record", "dataset", "train", "run"),
                   help="panel to show first (default: the last one used)")
    p.add_argument("--quit-after", type=float, default=0.0, metavar="S",
                   help="close the window after S seconds (for scripted screenshots)")


def run(args: argparse.Namespace) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.gui.current_dataset import SETTINGS_KEY as CURRENT_DATASET
    from app.gui.main_window import build_main_window
    from app.gui.settings import open_settings
    from app.gui.theme import apply_theme
    from devices.sim.tasks import make_task
    from recorder.dataset import require_dataset

    if args.dataset:  # before any window: a folder that is not a dataset is not remembered as the last one
        require_dataset(args.dataset)
    make_task(args.task)  # an unknown task is a usage error before any window opens
    app = QApplication.instance() or QApplication(["demostation"])
    app.setApplicationName("Demo Station")
    apply_theme(app)
    settings = open_settings()
    if args.dataset:
        settings.setValue(CURRENT_DATASET, args.dataset)  # the window opens with it current
    window = build_main_window(settings, task=args.task)
    if args.panel:
        window.show_panel(args.panel)
    window.show()
    if args.quit_after > 0:
        QTimer.singleShot(int(args.quit_after * 1000), window.close)
    status = app.exec()
    # Tear the window down while the interpreter is whole: PySide6 objects left to the final
    # garbage collection can crash at exit.
    window.deleteLater()
    del window
    import gc

    gc.collect()
    return status
