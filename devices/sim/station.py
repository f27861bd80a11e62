"""The embedded MuJoCo station: a floating hand under Cartesian impedance, a task, two cameras.

It implements the `devices.robot.Robot` protocol, so everything above it (teleop, recorder, policy
runner) drives it exactly as it would drive a real arm. Time is simulated: `step(dt)` advances the
physics, so headless recording and evaluation run faster than real time and are reproducible,
while the GUI paces `step` against the wall clock.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field, replace

import numpy as np

from devices.camera import Camera, CameraInfo, Frame
from devices.geometry import quat_normalize
from devices.robot import Action, Robot, RobotError, RobotState
from devices.sim.gl import INSTALL_HINT, RenderBackendError, select_backend
from devices.sim.perturbations import perturbed_scene, validate_perturbations
from devices.sim.scene import FINGER_STROKE, HOME_POSITION, HOME_QUAT, build_mjcf
from devices.sim.tasks import Task, TaskStatus, make_task

select_backend()
import mujoco  # noqa: E402  (MUJOCO_GL must be set before this import)


@dataclass(frozen=True)
class WorkspaceBox:
    """Axis-aligned box the hand's tool point may be commanded into (base frame, metres)."""

    low: tuple[float, float, float] = (0.15, -0.38, -0.01)
    high: tuple[float, float, float] = (0.85, 0.38, 0.45)

    def clip(self, p: np.ndarray) -> np.ndarray:
        return np.clip(p, self.low, self.high)

    def contains(self, p: np.ndarray, tol: float = 1e-9) -> bool:
        return bool(np.all(p >= np.array(self.low) - tol) and np.all(p <= np.array(self.high) + tol))


@dataclass(frozen=True)
class StationConfig:
    """Impedance gains and limits. Contact force is bounded by stiffness × max_position_error."""

    stiffness: float = 800.0  # N/m
    rot_stiffness: float = 30.0  # N·m/rad
    damping_ratio: float = 1.0
    max_position_error: float = 0.04  # m: with the stiffness, bounds the pressing force (32 N)
    max_rotation_error: float = 0.6  # rad
    physics_hz: float = 500.0
    control_hz: float = 500.0  # impedance law updated every physics step by default
    workspace: WorkspaceBox = field(default_factory=WorkspaceBox)
    image_size: tuple[int, int] = (96, 96)  # (height, width)
    cameras: tuple[str, ...] = ("scene", "wrist")


class SimCamera(Camera):
    """A station camera: renders the current simulated state when read (capture time = sim time)."""

    def __init__(self, station: "SimStation", name: str, mount: str) -> None:
        self._station = station
        self._name = name
        self._mount = mount
        self._count = 0

    @property
    def info(self) -> CameraInfo:
        h, w = self._station.config.image_size
        fovy = self._station.camera_fovy(self._name)
        f = 0.5 * h / np.tan(np.deg2rad(fovy) / 2)
        return CameraInfo(name=self._name, width=w, height=h, mount=self._mount, serial=f"sim:{self._name}",
                          fx=f, fy=f, cx=(w - 1) / 2, cy=(h - 1) / 2, model="mujoco")

    def connect(self) -> None:
        self._station.ensure_renderer()

    def disconnect(self) -> None:
        pass

    @property
    def is_connected(self) -> bool:
        return self._station.is_connected

    def read_latest(self, max_age_s: float | None = None) -> Frame | None:
        image = self._station.render(self._name)
        self._count += 1
        return Frame(image=image, timestamp=self._station.time, index=self._count)


