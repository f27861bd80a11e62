#!/usr/bin/env bash
# Set up (if needed) and open Demo Station on the embedded station.
# With no display (a headless server), the window opens on a virtual X screen (Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
  echo "run: no display found; opening the window on a virtual screen (xvfb-run)" >&2
  exec xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/demostation gui "$@"
fi
exec .venv/bin/demostation gui "$@"
