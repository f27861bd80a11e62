import pytest

from devices.sim.station import make_station


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_expert_succeeds(seed, expert_rollout):
    status, _, st = expert_rollout("pick_place", seed=seed)
    assert status.success and status.score == 1.0
    assert st.time < st.task.time_limit_s


def test_mistake_is_logged_and_recovered(expert_rollout):
    status, ex, _ = expert_rollout("pick_place", seed=5, mistake_prob=1.0)
    kinds = [e.kind for e in ex.events]
    assert "mistake" in kinds and "recovery" in kinds
    m = next(e for e in ex.events if e.kind == "mistake")
    r = next(e for e in ex.events if e.kind == "recovery")
    assert m.end <= r.start + 1e-9 and r.end > r.start
    assert status.success


def test_pauses_are_logged_with_their_spans(expert_rollout):
    status, ex, _ = expert_rollout("pick_place", seed=6, pause_prob=0.5)
    pauses = [e for e in ex.events if e.kind == "pause"]
    assert pauses, "with pause_prob=0.5 over ~8 goals some pauses happen"
    for p in pauses:
        assert 1.5 <= p.end - p.start <= 3.0
    assert status.success


def test_noisy_expert_still_mostly_succeeds(expert_rollout):
    wins = sum(expert_rollout("pick_place", seed=s, noise=0.004)[0].success for s in range(4))
    assert wins >= 3


def test_time_limit_ends_an_idle_episode():
    st = make_station("pick_place", cameras=())
    st.connect()
    st.reset(0)
    st.step(st.task.time_limit_s + 0.1)
    s = st.status()
    assert s.timed_out and not s.success and s.done
