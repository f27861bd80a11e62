#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite, headless (Qt offscreen, MuJoCo on EGL).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# LeRobot in its own environment (it pins its own torch), for the test that loads our LeRobot
# exports with LeRobot itself; built once into ~/.cache/demostation/venvs/ (about 2 min, 7 GB),
# then reused. Only the tests need it, so the GUI's set-up does not pay for it.
./scripts/lerobot_venv.sh >/dev/null
export QT_QPA_PLATFORM=offscreen MUJOCO_GL="${MUJOCO_GL:-egl}"
exec .venv/bin/python -m pytest "$@"
