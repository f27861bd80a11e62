"""push_t: push a T-shaped block onto a T outline on the table (the Diffusion Policy Push-T task).

The block is one free body made of two boxes (a top bar and a stem) lying flat on the table; the
goal is a visual-only T marker. The score is the fraction of the goal's area the block covers,
computed exactly in the plane (each T is the union of two rectangles with disjoint interiors, so
the overlap is the sum of four convex-polygon intersections). Success is coverage >= 0.95, the
Push-T benchmark's threshold, which here means a few millimetres and about a degree.

The scripted expert closes its gripper so the fingertips become a small square pusher and plays
repeated short strokes, each chosen by a quasi-static pushing model (ellipsoidal limit surface,
sticking point contact) and re-planned from the measured block pose after every stroke.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Iterator

import numpy as np

from devices.geometry import quat_yaw, wrap_angle, yaw_quat
from devices.sim.scene import SceneSpec
from devices.sim.tasks.base import Task, TaskStatus, register_task

if TYPE_CHECKING:
    import mujoco

    from devices.sim.experts import ExpertKnobs
    from devices.sim.station import SimStation

# T geometry at scale 1 (metres). The bar lies along the body x axis, the stem hangs along -y.
BAR_SIZE = (0.20, 0.05)
STEM_SIZE = (0.05, 0.15)
BLOCK_HEIGHT = 0.03
BLOCK_MASS = 0.1  # kg; light and with table friction 1, so the block stops as soon as the pusher does
SUCCESS_COVERAGE = 0.95
GOAL_POSE = (0.5, 0.0, math.pi / 4)  # x, y, yaw: the table centre, turned like Push-T's goal
MIN_START_DISTANCE = 0.12  # m between the block's and the goal's centres of mass at reset
MAX_START_COVERAGE = 0.2
START_REGION = ((0.34, 0.66), (-0.2, 0.2))  # x and y ranges for the block's centre of mass
MAX_TILT_COS = math.cos(math.radians(15))  # a block tilted more than this is not lying flat: score 0


def t_rectangles(scale: float = 1.0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(centre, half size) of the bar and the stem in the block frame, whose origin is the centre of mass.

    Putting the origin at the centre of mass makes the reported block position the point pushes
    translate and the point the block turns about when pushed through it.
    """
    bw, bh = BAR_SIZE
    sw, sh = STEM_SIZE
    bar_c = np.array([0.0, 0.0])
    stem_c = np.array([0.0, -(bh + sh) / 2])
    a_bar, a_stem = bw * bh, sw * sh
    com = (a_bar * bar_c + a_stem * stem_c) / (a_bar + a_stem)
    return [((bar_c - com) * scale, np.array([bw, bh]) / 2 * scale),
            ((stem_c - com) * scale, np.array([sw, sh]) / 2 * scale)]


def t_area(scale: float = 1.0) -> float:
    return (BAR_SIZE[0] * BAR_SIZE[1] + STEM_SIZE[0] * STEM_SIZE[1]) * scale ** 2


def t_outline(scale: float = 1.0) -> np.ndarray:
    """The T's eight outline vertices in the block frame, counter-clockwise."""
    (bc, bh), (sc, sh) = t_rectangles(scale)
    top, bottom = bc[1] + bh[1], bc[1] - bh[1]
    return np.array([
        [bc[0] - bh[0], top], [bc[0] - bh[0], bottom], [sc[0] - sh[0], bottom], [sc[0] - sh[0], sc[1] - sh[1]],
        [sc[0] + sh[0], sc[1] - sh[1]], [sc[0] + sh[0], bottom], [bc[0] + bh[0], bottom], [bc[0] + bh[0], top],
    ])


def _rot(yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, -s], [s, c]])


def t_polygons(pose: np.ndarray, scale: float = 1.0) -> list[np.ndarray]:
    """World corners (4×2, counter-clockwise) of the two rectangles of a T at pose (x, y, yaw)."""
    r = _rot(float(pose[2]))
    signs = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=float)
    return [(c + signs * h) @ r.T + np.asarray(pose[:2], dtype=float) for c, h in t_rectangles(scale)]


