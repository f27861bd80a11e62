#!/usr/bin/env bash
# Builds (or finds) the separate virtual environment with LeRobot's own LeRobotDataset that
# tests/test_export_lerobot_consumer.py loads our LeRobot exports with. LeRobot pins torch<2.11 and
# would pull a CUDA torch of several GB; PyPI's torchvision does not import beside the CPU torch
# file on disk, and torchvision 0.25+ has no VideoReader (which the pyav backend needs), so the
# environment takes torch 2.9.1 + torchvision 0.24.1 and lerobot itself without its deps, plus the packages that
# lerobot.datasets imports. Its video decoding uses the pyav backend (no torchcodec).
# Prints the venv's python on stdout. Safe to run again: a finished venv is reused as it is.
set -euo pipefail
LEROBOT_VERSION=0.4.4
VENV=${DEMOSTATION_LEROBOT_VENV:-"$HOME/.cache/demostation/venvs/lerobot-$LEROBOT_VERSION"}
PY=${PYTHON:-python3}
if [ -f "$VENV/.complete" ]; then echo "$VENV/bin/python"; exit 0; fi
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
LOG="$VENV.log"
: >"$LOG"
{
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q torch==2.9.1 torchvision==0.24.1
  "$VENV/bin/python" -m pip install -q --no-deps "lerobot==$LEROBOT_VERSION"
  # What lerobot.datasets imports (lerobot's own ranges), without torch/torchvision/torchcodec.
  "$VENV/bin/python" -m pip install -q "datasets>=4.0.0,<5.0.0" "huggingface-hub>=0.34.2,<0.36.0" \
    "av>=15.0.0,<16.0.0" "jsonlines>=4.0.0,<5.0.0" "packaging>=24.2,<26.0" "draccus==0.10.0" \
    "einops>=0.8.0,<0.9.0" "termcolor>=2.4.0,<4.0.0" "deepdiff>=7.0.1,<9.0.0" "accelerate>=1.10.0,<2.0.0" pandas pyarrow pillow
  "$VENV/bin/python" -c "from lerobot.datasets.lerobot_dataset import LeRobotDataset"
} >>"$LOG" 2>&1 || { echo "lerobot venv: failed (last lines of $LOG follow)" >&2; tail -n 30 "$LOG" >&2; exit 1; }
touch "$VENV/.complete"
echo "$VENV/bin/python"
