"""Choose MuJoCo's off-screen OpenGL backend before mujoco is imported.

MuJoCo reads ``MUJOCO_GL`` once, at import. We respect a value the user set; otherwise we pick EGL
when libEGL is present (headless GPUs and Mesa llvmpipe alike) and OSMesa when only that exists.

PyOpenGL, which MuJoCo's EGL and OSMesa contexts call through, fixes its platform the first time
anything imports ``OpenGL``, and other packages may import it before MuJoCo makes a context; if it
has picked GLX then, every EGL call fails. So ``PYOPENGL_PLATFORM`` is set together with the backend,
whichever of the two chose it. (pyopenxr goes further and replaces the platform at import:
``devices.teleop.pyopenxr_import`` undoes that.)
"""

from __future__ import annotations

import ctypes.util
import os

BACKENDS = ("egl", "osmesa", "glfw")
INSTALL_HINT = (
    "no off-screen OpenGL backend works: install EGL with Mesa (Debian: apt-get install libegl1 "
    "libegl-mesa0 libgl1-mesa-dri, or run scripts/setup.sh) or set MUJOCO_GL=osmesa with libosmesa6"
)


class RenderBackendError(RuntimeError):
    """Off-screen rendering is impossible on this machine; the message says what to install."""


def select_backend() -> str:
    """Set MUJOCO_GL (if unset) to the first backend whose library exists; return it."""
    chosen = os.environ.get("MUJOCO_GL")
    if not chosen:
        chosen = _first_available()
        os.environ["MUJOCO_GL"] = chosen
    if chosen in ("egl", "osmesa"):
        os.environ.setdefault("PYOPENGL_PLATFORM", chosen)
    return chosen


def _first_available() -> str:
    if ctypes.util.find_library("EGL"):
        return "egl"
    if ctypes.util.find_library("OSMesa"):
        return "osmesa"
    return "egl"  # the attempt will fail with INSTALL_HINT, which names what to install
