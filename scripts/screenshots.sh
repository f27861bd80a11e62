#!/usr/bin/env bash
# Every panel of Demo Station as PNG at three window sizes, under a virtual X screen:
#   scripts/screenshots.sh [OUT_DIR] [SIZE...]      (default OUT_DIR screenshots/, sizes 1280x720 1920x1080 2560x1440)
# For each size it starts Xvfb with a screen of that size, opens the window filling it, walks the
# panels with a long dataset path filled in (scripts/screenshots.py --quick) and grabs the screen with
# ImageMagick's `import -window root` into OUT_DIR/<size>/<panel>.png; OUT_DIR/<size>/layout.txt lists
# any widget a panel cuts off. FULL=1 also trains a small policy and runs a sweep (minutes per size).
# Needs Xvfb and ImageMagick (scripts/setup.sh installs both: xvfb, imagemagick).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-screenshots}
shift || true
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1280x720 1920x1080 2560x1440)
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
for tool in Xvfb import; do
  command -v "$tool" >/dev/null || { echo "screenshots: $tool is missing; run scripts/setup.sh (packages xvfb, imagemagick)" >&2; exit 2; }
done
for size in "${SIZES[@]}"; do
  [[ "$size" =~ ^[0-9]+x[0-9]+$ ]] || { echo "screenshots: a size is WIDTHxHEIGHT, e.g. 1280x720, not '$size'" >&2; exit 2; }
done
export MUJOCO_GL="${MUJOCO_GL:-egl}"
MODE=(--quick)
[ "${FULL:-0}" = "1" ] && MODE=()
free_display() {  # the first X display number from 99 on with no server (other sessions may hold some)
  local n
  for n in $(seq 99 199); do
    [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] || { echo ":$n"; return; }
  done
  echo "screenshots: no free X display between :99 and :199" >&2
  exit 1
}
XVFB_PID=""
trap '[ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null || true' EXIT
for size in "${SIZES[@]}"; do
  DISPLAY_NUM=${SCREENSHOT_DISPLAY:-$(free_display)}
  Xvfb "$DISPLAY_NUM" -screen 0 "${size}x24" -nolisten tcp >/dev/null 2>&1 &
  XVFB_PID=$!
  for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X${DISPLAY_NUM#:}" ] && break; sleep 0.1; done
  echo "screenshots: $size" >&2
  DISPLAY="$DISPLAY_NUM" QT_QPA_PLATFORM=xcb "$PY" scripts/screenshots.py "$OUT/$size" --size "$size" --root-grab "${MODE[@]}"
  kill "$XVFB_PID" 2>/dev/null || true
  wait "$XVFB_PID" 2>/dev/null || true
  XVFB_PID=""
  for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X${DISPLAY_NUM#:}" ] || break; sleep 0.1; done
done
