#!/usr/bin/env bash
# Sets up everything Demo Station needs on a fresh Debian machine: system packages (EGL for
# off-screen rendering, libusb/hidraw for input devices, Xvfb and ImageMagick for screenshots),
# a virtual environment in .venv, the CPU build of torch and the project with its dev and ray extras.
# (The test suite's side environment for LeRobot is built by scripts/test.sh, not here.)
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(
  libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri libopengl0 libgles2   # MuJoCo off-screen (EGL, llvmpipe)
  libusb-1.0-0 libhidapi-hidraw0 libhidapi-libusb0                  # SpaceMouse and other HID devices
  libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1   # Qt's xcb platform
  libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libdbus-1-3
  libfontconfig1 libglib2.0-0
  xvfb xauth imagemagick                                             # GUI under a virtual screen
  chromium                                                           # tests: our MP4s play in a browser
)

if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for p in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "setup: installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# Quiet unless something is wrong: each step's output goes to .venv/setup.log, and is shown (its
# last lines) only when the step fails.
quietly() {
  if ! "$@" >>.venv/setup.log 2>&1; then
    echo "setup: failed: $*  (last lines of .venv/setup.log follow)" >&2
    tail -n 40 .venv/setup.log >&2
    exit 1
  fi
}

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
: >.venv/setup.log
quietly .venv/bin/python -m pip install -q --upgrade pip
# The CPU build of torch; on a CUDA machine install the matching CUDA build instead.
.venv/bin/python -c "import torch" 2>/dev/null || quietly .venv/bin/python -m pip install -q torch==2.13.0
quietly .venv/bin/python -m pip install -q -e ".[dev,ray]"
echo "setup: ready (.venv)"
