"""The off-screen backend choice (devices/sim/gl.py) fixes PyOpenGL's platform as well as MuJoCo's."""

from __future__ import annotations

import os
import subprocess
import sys

from devices.sim import gl


def test_a_backend_the_user_chose_also_sets_pyopengl_platform(monkeypatch):
    monkeypatch.setenv("MUJOCO_GL", "egl")
    monkeypatch.delenv("PYOPENGL_PLATFORM", raising=False)
    assert gl.select_backend() == "egl"
    assert os.environ["PYOPENGL_PLATFORM"] == "egl"


def test_a_platform_the_user_chose_is_kept(monkeypatch):
    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    monkeypatch.setenv("PYOPENGL_PLATFORM", "osmesa")
    assert gl.select_backend() == "osmesa"
    assert os.environ["PYOPENGL_PLATFORM"] == "osmesa"


def test_the_station_renders_after_pyopenxr_was_imported():
    """pyopenxr's import switches PyOpenGL to GLX (xr/platform/linux.py); a VR device opened before
    the station must not stop its cameras."""
    env = {k: v for k, v in os.environ.items() if k != "PYOPENGL_PLATFORM"}
    env["MUJOCO_GL"] = "egl"
    code = (
        "from devices.sim.gl import select_backend; select_backend()\n"
        "from devices.teleop.pyopenxr_import import import_pyopenxr; import_pyopenxr()\n"
        "from devices.sim.station import make_station\n"
        "s = make_station('pick_place', image_size=32, cameras=('scene',)); s.connect(); s.reset(seed=0)\n"
        "print(s.render('scene').shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "(32, 32, 3)" in out.stdout
