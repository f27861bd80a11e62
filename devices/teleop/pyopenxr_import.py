"""Import pyopenxr without taking PyOpenGL's platform from the renderer.

pyopenxr's Linux module (``xr/platform/linux.py``) replaces PyOpenGL's platform with GLX when it is
imported, for the OpenGL graphics bindings it offers. Demo Station opens OpenXR headless
(``XR_MND_headless``, no graphics binding), while MuJoCo renders the station's cameras through
PyOpenGL on EGL or OSMesa in the same process: once the platform is GLX, every camera stops
rendering ("Cannot initialize a EGL device display"). So the platform PyOpenGL chose is put back
after the import.
"""

from __future__ import annotations

from types import ModuleType


def import_pyopenxr() -> ModuleType:
    """``import xr``, leaving PyOpenGL's platform as it was (ImportError when pyopenxr is absent)."""
    try:
        import OpenGL.platform as gl_platform  # chooses from PYOPENGL_PLATFORM, as it would have
    except ImportError:
        gl_platform = None
    chosen = gl_platform.PLATFORM if gl_platform is not None else None
    import xr

    if gl_platform is not None and gl_platform.PLATFORM is not chosen:
        gl_platform.PLATFORM = chosen
    return xr
