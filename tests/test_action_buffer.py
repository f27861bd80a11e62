"""Action buffer semantics: interpolation, latency compensation, overwrite of the future, blending."""

import numpy as np
import pytest
from runtime_fakes import HOME

from devices.control import NoSetpoint
from devices.robot import Action
from policy.runtime.buffer import ActionBuffer, BlendSettings

DT = 0.1


def chunk(x0: float, n: int = 16, step: float = 0.01, gripper: float = 0.0) -> np.ndarray:
    """Waypoints along x: x0, x0+step, ... (so a value tells which chunk and index it came from)."""
    out = np.tile(np.concatenate([HOME, [gripper]]), (n, 1))
    out[:, 0] = x0 + step * np.arange(n)
    return out


def x_at(buf: ActionBuffer, t: float) -> float:
    sp = buf.setpoint(t)
    assert isinstance(sp, Action), sp
    return float(sp.position[0])


def test_empty_then_interpolated_then_held_then_stale():
    buf = ActionBuffer(max_hold_s=0.3)
    assert buf.setpoint(0.0) == NoSetpoint("empty")
    buf.write(np.arange(4) * DT, chunk(0.40, 4), now=0.0)
    assert x_at(buf, 0.0) == pytest.approx(0.40)
    assert x_at(buf, 0.05) == pytest.approx(0.405)  # linear between waypoints
    assert x_at(buf, 0.3) == pytest.approx(0.43)
    assert x_at(buf, 0.55) == pytest.approx(0.43)  # last waypoint held for max_hold_s
    assert buf.setpoint(0.61) == NoSetpoint("stale")


def test_orientation_is_slerped_and_gripper_linear():
    buf = ActionBuffer()
    a = np.concatenate([HOME[:3], [1, 0, 0, 0], [0.0]])
    b = np.concatenate([HOME[:3], [np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)], [1.0]])  # 90° about z
    buf.write(np.array([0.0, DT]), np.stack([a, b]), now=0.0)
    sp = buf.setpoint(DT / 2)
    np.testing.assert_allclose(sp.quat, [np.cos(np.pi / 8), 0, 0, np.sin(np.pi / 8)], atol=1e-12)
    assert sp.gripper == pytest.approx(0.5)


def test_waypoints_already_due_are_dropped_and_the_future_is_overwritten():
    buf = ActionBuffer()
    buf.write(np.arange(16) * DT, chunk(0.40), now=0.0)
    # A chunk predicted from the observation at t=0.8 arrives 250 ms later, at t=1.05.
    report = buf.write(0.8 + np.arange(16) * DT, chunk(0.60), now=1.05)
    assert report.dropped == 3 and report.kept == 13 and not report.all_stale
    times, values = buf.waypoints()
    # the present is kept as an anchor: what the old chunk said at 1.05 ...
    assert times[0] == pytest.approx(1.05) and values[0, 0] == pytest.approx(0.40 + 0.105)
    # ... then only the new chunk's future (its waypoint 3 is due at 1.1), nothing of the old one
    assert times[1] == pytest.approx(1.1) and values[1, 0] == pytest.approx(0.63)
    assert np.all(values[1:, 0] >= 0.6)
    assert x_at(buf, 1.075) == pytest.approx((0.505 + 0.63) / 2)  # glides from the anchor, no jump


def test_a_waypoint_due_exactly_now_replaces_the_anchor():
    buf = ActionBuffer()
    buf.write(np.arange(16) * DT, chunk(0.40), now=0.0)
    buf.write(0.8 + np.arange(16) * DT, chunk(0.60), now=0.8)
    times, values = buf.waypoints()
    assert times[0] == pytest.approx(0.8) and values[0, 0] == pytest.approx(0.60) and len(times) == 16


def test_a_chunk_that_is_entirely_stale_keeps_its_last_waypoint_due_now():
    buf = ActionBuffer()
    report = buf.write(np.arange(4) * DT, chunk(0.40, 4), now=2.0)
    assert report.all_stale and report.kept == 1 and report.dropped == 3
    times, values = buf.waypoints()
    assert times.tolist() == [2.0] and values[0, 0] == pytest.approx(0.43)


