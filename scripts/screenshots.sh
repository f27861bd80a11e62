#!/usr/bin/env bash
# Render every panel of Demo Station to PNG under a virtual X screen: scripts/screenshots.sh [OUT_DIR]
# (default OUT_DIR: screenshots/). Needs Xvfb; ImageMagick's `import` also grabs the whole screen.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-screenshots}
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
export MUJOCO_GL="${MUJOCO_GL:-egl}"
if [ -n "${DISPLAY:-}" ]; then
  exec "$PY" scripts/screenshots.py "$OUT"
fi
DISPLAY_NUM=${SCREENSHOT_DISPLAY:-:99}
Xvfb "$DISPLAY_NUM" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
XVFB_PID=$!
trap 'kill "$XVFB_PID" 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X${DISPLAY_NUM#:}" ] && break; sleep 0.1; done
DISPLAY="$DISPLAY_NUM" QT_QPA_PLATFORM=xcb "$PY" scripts/screenshots.py "$OUT"
