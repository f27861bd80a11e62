"""Render every panel of the main window to PNG for review: `python scripts/screenshots.py OUT_DIR`.

Run it under a real X server (scripts/screenshots.sh starts Xvfb) or with QT_QPA_PLATFORM=offscreen.
Settings live in a temporary folder, so a user's configuration is never read or changed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def wait(app, seconds: float, until=None) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if until is not None and until():
            return
        time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", default="1400x860")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="demostation-shots-"))
    os.environ["DEMOSTATION_CONFIG_DIR"] = str(tmp / "config")

    from PySide6.QtWidgets import QApplication

    from app.gui.main_window import build_main_window
    from app.gui.settings import open_settings
    from app.gui.theme import apply_theme

    app = QApplication.instance() or QApplication(["demostation-screenshots"])
    apply_theme(app)
    w, h = (int(v) for v in args.size.split("x"))
    window = build_main_window(open_settings(tmp / "config" / "gui.ini"))
    window.resize(w, h)
    window.show()
    wait(app, 20, until=lambda: window.ctx.station.ticks > 5)
    wait(app, 1.0)
    written = []
    for key in window.panels:
        window.show_panel(key)
        wait(app, 1.2)
        path = args.out / f"{key}.png"
        window.grab().save(str(path))
        written.append(str(path))
    window.close()
    print("\n".join(written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