class SimStation(Robot):
    name = "sim"

    @property
    def workspace_box(self) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        return self.config.workspace.low, self.config.workspace.high

    def __init__(self, task: str | Task = "pick_place", config: StationConfig | None = None,
                 perturbations: dict[str, float] | None = None) -> None:
        self.config = config or StationConfig()
        self.task = make_task(task) if isinstance(task, str) else task
        self._base_task = copy.deepcopy(self.task)
        self.perturbations = dict(perturbations or {})
        validate_perturbations(self.perturbations)
        self._connected = False
        self._renderer: "mujoco.Renderer | None" = None
        self._model: mujoco.MjModel | None = None
        self._data: mujoco.MjData | None = None
        self._scene_key: str | None = None
        self._target = Action(np.concatenate([HOME_POSITION, HOME_QUAT]), 0.0)
        self._rng = np.random.default_rng(0)
        self._target_quat = HOME_QUAT.copy()
        self._rot_buf = np.zeros(3)
        self._wrench_buf = np.zeros(6)
        self._torque_buf = np.zeros(3)
        self._episode_start = 0.0
        self.cameras: dict[str, SimCamera] = {
            n: SimCamera(self, n, "wrist" if n == "wrist" else "scene") for n in self.config.cameras
        }

    # -- Robot protocol -------------------------------------------------------------------------
    @property
    def features(self) -> dict[str, tuple[int, ...]]:
        h, w = self.config.image_size
        feats = {"ee_pose": (7,), "gripper": (1,), "ee_wrench": (6,)}
        feats.update({f"images/{n}": (h, w, 3) for n in self.config.cameras})
        return feats

    def connect(self) -> None:
        if self._model is None:
            self.reset(0)
        self._connected = True

    def disconnect(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._connected = False

    @property
    def is_connected(self) -> bool:
        return self._connected

    def reset(self, seed: int | None = None) -> RobotState:
        self._rng = np.random.default_rng(seed)
        self.task = copy.deepcopy(self._base_task)  # perturbations change the task; start pristine
        spec = perturbed_scene(self.task, self.perturbations, self._rng, seed)
        xml = build_mjcf(spec)
        if xml != self._scene_key:
            self._build(xml)
        model, data = self.model, self.data
        mujoco.mj_resetData(model, data)
        self.task.randomize(model, data, self._rng)
        mujoco.mj_forward(model, data)
        self._set_target(Action(np.concatenate([HOME_POSITION, HOME_QUAT]), 0.0))
        self._apply_gripper(0.0)
        self._episode_start = float(data.time)
        # Let objects settle onto the table before anything is observed.
        self._advance(0.3)
        self._episode_start = float(data.time)
        self._connected = True
        return self.get_state()

    def get_state(self) -> RobotState:
        d = self.data
        pose = np.concatenate([d.site_xpos[self._tcp_site], self._hand_quat()])
        return RobotState(time=self.time, ee_pose=pose, gripper=self.gripper_closure(),
                          ee_wrench=self.contact_wrench(), joint_pos=d.qpos[self._finger_qadr:self._finger_qadr + 1].copy())

    def send_action(self, action: Action) -> Action:
        if not self._connected:
            raise RobotError("station is not connected")
        if not action.is_finite():
            return self.hold()
        a = action.normalized()
        pose = a.ee_pose.copy()
        pose[:3] = self.config.workspace.clip(pose[:3])
        self._set_target(Action(pose, a.gripper))
        self._apply_gripper(a.gripper)
        return self._target

    def hold(self) -> Action:
        state = self.get_state()
        self._set_target(Action(state.ee_pose, self._target.gripper))
        return self._target

    # -- Simulation -----------------------------------------------------------------------------
    @property
    def model(self) -> "mujoco.MjModel":
        if self._model is None:
            self.reset(0)
        return self._model

    @property
    def data(self) -> "mujoco.MjData":
        if self._data is None:
            self.reset(0)
        return self._data

    @property
    def time(self) -> float:
        """Seconds since the last reset, on the simulated clock."""
        return float(self.data.time) - self._episode_start

    @property
    def target(self) -> Action:
        return self._target

    def step(self, duration: float) -> None:
        """Advance the physics by ``duration`` seconds, tracking the current target."""
        self._advance(duration)

    def status(self) -> TaskStatus:
        return self.task.evaluate(self.model, self.data, self.time)

    def task_state(self) -> dict[str, np.ndarray]:
        """Privileged object state, for scripted experts and tests (never for policies)."""
        return self.task.object_state(self.model, self.data)

    def camera_fovy(self, name: str) -> float:
        cid = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_CAMERA, name)
        return float(self.model.cam_fovy[cid])

    def ensure_renderer(self) -> "mujoco.Renderer":
        if self._renderer is None:
            h, w = self.config.image_size
            try:
                self._renderer = mujoco.Renderer(self.model, height=h, width=w)
            except Exception as exc:  # the GL libraries raise many types; all mean the same here
                raise RenderBackendError(f"{INSTALL_HINT} ({type(exc).__name__}: {exc})") from exc
        return self._renderer

    def render(self, camera: str) -> np.ndarray:
        if camera not in self.cameras:
            raise KeyError(f"unknown camera {camera!r}; this station has {sorted(self.cameras)}")
        renderer = self.ensure_renderer()
        renderer.update_scene(self.data, camera=camera)
        return renderer.render().copy()

    def render_view(self, camera: str, height: int, width: int) -> np.ndarray:
        """A render at another size than the recorded one (the GUI's large live view)."""
        renderer = mujoco.Renderer(self.model, height=height, width=width)
        try:
            renderer.update_scene(self.data, camera=camera)
            return renderer.render().copy()
        finally:
            renderer.close()

    def gripper_closure(self) -> float:
        """Measured closure in [0, 1] (0 open, 1 fingers touching)."""
        q = float(self.data.qpos[self._finger_qadr])
        return float(np.clip(1.0 - q / FINGER_STROKE, 0.0, 1.0))

    def contact_wrench(self) -> np.ndarray:
        """Force and torque the environment exerts on the hand, at the tool point, base frame."""
        m, d = self.model, self.data
        wrench = np.zeros(6)
        tcp = d.site_xpos[self._tcp_site]
        f6 = np.zeros(6)
        for i in range(d.ncon):
            c = d.contact[i]
            b1 = m.geom_bodyid[c.geom1]
            b2 = m.geom_bodyid[c.geom2]
            in1, in2 = b1 in self._hand_bodies, b2 in self._hand_bodies
            if in1 == in2:
                continue
            mujoco.mj_contactForce(m, d, i, f6)
            frame = c.frame.reshape(3, 3)
            force = frame.T @ f6[:3]  # force on geom2 from geom1, world frame
            if in1:
                force = -force
            wrench[:3] += force
            wrench[3:] += np.cross(c.pos - tcp, force)
        return wrench

    # -- internals ------------------------------------------------------------------------------
    def _build(self, xml: str) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._model = mujoco.MjModel.from_xml_string(xml)
        self._model.opt.timestep = 1.0 / self.config.physics_hz
        self._data = mujoco.MjData(self._model)
        self._scene_key = xml
        m = self._model
        self._hand_body = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "hand")
        self._hand_bodies = {self._hand_body,
                             mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "finger_left"),
                             mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "finger_right")}
        self._tcp_site = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, "tcp")
        jid = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, "hand_free")
        self._hand_qadr = int(m.jnt_qposadr[jid])
        self._hand_dadr = int(m.jnt_dofadr[jid])
        fid = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, "finger_left")
        self._finger_qadr = int(m.jnt_qposadr[fid])
        self._gripper_act = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_ACTUATOR, "gripper")
        mass = float(m.body_subtreemass[self._hand_body])
        inertia = float(np.max(m.body_inertia[self._hand_body]))
        c = self.config
        self._kp, self._kr = c.stiffness, c.rot_stiffness
        self._kd = 2 * c.damping_ratio * np.sqrt(c.stiffness * mass)
        self._kdr = 2 * c.damping_ratio * np.sqrt(c.rot_stiffness * inertia)
        self._substeps = max(1, int(round(c.physics_hz / c.control_hz)))

    def _set_target(self, action: Action) -> None:
        self._target = action
        self._target_quat = np.ascontiguousarray(action.ee_pose[3:])

    def _hand_quat(self) -> np.ndarray:
        return quat_normalize(self.data.qpos[self._hand_qadr + 3:self._hand_qadr + 7])

    def _apply_gripper(self, g: float) -> None:
        self.data.ctrl[self._gripper_act] = FINGER_STROKE * (1.0 - float(np.clip(g, 0.0, 1.0)))

    def _impedance_wrench(self) -> np.ndarray:
        """Cartesian impedance: F = K·clip(Δp) − D·v, τ = Kr·clip(Δθ) − Dr·ω (runs at physics rate).

        Written against MuJoCo's own quaternion routines on preallocated buffers: this runs
        500 times per simulated second, and numpy's per-call overhead would dominate it.
        """
        d, c = self.data, self.config
        qa, da = self._hand_qadr, self._hand_dadr
        err = self._target.ee_pose[:3] - d.qpos[qa:qa + 3]
        n = math.sqrt(err.dot(err))
        if n > c.max_position_error:
            err *= c.max_position_error / n
        rot = self._rot_buf
        mujoco.mju_subQuat(rot, self._target_quat, d.qpos[qa + 3:qa + 7])  # in the hand frame
        r = math.sqrt(rot.dot(rot))
        if r > c.max_rotation_error:
            rot *= c.max_rotation_error / r
        out = self._wrench_buf
        out[:3] = self._kp * err - self._kd * d.qvel[da:da + 3]
        torque_local = self._kr * rot - self._kdr * d.qvel[da + 3:da + 6]
        mujoco.mju_mulMatVec3(self._torque_buf, d.xmat[self._hand_body], torque_local)
        out[3:] = self._torque_buf
        return out

    def _advance(self, duration: float) -> None:
        m, d = self.model, self.data
        n = int(round(duration / m.opt.timestep))
        xfrc = d.xfrc_applied
        for i in range(n):
            if i % self._substeps == 0:
                xfrc[self._hand_body] = self._impedance_wrench()
            mujoco.mj_step(m, d)


def make_station(task: str = "pick_place", image_size: int = 96, cameras: tuple[str, ...] = ("scene", "wrist"),
                 perturbations: dict[str, float] | None = None, **config: object) -> SimStation:
    """The station as the command line builds it."""
    cfg = replace(StationConfig(), image_size=(image_size, image_size), cameras=tuple(cameras), **config)
    return SimStation(task, cfg, perturbations)
