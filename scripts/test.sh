#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite, headless (Qt offscreen, MuJoCo on EGL).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export QT_QPA_PLATFORM=offscreen MUJOCO_GL="${MUJOCO_GL:-egl}"
exec .venv/bin/python -m pytest "$@"
