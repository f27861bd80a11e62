"""pick_place: put a cube into a bin. Success when the cube rests inside the bin's walls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import numpy as np

from devices.geometry import quat_yaw, wrap_angle, yaw_quat
from devices.sim.scene import SceneSpec
from devices.sim.tasks.base import Task, TaskStatus, register_task

if TYPE_CHECKING:
    import mujoco

    from devices.sim.experts import Expert, ExpertKnobs, Goal
    from devices.sim.station import SimStation

CUBE_HALF = 0.02
BIN_INNER_HALF = 0.065
BIN_WALL = 0.006
BIN_HEIGHT = 0.05


@register_task("pick_place")
@dataclass
class PickPlaceTask(Task):
    time_limit_s: float = 20.0
    bin_rgba: tuple[float, float, float, float] = (0.2, 0.35, 0.75, 1.0)

    def _half(self) -> float:
        return CUBE_HALF * self.object_scale

    def scene_spec(self, rng: np.random.Generator) -> SceneSpec:
        h = self._half()
        c = " ".join(f"{v:.3f}" for v in self.object_rgba)
        b = " ".join(f"{v:.3f}" for v in self.bin_rgba)
        i, w, hh = BIN_INNER_HALF, BIN_WALL, BIN_HEIGHT / 2
        walls = "".join(
            f'<geom type="box" pos="{x:.4f} {y:.4f} {hh:.4f}" size="{sx:.4f} {sy:.4f} {hh:.4f}" rgba="{b}"/>'
            for x, y, sx, sy in ((i + w, 0, w, i + 2 * w), (-i - w, 0, w, i + 2 * w), (0, i + w, i, w), (0, -i - w, i, w))
        )
        objects = f"""
    <body name="cube" pos="0.5 0 {h:.4f}">
      <freejoint name="cube"/>
      <geom name="cube" type="box" size="{h:.4f} {h:.4f} {h:.4f}" mass="0.05" rgba="{c}" condim="4" friction="1.2 0.02 0.002"/>
    </body>
    <body name="bin" pos="0.5 0.2 0">
      <geom name="bin_floor" type="box" pos="0 0 0.002" size="{i:.4f} {i:.4f} 0.002" rgba="{b}"/>
      {walls}
    </body>"""
        return SceneSpec(objects_xml=objects)

    def randomize(self, model: "mujoco.MjModel", data: "mujoco.MjData", rng: np.random.Generator) -> None:
        import mujoco

        bin_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "bin")
        bin_xy = np.array([rng.uniform(0.42, 0.62), rng.uniform(0.16, 0.26)])
        model.body_pos[bin_id, :2] = bin_xy
        jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, "cube")
        adr = model.jnt_qposadr[jid]
        cube_xy = np.array([rng.uniform(0.36, 0.62), rng.uniform(-0.22, 0.02)])
        data.qpos[adr:adr + 3] = [*cube_xy, self._half() + 0.001]
        data.qpos[adr + 3:adr + 7] = yaw_quat(rng.uniform(-np.pi, np.pi))

    def object_state(self, model: "mujoco.MjModel", data: "mujoco.MjData") -> dict[str, np.ndarray]:
        import mujoco

        cube = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "cube")
        bin_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "bin")
        return {"cube_pos": data.xpos[cube].copy(), "cube_quat": data.xquat[cube].copy(),
                "bin_pos": data.xpos[bin_id].copy()}

    def evaluate(self, model: "mujoco.MjModel", data: "mujoco.MjData", elapsed_s: float) -> TaskStatus:
        s = self.object_state(model, data)
        rel = s["cube_pos"][:2] - s["bin_pos"][:2]
        inside = bool(np.all(np.abs(rel) < BIN_INNER_HALF) and s["cube_pos"][2] < BIN_HEIGHT)
        dist = float(np.linalg.norm(rel))
        score = 1.0 if inside else float(np.clip(1.0 - dist / 0.4, 0.0, 0.9))
        return TaskStatus(score=score, success=inside, timed_out=(not inside and elapsed_s >= self.time_limit_s))

    def make_expert(self, station: "SimStation", knobs: "ExpertKnobs", rng: np.random.Generator) -> "Expert":
        return PickPlaceExpert(station, knobs, rng)


def _grasp_yaw(cube_quat: np.ndarray, current_yaw: float) -> float:
    """The cube's face direction (mod 90°) closest to the hand's current heading."""
    base = quat_yaw(cube_quat)
    candidates = [wrap_angle(base + k * np.pi / 2) for k in range(4)]
    return min(candidates, key=lambda a: abs(wrap_angle(a - current_yaw)))


from devices.sim.experts import Expert, Goal  # noqa: E402  (after the task, to avoid an import cycle)


class PickPlaceExpert(Expert):
    """Approach, descend, grasp, lift, carry, release; a mistake is a missed grasp, then a retry."""

    def behaviour(self) -> Iterator[Goal]:
        mistake_pending = self.knobs.mistake_prob > 0 and self.rng.random() < self.knobs.mistake_prob
        h = CUBE_HALF * self.station.task.object_scale
        attempt = 0
        while attempt < 4:
            attempt += 1
            obj = self.station.task_state()
            cube = obj["cube_pos"]
            yaw = _grasp_yaw(obj["cube_quat"], 0.0)
            offset = np.zeros(3)
            mistake = None
            if mistake_pending:
                mistake_pending = False
                mistake = self.begin("mistake", "missed grasp")
                ang = self.rng.uniform(0, 2 * np.pi)
                offset = np.array([np.cos(ang), np.sin(ang), 0.0]) * (h + 0.035)
            above = cube + offset + [0, 0, 0.10]
            yield Goal(above, yaw, 0.0, tolerance=0.01, label="approach")
            grasp_at = np.array([*(cube + offset)[:2], max(0.006, h - 0.01)])
            yield Goal(grasp_at, yaw, 0.0, tolerance=0.006,
                       settle_s=0.2, label="descend")
            yield Goal(self.station.get_state().ee_pose[:3], yaw, 1.0, settle_s=0.6, tolerance=0.01, label="grasp")
            yield Goal(np.array([*self.station.get_state().ee_pose[:2], 0.16]), yaw, 1.0, tolerance=0.015, label="lift")
            if mistake is not None:
                self.end(mistake)
                recovery = self.begin("recovery", "re-grasp")
                yield Goal(self.station.get_state().ee_pose[:3], yaw, 0.0, settle_s=0.3, tolerance=0.02, label="reopen")
                self.end(recovery)
                continue
            if self.station.get_state().gripper > 0.97:  # closed on nothing: try again
                yield Goal(self.station.get_state().ee_pose[:3], yaw, 0.0, settle_s=0.3, tolerance=0.02, label="reopen")
                continue
            bin_pos = self.station.task_state()["bin_pos"]
            yield Goal(np.array([bin_pos[0], bin_pos[1], 0.16]), yaw, 1.0, tolerance=0.015, label="carry")
            yield Goal(np.array([bin_pos[0], bin_pos[1], 0.09]), yaw, 1.0, tolerance=0.015, label="lower")
            yield Goal(np.array([bin_pos[0], bin_pos[1], 0.09]), yaw, 0.0, settle_s=0.5, tolerance=0.02, label="release")
            yield Goal(np.array([bin_pos[0], bin_pos[1], 0.18]), yaw, 0.0, tolerance=0.02, label="retreat")
            return