def test_first_chunk_is_anchored_at_the_current_command():
    buf = ActionBuffer()
    current = Action(np.concatenate([[0.30], HOME[1:]]), 0.0)
    buf.write(0.1 + np.arange(4) * DT, chunk(0.40, 4), now=0.0, current=current)
    assert x_at(buf, 0.0) == pytest.approx(0.30) and x_at(buf, 0.05) == pytest.approx(0.35)


def test_crossfade_blends_the_first_k_new_waypoints_with_the_old_plan():
    buf = ActionBuffer(blend=BlendSettings("crossfade", steps=3))
    buf.write(np.arange(16) * DT, chunk(0.40, step=0.0), now=0.0)  # old plan: stay at 0.40
    buf.write(0.8 + np.arange(16) * DT, chunk(0.60, step=0.0), now=0.8)  # new plan: stay at 0.60
    _, values = buf.waypoints()
    np.testing.assert_allclose(values[:5, 0], [0.45, 0.50, 0.55, 0.60, 0.60])  # weights 1/4, 2/4, 3/4, 1
    # beyond the old plan's last waypoint (t=1.5) there is nothing to blend with
    buf2 = ActionBuffer(blend=BlendSettings("crossfade", steps=3))
    buf2.write(np.arange(2) * DT, chunk(0.40, 2, step=0.0), now=0.0)
    buf2.write(0.5 + np.arange(4) * DT, chunk(0.60, 4, step=0.0), now=0.5)
    assert np.allclose(buf2.waypoints()[1][:, 0], 0.60)


def test_temporal_ensembling_averages_every_prediction_of_an_instant():
    buf = ActionBuffer(blend=BlendSettings("ensemble", decay=0.0))  # decay 0: plain average
    for i, x in enumerate([0.40, 0.50, 0.60]):
        buf.write(i * DT + np.arange(16) * DT, chunk(x, step=0.0), now=i * DT)
    times, values = buf.waypoints()
    # the instant 0.2 s was predicted three times (0.4, 0.5, 0.6): mean 0.5
    assert times[0] == pytest.approx(0.2) and values[0, 0] == pytest.approx(0.50)
    # ACT's weights exp(-m·i) favour the older predictions when m > 0
    buf = ActionBuffer(blend=BlendSettings("ensemble", decay=1.0))
    buf.write(np.arange(16) * DT, chunk(0.40, step=0.0), now=0.0)
    buf.write(np.arange(16) * DT, chunk(0.60, step=0.0), now=0.0)
    w1 = np.exp(-1.0)
    assert buf.waypoints()[1][0, 0] == pytest.approx((0.40 + w1 * 0.60) / (1 + w1))


def test_bad_chunks_are_refused_with_one_line():
    buf = ActionBuffer()
    with pytest.raises(ValueError, match="T waypoints"):
        buf.write(np.arange(3) * DT, np.zeros((3, 7)), now=0.0)
    with pytest.raises(ValueError, match="increasing"):
        buf.write(np.array([0.0, 0.0]), chunk(0.4, 2), now=0.0)
    with pytest.raises(ValueError, match="unknown blend"):
        BlendSettings("sometimes")


def test_non_finite_waypoints_reach_the_controller_as_non_finite():
    """The buffer does not hide a broken chunk: the safety filter holds on it and counts it."""
    buf = ActionBuffer()
    c = chunk(0.40, 4)
    c[2, 0] = np.nan
    buf.write(np.arange(4) * DT, c, now=0.0)
    assert buf.setpoint(0.05).is_finite()
    assert not buf.setpoint(0.15).is_finite()


def test_a_chunk_after_a_stale_buffer_is_anchored_at_the_current_command():
    buf = ActionBuffer(max_hold_s=0.3)
    buf.write(np.arange(2) * DT, chunk(0.40, 2), now=0.0)
    assert buf.setpoint(1.0) == NoSetpoint("stale")
    current = Action(np.concatenate([[0.30], HOME[1:]]), 0.0)  # where the filter brought the arm to rest
    buf.write(1.1 + np.arange(4) * DT, chunk(0.50, 4), now=1.0, current=current)
    assert x_at(buf, 1.0) == pytest.approx(0.30) and x_at(buf, 1.05) == pytest.approx(0.40)
