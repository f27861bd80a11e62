"""Test-wide set-up: headless Qt and MuJoCo, and no test touches a user's real settings."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MUJOCO_GL", "egl")

import pytest  # noqa: E402

from devices.sim.gl import select_backend  # noqa: E402

# Before any test module is collected: some import OpenGL through other packages (pyopenxr), and
# PyOpenGL's platform must already say EGL then, as the station's own import would make it.
select_backend()


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory, monkeypatch):
    """Point every settings store (QSettings, XDG config) at a temporary folder."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("DEMOSTATION_CONFIG_DIR", str(home / "demostation"))
    yield


@pytest.fixture
def torch_one_thread():
    """Run torch on one thread for the test, then restore the count: the tiny test models run no slower,
    and the tests leave the machine's other cores alone.

    Modules that train or run a policy use it with ``pytestmark = pytest.mark.usefixtures("torch_one_thread")``;
    torch is imported here only when such a test runs.
    """
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def expert_rollout():
    """Run a task's scripted expert on a camera-less station: ``expert_rollout(task, seed, max_s=None, **knobs)``
    steps at 10 Hz until the episode is done (or ``max_s`` sim seconds) and returns (status, expert, station)."""
    import numpy as np

    from devices.sim.experts import ExpertKnobs
    from devices.sim.station import make_station

    def rollout(task: str, seed: int, max_s: float | None = None, **knobs):
        st = make_station(task, cameras=())
        st.connect()
        st.reset(seed)
        ex = st.task.make_expert(st, ExpertKnobs(**knobs), np.random.default_rng(seed))
        while True:
            st.send_action(ex.act())
            st.step(0.1)
            status = st.status()
            if status.done or (max_s is not None and st.time >= max_s):
                return status, ex, st

    return rollout
