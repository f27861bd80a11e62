import numpy as np
import pytest

from devices.sim.experts import ExpertKnobs
from devices.sim.station import make_station


def rollout(task="pick_place", seed=0, **knobs):
    st = make_station(task, cameras=())
    st.connect()
    st.reset(seed)
    ex = st.task.make_expert(st, ExpertKnobs(**knobs), np.random.default_rng(seed))
    while True:
        st.send_action(ex.act())
        st.step(0.1)
        status = st.status()
        if status.done:
            return status, ex, st


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_expert_succeeds(seed):
    status, _, st = rollout(seed=seed)
    assert status.success and status.score == 1.0
    assert st.time < st.task.time_limit_s


def test_mistake_is_logged_and_recovered():
    status, ex, _ = rollout(seed=5, mistake_prob=1.0)
    kinds = [e.kind for e in ex.events]
    assert "mistake" in kinds and "recovery" in kinds
    m = next(e for e in ex.events if e.kind == "mistake")
    r = next(e for e in ex.events if e.kind == "recovery")
    assert m.end <= r.start + 1e-9 and r.end > r.start
    assert status.success


def test_pauses_are_logged_with_their_spans():
    status, ex, _ = rollout(seed=6, pause_prob=0.5)
    pauses = [e for e in ex.events if e.kind == "pause"]
    assert pauses, "with pause_prob=0.5 over ~8 goals some pauses happen"
    for p in pauses:
        assert 1.5 <= p.end - p.start <= 3.0
    assert status.success


def test_noisy_expert_still_mostly_succeeds():
    wins = sum(rollout(seed=s, noise=0.004)[0].success for s in range(4))
    assert wins >= 3


def test_time_limit_ends_an_idle_episode():
    st = make_station("pick_place", cameras=())
    st.connect()
    st.reset(0)
    st.step(st.task.time_limit_s + 0.1)
    s = st.status()
    assert s.timed_out and not s.success and s.done