def polygon_area(poly: np.ndarray) -> float:
    """Shoelace area of a simple polygon (positive when counter-clockwise)."""
    if len(poly) < 3:
        return 0.0
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def clip_convex(subject: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Sutherland–Hodgman: the part of convex polygon ``subject`` inside convex CCW polygon ``clip``."""
    out = list(subject)
    n = len(clip)
    for i in range(n):
        if not out:
            break
        a, b = clip[i], clip[(i + 1) % n]
        ex, ey = b[0] - a[0], b[1] - a[1]
        inp, out = out, []
        for j in range(len(inp)):
            p, q = inp[j - 1], inp[j]
            sp = ex * (p[1] - a[1]) - ey * (p[0] - a[0])
            sq = ex * (q[1] - a[1]) - ey * (q[0] - a[0])
            if sq >= 0:
                if sp < 0:
                    out.append(p + (q - p) * (sp / (sp - sq)))
                out.append(q)
            elif sp >= 0:
                out.append(p + (q - p) * (sp / (sp - sq)))
    return np.array(out) if out else np.zeros((0, 2))


def coverage(block_pose: np.ndarray, goal_pose: np.ndarray, scale: float = 1.0) -> float:
    """Fraction of the goal T's area covered by the block T (both at ``scale``), exact.

    Each T is two rectangles with disjoint interiors, so the overlap area is the sum of the four
    rectangle-rectangle intersections, each a convex clip. About 0.1 ms: cheap at 10 Hz.
    """
    blocks = t_polygons(block_pose, scale)
    goals = t_polygons(goal_pose, scale)
    inter = sum(polygon_area(clip_convex(b, g)) for b in blocks for g in goals)
    return float(np.clip(inter / t_area(scale), 0.0, 1.0))


@register_task("push_t")
@dataclass
class PushTTask(Task):
    """Push the T block onto the green T outline; score is the covered fraction of the outline.

    The goal scales with the block (``object_scale``), so under the size perturbation the task is
    still "put the T on its own footprint" and 0.95 coverage means the same precision.
    """

    time_limit_s: float = 60.0
    object_rgba: tuple[float, float, float, float] = (0.35, 0.45, 0.75, 1.0)
    goal_rgba: tuple[float, float, float, float] = (0.15, 0.75, 0.25, 0.45)
    goal_pose: tuple[float, float, float] = GOAL_POSE
    randomize_goal: bool = False  # seeded goal pose instead of the fixed one

    def scene_spec(self, rng: np.random.Generator) -> SceneSpec:
        h = BLOCK_HEIGHT * self.object_scale / 2
        c = " ".join(f"{v:.3f}" for v in self.object_rgba)
        g = " ".join(f"{v:.3f}" for v in self.goal_rgba)
        rects = t_rectangles(self.object_scale)
        area = sum(4 * hs[0] * hs[1] for _, hs in rects)
        block_geoms = "".join(
            f'<geom name="block_{n}" type="box" pos="{ctr[0]:.5f} {ctr[1]:.5f} 0" size="{hs[0]:.5f} {hs[1]:.5f} {h:.5f}" '
            f'mass="{BLOCK_MASS * 4 * hs[0] * hs[1] / area:.5f}" rgba="{c}"/>'
            for n, (ctr, hs) in zip(("bar", "stem"), rects, strict=True))
        goal_geoms = "".join(
            f'<geom name="goal_{n}" type="box" pos="{ctr[0]:.5f} {ctr[1]:.5f} 0.0008" size="{hs[0]:.5f} {hs[1]:.5f} 0.0005" '
            f'rgba="{g}" contype="0" conaffinity="0"/>'
            for n, (ctr, hs) in zip(("bar", "stem"), rects, strict=True))
        gx, gy, gyaw = self.goal_pose
        objects = f"""
    <body name="goal" pos="{gx:.4f} {gy:.4f} 0" quat="{math.cos(gyaw / 2):.6f} 0 0 {math.sin(gyaw / 2):.6f}">
      {goal_geoms}
    </body>
    <body name="block" pos="0.5 0 {h:.5f}">
      <freejoint name="block"/>
      {block_geoms}
    </body>"""
        return SceneSpec(objects_xml=objects)

    def _sample_goal(self, rng: np.random.Generator) -> np.ndarray:
        if not self.randomize_goal:
            return np.array(self.goal_pose, dtype=float)
        return np.array([rng.uniform(0.42, 0.58), rng.uniform(-0.1, 0.1), rng.uniform(-np.pi, np.pi)])

    def randomize(self, model: "mujoco.MjModel", data: "mujoco.MjData", rng: np.random.Generator) -> None:
        import mujoco

        goal = self._sample_goal(rng)
        gid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "goal")
        model.body_pos[gid] = [goal[0], goal[1], 0.0]
        model.body_quat[gid] = yaw_quat(goal[2])
        (xlo, xhi), (ylo, yhi) = START_REGION
        for _ in range(1000):  # rejection sampling: away from the goal, barely overlapping it
            pose = np.array([rng.uniform(xlo, xhi), rng.uniform(ylo, yhi), rng.uniform(-np.pi, np.pi)])
            if (np.linalg.norm(pose[:2] - goal[:2]) >= MIN_START_DISTANCE
                    and coverage(pose, goal, self.object_scale) <= MAX_START_COVERAGE):
                break
        jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, "block")
        adr = model.jnt_qposadr[jid]
        data.qpos[adr:adr + 3] = [pose[0], pose[1], BLOCK_HEIGHT * self.object_scale / 2 + 0.001]
        data.qpos[adr + 3:adr + 7] = yaw_quat(pose[2])

    def object_state(self, model: "mujoco.MjModel", data: "mujoco.MjData") -> dict[str, np.ndarray]:
        import mujoco

        block = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "block")
        goal = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "goal")
        bpos, bquat = data.xpos[block].copy(), data.xquat[block].copy()
        gpos, gquat = data.xpos[goal].copy(), data.xquat[goal].copy()
        byaw, gyaw = quat_yaw(bquat), quat_yaw(gquat)
        return {
            "block_pos": bpos, "block_quat": bquat, "block_yaw": np.array([byaw]),
            "block_pose": np.array([bpos[0], bpos[1], byaw]),
            "block_upright": np.array([float(data.xmat[block][8])]),  # cos of the tilt from lying flat
            "goal_pos": gpos, "goal_quat": gquat, "goal_yaw": np.array([gyaw]),
            "goal_pose": np.array([gpos[0], gpos[1], gyaw]),
        }

    def coverage_of(self, state: dict[str, np.ndarray]) -> float:
        """Coverage of the goal in an `object_state`; 0 when the block is not lying flat."""
        if float(state["block_upright"][0]) < MAX_TILT_COS:
            return 0.0
        return coverage(state["block_pose"], state["goal_pose"], self.object_scale)

    def evaluate(self, model: "mujoco.MjModel", data: "mujoco.MjData", elapsed_s: float) -> TaskStatus:
        cov = self.coverage_of(self.object_state(model, data))
        success = cov >= SUCCESS_COVERAGE
        return TaskStatus(score=cov, success=success, timed_out=(not success and elapsed_s >= self.time_limit_s))

    def make_expert(self, station: "SimStation", knobs: "ExpertKnobs", rng: np.random.Generator) -> "PushTExpert":
        return PushTExpert(station, knobs, rng)


# -- the pushing model ---------------------------------------------------------------------------------

PUSHER_HALF = 0.012  # the closed fingertips form a 24 mm square around the tool point
# The expert turns the square 45° to the push, so a corner leads: a point contact, which the
# quasi-static model below predicts well (a flat face would add an unmodelled contact torque).
PUSHER_RADIUS = PUSHER_HALF * math.sqrt(2)
PUSH_Z = 0.008  # tool point height while pushing: fingertips just above the table
STANDOFF = 0.008  # gap between pusher and block before a stroke starts
# Ratio of the block's maximum friction torque to its maximum friction force (metres) in the
# ellipsoidal limit-surface model; fitted to pushes in this simulator (MuJoCo supports the
# boxes at their corners, so it is larger than the uniform-pressure value of about 0.07 m).
LIMIT_SURFACE_C = 0.075
PUSH_FRICTION = 1.0  # pusher-block friction the model assumes (the simulator's is 1.5): conservative
PRESS_DEFLECTION = 0.0015  # the impedance hand stops short by friction force / stiffness: push this much further
STROKE_LENGTHS = np.array([0.0015, 0.003, 0.005, 0.008, 0.012, 0.018, 0.026, 0.036, 0.05])


def _rotate(v: np.ndarray, yaw: np.ndarray | float) -> np.ndarray:
    """Rotate 2-D vectors (..., 2) by yaw (broadcast)."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]], axis=-1)


@dataclass(frozen=True)
class Stroke:
    """One push: a contact on the block's outline, how far to push there, what the model expects."""

    index: int  # into the planner's contact list
    rb: np.ndarray  # contact point, block frame
    nb: np.ndarray  # outward normal at the contact, block frame
    length: float  # how far the contact point is to travel (m)
    predicted: np.ndarray  # block pose (x, y, yaw) after the stroke, by the model
    gain: float  # predicted decrease of the pose error
    continues: bool = False  # the pusher already touches this contact: no approach needed


@dataclass
class PushPlanner:
    """Greedy model-predictive stroke choice for pushing a T with a point pusher.

    Each candidate is a point on the T's outline pushed along the inward normal. A quasi-static
    model (ellipsoidal limit surface, sticking contact; Lynch & Mason) predicts where the block
    ends up for several stroke lengths; the stroke with the best predicted error decrease per
    second (approach time included) wins. Short strokes and re-planning from the measured pose
    absorb the model's errors, which is what makes millimetre precision reachable.
    """

    scale: float = 1.0
    workspace_low: tuple[float, float] = (0.15, -0.38)
    workspace_high: tuple[float, float] = (0.85, 0.38)
    travel_speed: float = 0.25
    spacing: float = 0.004
    contacts: np.ndarray = field(init=False)
    normals: np.ndarray = field(init=False)
    edges: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.outline = t_outline(self.scale)
        self.c = LIMIT_SURFACE_C * self.scale
        rects = t_rectangles(self.scale)
        area = t_area(self.scale)
        # Mean squared distance of the block's area from its centre of mass: the error metric
        # below is the mean squared displacement of the block's points.
        self.rho2 = sum(4 * h[0] * h[1] * ((h[0] ** 2 + h[1] ** 2) / 3 + c @ c) for c, h in rects) / area
        concave = {2, 5}  # outline vertices where the bar meets the stem
        pts, nrm, edg = [], [], []
        n = len(self.outline)
        for i in range(n):
            a, b = self.outline[i], self.outline[(i + 1) % n]
            length = float(np.linalg.norm(b - a))
            t = (b - a) / length
            normal = np.array([t[1], -t[0]])  # outward for a counter-clockwise outline
            m_a = PUSHER_RADIUS + 0.004 if i in concave else 0.006
            m_b = PUSHER_RADIUS + 0.004 if (i + 1) % n in concave else 0.006
            # An odd number of samples centred on the usable span: symmetric, midpoint included.
            usable = length - m_a - m_b
            k = 2 * int(usable / (2 * self.spacing))
            for s in m_a + (usable - k * self.spacing) / 2 + np.arange(k + 1) * self.spacing:
                pts.append(a + t * s)
                nrm.append(normal)
                edg.append(i)
        self.contacts, self.normals, self.edges = np.array(pts), np.array(nrm), np.array(edg)

    # -- geometry -----------------------------------------------------------------------------------
    def error(self, pose: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """Mean squared displacement (m²) of the block's points between pose and goal."""
        pose = np.asarray(pose)
        d = pose[..., :2] - goal[:2]
        return np.sum(d * d, axis=-1) + 2 * self.rho2 * (1 - np.cos(pose[..., 2] - goal[2]))

    def world_contact(self, pose: np.ndarray, index: int) -> tuple[np.ndarray, np.ndarray]:
        """World contact point and outward normal of contact ``index`` with the block at pose."""
        return (pose[:2] + _rotate(self.contacts[index], pose[2]), _rotate(self.normals[index], pose[2]))

    def distance_to_block(self, pose: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Distance (m) from world points (M, 2) to the T at pose; 0 inside."""
        local = _rotate(np.asarray(points, dtype=float) - pose[:2], -pose[2])
        out = np.full(len(local), np.inf)
        for c, h in t_rectangles(self.scale):
            q = np.abs(local - c) - h
            out = np.minimum(out, np.linalg.norm(np.maximum(q, 0.0), axis=-1))
        return out

    def path_clear(self, pose: np.ndarray, a: np.ndarray, b: np.ndarray, margin: float = 0.004) -> bool:
        """Whether the pusher can travel from a to b at pushing height without touching the block."""
        steps = max(2, int(np.linalg.norm(b - a) / 0.003) + 1)
        pts = a + np.linspace(0.0, 1.0, steps)[:, None] * (b - a)
        return bool(np.all(self.distance_to_block(pose, pts) >= PUSHER_RADIUS + margin))

    def start_points(self, pose: np.ndarray) -> np.ndarray:
        """Pusher positions before each candidate stroke (standing off the outline)."""
        return pose[:2] + _rotate(self.contacts + self.normals * (PUSHER_RADIUS + STANDOFF), pose[2])

    def feasible(self, pose: np.ndarray) -> np.ndarray:
        """Candidates whose start point is inside the workspace and clear of the block."""
        starts = self.start_points(pose)
        inside = np.all((starts >= np.array(self.workspace_low) + 0.005)
                        & (starts <= np.array(self.workspace_high) - 0.005), axis=1)
        clear = self.distance_to_block(pose, starts) >= PUSHER_RADIUS + 0.003
        return inside & clear

    # -- the model ------------------------------------------------------------------------------------
    def predict(self, pose: np.ndarray, index: np.ndarray, lengths: np.ndarray, step: float = 0.002) -> np.ndarray:
        """Block poses (N, K, 3) after pushing contacts ``index`` (N,) by each of ``lengths`` (K,, ascending).

        Quasi-static pushing with an ellipsoidal limit surface: a force f at r moves the block with
        twist (f, (r × f) / c²). With a sticking contact the contact point moves with the pusher,
        which fixes f; outside the friction cone f is clipped to the cone's edge (sliding).
        """
        rb, nb = self.contacts[index], self.normals[index]
        n = len(rb)
        p = np.tile(np.asarray(pose[:2], dtype=float), (n, 1))
        th = np.full(n, float(pose[2]))
        u = -_rotate(nb, pose[2])  # the pusher's direction, fixed in the world
        ic = 1.0 / self.c ** 2
        out = np.zeros((n, len(lengths), 3))
        done, k = 0.0, 0
        while k < len(lengths):
            while k < len(lengths) and lengths[k] <= done + 1e-12:
                out[:, k, :2], out[:, k, 2] = p, th
                k += 1
            if k >= len(lengths):
                break
            h = min(step, lengths[k] - done)
            r = _rotate(rb, th)
            nin = -_rotate(nb, th)
            a, b, d = 1 + ic * r[:, 1] ** 2, -ic * r[:, 0] * r[:, 1], 1 + ic * r[:, 0] ** 2
            det = a * d - b * b
            fx, fy = (d * u[:, 0] - b * u[:, 1]) / det, (-b * u[:, 0] + a * u[:, 1]) / det
            fn = fx * nin[:, 0] + fy * nin[:, 1]
            ft = -fx * nin[:, 1] + fy * nin[:, 0]
            ft = np.where(np.abs(ft) > PUSH_FRICTION * fn, np.sign(ft) * PUSH_FRICTION * fn, ft)
            fx, fy = fn * nin[:, 0] - ft * nin[:, 1], fn * nin[:, 1] + ft * nin[:, 0]
            w = (r[:, 0] * fy - r[:, 1] * fx) * ic
            vc = (fx - w * r[:, 1]) * u[:, 0] + (fy + w * r[:, 0]) * u[:, 1]
            sc = h / np.maximum(vc, 1e-6)
            p += np.stack([fx, fy], axis=1) * sc[:, None]
            th = th + w * sc
            done += h
        return out

    # -- choosing a stroke ------------------------------------------------------------------------------
    def plan(self, pose: np.ndarray, goal: np.ndarray, pusher: np.ndarray,
             touching: int | None = None) -> Stroke | None:
        """The stroke with the best predicted error decrease per second; None if nothing helps.

        ``pusher`` is the pusher's current xy; ``touching`` the contact it is pressed on, if any
        (continuing there costs no approach, so runs of strokes on one spot come naturally).
        """
        pose, goal = np.asarray(pose, dtype=float), np.asarray(goal, dtype=float)
        idx = np.flatnonzero(self.feasible(pose))
        if touching is not None and touching not in idx:
            idx = np.append(idx, touching)
        if len(idx) == 0:
            return None
        lengths = STROKE_LENGTHS
        poses = self.predict(pose, idx, lengths)
        gain = self.error(pose, goal) - self.error(poses, goal)  # (N, K)
        starts = self.start_points(pose)[idx]
        travel = np.linalg.norm(starts - pusher, axis=1)
        # Seconds to get there: the lift-move-lower route has fixed costs of about a second.
        approach = 1.0 + travel / self.travel_speed
        if touching is not None:
            near = self.edges[idx] == self.edges[touching]
            near &= np.linalg.norm(self.contacts[idx] - self.contacts[touching], axis=1) < 0.05
            approach = np.where(near, 0.4 + travel / self.travel_speed, approach)
            approach = np.where(idx == touching, 0.0, approach)
        push_time = (lengths + STANDOFF) / push_speed(lengths)
        duration = 0.4 + approach[:, None] + push_time[None, :]
        rate = gain / duration
        i, k = np.unravel_index(int(np.argmax(rate)), rate.shape)
        if gain[i, k] <= 0:
            return None
        j = int(idx[i])
        return Stroke(j, self.contacts[j], self.normals[j], float(lengths[k]), poses[i, k],
                      float(gain[i, k]), continues=(touching is not None and j == touching))

    def random_stroke(self, pose: np.ndarray, goal: np.ndarray, rng: np.random.Generator,
                      length: float, worse: bool) -> Stroke | None:
        """A random feasible stroke; with ``worse``, one the model expects to increase the error.

        Used for the injected mistake (a push in a wrong direction) and, should the model ever see
        no helpful stroke, as a nudge that changes the situation instead of waiting for the timeout.
        """
        pose = np.asarray(pose, dtype=float)
        idx = np.flatnonzero(self.feasible(pose))
        if len(idx) == 0:
            return None
        poses = self.predict(pose, idx, np.array([length]))[:, 0]
        gain = self.error(pose, goal) - self.error(poses, goal)
        pool = np.flatnonzero(gain < 0) if worse and np.any(gain < 0) else np.arange(len(idx))
        i = int(rng.choice(pool))
        j = int(idx[i])
        return Stroke(j, self.contacts[j], self.normals[j], length, poses[i], float(gain[i]))


def push_speed(length: np.ndarray | float) -> np.ndarray | float:
    """Slow for short, precise strokes; faster for long ones (still quasi-static)."""
    return np.clip(np.asarray(length) * 2.5, 0.03, 0.1)


# -- the scripted expert -------------------------------------------------------------------------------

from devices.sim.experts import Expert, ExpertEvent, Goal  # noqa: E402  (after the task, to avoid an import cycle)


@dataclass(frozen=True)
class PushGoal(Goal):
    """A goal with its own speed limit: strokes are slower than travel, or the push is not quasi-static."""

    speed: float | None = None


class PushTExpert(Expert):
    """Close the fingers into a pusher, then stroke by stroke: approach, push, re-plan.

    A mistake is one stroke in a wrong direction (logged); the recovery is the ordinary strokes
    that follow, until the block is back to its error before the mistake.
    """

    def __post_init__(self) -> None:
        self._yaw = 0.0  # the hand's commanded yaw; the base class starts the behaviour
        super().__post_init__()

    def _move_towards(self, g: Goal) -> None:
        speed = getattr(g, "speed", None)
        if speed is None or speed >= self.knobs.max_speed:
            super()._move_towards(g)
            return
        delta = g.position - self._command[:3]
        dist = float(np.linalg.norm(delta))
        step = speed * self.dt
        waypoint = g.position if dist <= step else self._command[:3] + delta * (step / dist)
        super()._move_towards(replace(g, position=waypoint))

    def _pusher_yaw(self, direction: np.ndarray) -> float:
        """Hand yaw that leads with a corner of the fingertip square, nearest the current yaw."""
        base = math.atan2(direction[1], direction[0]) + math.pi / 4
        return min((wrap_angle(base + k * math.pi / 2) for k in range(4)),
                   key=lambda a: abs(wrap_angle(a - self._yaw)))

    def behaviour(self) -> Iterator[Goal]:
        task: PushTTask = self.station.task  # type: ignore[assignment]
        ws = self.station.config.workspace
        planner = PushPlanner(task.object_scale, tuple(ws.low[:2]), tuple(ws.high[:2]), self.knobs.max_speed)
        hover_z = BLOCK_HEIGHT * task.object_scale + 0.02
        here = self.station.get_state().ee_pose[:3]
        yield Goal(here, self._yaw, 1.0, tolerance=0.02, settle_s=0.3, label="close", pausable=False)
        # A mistake replaces the second or third stroke: mid-task, yet before even the quickest
        # episode (about five strokes) is over, so mistake_prob = 1 always yields one.
        wants_mistake = self.knobs.mistake_prob > 0 and self.rng.random() < self.knobs.mistake_prob
        mistake_at = int(self.rng.integers(1, 3)) if wants_mistake else -1
        recovery: ExpertEvent | None = None
        recovery_until = 0
        error_before = 0.0
        touching: int | None = None
        strokes = 0
        while self.now < task.time_limit_s:
            obj = self.station.task_state()
            if task.coverage_of(obj) >= SUCCESS_COVERAGE:
                break
            pose, goal = obj["block_pose"], obj["goal_pose"]
            err = float(planner.error(pose, goal))
            if recovery is not None and (err <= error_before or strokes >= recovery_until):
                self.end(recovery)
                recovery = None
            mistake = None
            if strokes == mistake_at:
                mistake = self.begin("mistake", "push in a wrong direction")
                error_before = err
                stroke = planner.random_stroke(pose, goal, self.rng, 0.03, worse=True)
            else:
                stroke = planner.plan(pose, goal, self._command[:2], touching)
                if stroke is None:
                    stroke = planner.random_stroke(pose, goal, self.rng, 0.01, worse=False)
            if stroke is None:  # the block is out of reach: nothing sensible left to do
                if mistake is not None:
                    self.end(mistake)
                break
            yield from self._stroke(planner, stroke, pose, touching, hover_z)
            touching = stroke.index
            strokes += 1
            if mistake is not None:
                self.end(mistake)
                recovery = self.begin("recovery", "push back")
                recovery_until = strokes + 15  # give up labelling after this many strokes
        if recovery is not None:
            self.end(recovery)
        yield Goal(np.array([*self._command[:2], hover_z + 0.05]), self._yaw, 1.0, tolerance=0.01, label="retreat", pausable=False)

    def _stroke(self, planner: PushPlanner, stroke: Stroke, pose: np.ndarray, touching: int | None,
                hover_z: float) -> Iterator[Goal]:
        contact, normal = planner.world_contact(pose, stroke.index)
        direction = -normal
        yaw = self._pusher_yaw(direction)
        start = contact + normal * (PUSHER_RADIUS + STANDOFF)
        if not stroke.continues:
            here = self._command[:2].copy()
            low = self._command[2] < hover_z - 0.005
            if low and touching is not None:  # step back off the face just pushed
                c_prev, n_prev = planner.world_contact(pose, touching)
                here = c_prev + n_prev * (PUSHER_RADIUS + STANDOFF)
                yield Goal(np.array([*here, PUSH_Z]), self._yaw, 1.0, tolerance=0.004, label="back off", pausable=False)
            if low and planner.path_clear(pose, here, start):
                self._yaw = yaw
                yield Goal(np.array([*start, PUSH_Z]), yaw, 1.0, tolerance=0.003, label="approach", pausable=False)
            else:
                if low:
                    yield Goal(np.array([*here, hover_z]), self._yaw, 1.0, tolerance=0.008, label="lift", pausable=False)
                self._yaw = yaw
                yield Goal(np.array([*start, hover_z]), yaw, 1.0, tolerance=0.004, label="move", pausable=False)
                yield Goal(np.array([*start, PUSH_Z]), yaw, 1.0, tolerance=0.003, label="lower", pausable=False)
        end = contact + normal * PUSHER_RADIUS + direction * (stroke.length + PRESS_DEFLECTION)
        yield PushGoal(np.array([*end, PUSH_Z]), yaw, 1.0, tolerance=0.004, settle_s=0.2, label="push",
                       speed=float(push_speed(stroke.length)))
