"""push_t: exact coverage, seeded resets, the pushing model, and the scripted expert."""

from __future__ import annotations

import math
import os

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from devices.sim.station import make_station  # noqa: E402
from devices.sim.tasks import task_names  # noqa: E402
from devices.sim.tasks.push_t import (  # noqa: E402
    BAR_SIZE,
    MAX_START_COVERAGE,
    MIN_START_DISTANCE,
    STEM_SIZE,
    SUCCESS_COVERAGE,
    PushPlanner,
    coverage,
    polygon_area,
    t_area,
    t_outline,
    t_polygons,
)


def raster_coverage(block: np.ndarray, goal: np.ndarray, n: int = 600) -> float:
    """Independent reference: sample the goal's bounding box on a grid, test both Ts pointwise."""
    def inside(pose, pts):
        local = (pts - pose[:2]) @ np.array([[math.cos(pose[2]), -math.sin(pose[2])],
                                             [math.sin(pose[2]), math.cos(pose[2])]])
        hit = np.zeros(len(pts), bool)
        for poly in t_polygons(np.array([0.0, 0.0, 0.0])):
            lo, hi = poly.min(0), poly.max(0)
            hit |= np.all((local >= lo) & (local <= hi), axis=1)
        return hit

    corners = np.concatenate(t_polygons(goal))
    lo, hi = corners.min(0), corners.max(0)
    xs = np.linspace(lo[0], hi[0], n)
    ys = np.linspace(lo[1], hi[1], n)
    pts = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    g = inside(goal, pts)
    return float(np.sum(g & inside(block, pts)) / np.sum(g))


def test_registered():
    assert "push_t" in task_names()


def test_coverage_known_poses():
    goal = np.array([0.5, 0.0, 0.7])
    assert coverage(goal, goal) == pytest.approx(1.0)
    assert coverage(goal + [0.5, 0.0, 0.0], goal) == 0.0
    # Shift along the bar by d: the bar keeps (w - d) * h, the stem (w_s - d) * h_s.
    for d in (0.01, 0.03, 0.06):
        expected = ((BAR_SIZE[0] - d) * BAR_SIZE[1] + max(0.0, STEM_SIZE[0] - d) * STEM_SIZE[1]) / t_area()
        assert coverage(np.array([d, 0.0, 0.0]), np.zeros(3)) == pytest.approx(expected, abs=1e-12)
    # The same shift expressed in a rotated goal frame gives the same value.
    yaw = 1.1
    shifted = np.array([0.3 + 0.01 * math.cos(yaw), 0.01 * math.sin(yaw), yaw])
    assert coverage(shifted, np.array([0.3, 0.0, yaw])) == pytest.approx(
        ((BAR_SIZE[0] - 0.01) * BAR_SIZE[1] + (STEM_SIZE[0] - 0.01) * STEM_SIZE[1]) / t_area())
    # Upside down about the centre of mass: still partly overlapping, never more than 1.
    assert 0.0 < coverage(np.array([0.0, 0.0, math.pi]), np.zeros(3)) < 0.6


def test_coverage_matches_rasterization():
    rng = np.random.default_rng(3)
    goal = np.array([0.5, 0.0, math.pi / 4])
    for _ in range(6):
        block = goal + np.array([*rng.normal(0, 0.04, 2), rng.normal(0, 0.6)])
        assert coverage(block, goal) == pytest.approx(raster_coverage(block, goal), abs=0.01)


def test_outline_is_the_t():
    assert polygon_area(t_outline()) == pytest.approx(t_area())
    assert polygon_area(t_outline(1.3)) == pytest.approx(t_area(1.3))


def test_reset_is_seeded_and_away_from_the_goal():
    st = make_station("push_t", cameras=())
    st.connect()
    poses = {}
    for seed in (0, 1, 0, 7):
        st.reset(seed)
        s = st.task_state()
        assert {"block_pos", "block_quat", "block_yaw", "goal_pose"} <= s.keys()
        assert np.linalg.norm(s["block_pose"][:2] - s["goal_pose"][:2]) >= MIN_START_DISTANCE - 0.005
        assert st.status().score <= MAX_START_COVERAGE + 0.02 and not st.status().done
        if seed in poses:
            np.testing.assert_allclose(s["block_pose"], poses[seed], atol=1e-9)
        poses[seed] = s["block_pose"]
    assert not np.allclose(poses[0], poses[1])


def test_time_limit():
    st = make_station("push_t", cameras=())
    st.connect()
    st.reset(0)
    st.task.time_limit_s = 2.0  # this episode only: a reset restores the task's defaults
    st.step(2.1)
    s = st.status()
    assert s.timed_out and s.done and not s.success


def test_model_translates_through_the_centre_of_mass():
    planner = PushPlanner()
    # The stem's bottom edge, mid-way: pushing there goes through the centre of mass.
    i = int(np.argmin(np.linalg.norm(planner.contacts - [0.0, t_outline()[3, 1]], axis=1)))
    pose = np.array([0.5, 0.0, 0.0])
    after = planner.predict(pose, np.array([i]), np.array([0.02]))[0, 0]
    np.testing.assert_allclose(after, [0.5, 0.02, 0.0], atol=1e-6)
    # Pushing the bar's tip turns the block.
    j = int(np.argmin(np.linalg.norm(planner.contacts - t_outline()[7] + [0.01, 0.0], axis=1)))
    turned = planner.predict(pose, np.array([j]), np.array([0.02]))[0, 0]
    assert abs(turned[2]) > 0.05


def test_expert_succeeds(expert_rollout):
    wins = 0
    for seed in range(5):
        status, _, st = expert_rollout("push_t", seed)
        wins += status.success
        if status.success:
            assert status.score >= SUCCESS_COVERAGE and st.time < st.task.time_limit_s
    assert wins >= 4


def test_mistake_is_logged_then_recovered(expert_rollout):
    status, ex, _ = expert_rollout("push_t", 11, mistake_prob=1.0)
    kinds = [e.kind for e in ex.events]
    assert "mistake" in kinds and "recovery" in kinds
    m = next(e for e in ex.events if e.kind == "mistake")
    r = next(e for e in ex.events if e.kind == "recovery")
    assert m.start < m.end <= r.start + 1e-9 and r.end > r.start
    assert status.success


def test_pauses_are_logged(expert_rollout):
    _, ex, _ = expert_rollout("push_t", 2, max_s=6.0, pause_prob=1.0)
    pauses = [e for e in ex.events if e.kind == "pause"]
    assert pauses and pauses[0].label == "start"
    assert all(1.5 <= p.end - p.start <= 3.0 for p in pauses)


def test_size_perturbation_scales_block_and_goal():
    sizes = {}
    for severity in (0.0, 1.0):
        st = make_station("push_t", cameras=(), perturbations={"object_size": severity})
        st.connect()
        st.reset(4)
        m = st.model
        bar = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "block_bar")
        goal_bar = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "goal_bar")
        sizes[severity] = (m.geom_size[bar].copy(), m.geom_size[goal_bar][:2].copy(), st.task.object_scale)
    (b0, g0, s0), (b1, g1, s1) = sizes[0.0], sizes[1.0]
    assert s0 == 1.0 and s1 in (0.7, 1.3)
    np.testing.assert_allclose(b1, b0 * s1, rtol=1e-3)
    np.testing.assert_allclose(g1, g0 * s1, rtol=1e-3)
