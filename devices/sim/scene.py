"""MJCF for the station: a table, a floating 6-DoF hand with a parallel gripper, two cameras.

The scene is generated from a `SceneSpec` rather than kept as a static XML file, because the
robustness perturbations (camera pose, lighting, colours, object size) and each task's objects are
parameters of the same scene. The world frame is the robot base frame; the table top is z = 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Gripper geometry (metres). The hand frame's origin is the tool centre point between the
# fingertips; its +z axis is the approach direction, so "pointing down" is a 180° turn about x.
FINGER_STROKE = 0.045  # opening of one finger from the centre line when fully open
FINGER_LENGTH = 0.05
PALM_HEIGHT = 0.02
HOME_QUAT = np.array([0.0, 1.0, 0.0, 0.0])
HOME_POSITION = np.array([0.45, 0.0, 0.20])
TABLE_CENTER = np.array([0.5, 0.0])
TABLE_HALF = np.array([0.35, 0.40])
# MuJoCo's off-screen framebuffer (width, height): no camera renders larger than this.
OFFSCREEN_SIZE = (640, 480)


@dataclass
class SceneSpec:
    """Everything that varies between scenes: what a task adds and what perturbations change."""

    objects_xml: str = ""  # bodies a task adds to the worldbody
    assets_xml: str = ""
    table_rgba: tuple[float, float, float, float] = (0.62, 0.52, 0.42, 1.0)
    floor_rgba: tuple[float, float, float, float] = (0.30, 0.32, 0.36, 1.0)
    light_diffuse: float = 0.7
    light_dir: tuple[float, float, float] = (0.3, 0.2, -1.0)
    scene_camera_pos: tuple[float, float, float] = (1.05, 0.0, 0.62)
    scene_camera_target: tuple[float, float, float] = (0.48, 0.0, 0.0)
    scene_camera_fovy: float = 55.0
    wrist_camera_fovy: float = 75.0
    timestep: float = 0.002
    extra: dict = field(default_factory=dict)


def _look_at_xyaxes(pos: np.ndarray, target: np.ndarray) -> str:
    """MJCF `xyaxes` for a camera at pos looking at target with world z up."""
    forward = target - pos
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    return " ".join(f"{v:.5f}" for v in (*right, *up))


def _rgba(c: tuple[float, ...]) -> str:
    return " ".join(f"{v:.3f}" for v in c)


def build_mjcf(spec: SceneSpec) -> str:
    cam_pos = np.array(spec.scene_camera_pos, dtype=float)
    cam_target = np.array(spec.scene_camera_target, dtype=float)
    d = spec.light_diffuse
    tx, ty = TABLE_CENTER
    hx, hy = TABLE_HALF
    s = FINGER_STROKE
    return f"""
<mujoco model="demostation">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="{spec.timestep}" integrator="implicitfast" cone="elliptic" impratio="5"/>
  <visual>
    <global offwidth="{OFFSCREEN_SIZE[0]}" offheight="{OFFSCREEN_SIZE[1]}"/>
    <quality shadowsize="0" offsamples="0"/>
    <headlight ambient="0.35 0.35 0.35" diffuse="0.3 0.3 0.3" specular="0 0 0"/>
  </visual>
  <default>
    <geom solref="0.004 1" solimp="0.95 0.99 0.001" friction="1.0 0.01 0.001"/>
    <default class="finger">
      <geom type="box" friction="1.5 0.02 0.002" rgba="0.15 0.15 0.18 1" condim="4"/>
    </default>
  </default>
  <asset>
    {spec.assets_xml}
  </asset>
  <worldbody>
    <light name="key" pos="0.5 0.3 1.5" dir="{_rgba(spec.light_dir)}" diffuse="{d:.3f} {d:.3f} {d:.3f}" castshadow="false"/>
    <geom name="floor" type="plane" pos="0 0 -0.75" size="2 2 0.1" rgba="{_rgba(spec.floor_rgba)}" contype="0" conaffinity="0"/>
    <geom name="table" type="box" pos="{tx} {ty} -0.025" size="{hx} {hy} 0.025" rgba="{_rgba(spec.table_rgba)}"/>
    <camera name="scene" pos="{cam_pos[0]:.4f} {cam_pos[1]:.4f} {cam_pos[2]:.4f}" xyaxes="{_look_at_xyaxes(cam_pos, cam_target)}" fovy="{spec.scene_camera_fovy}"/>
    <body name="hand" pos="{HOME_POSITION[0]} {HOME_POSITION[1]} {HOME_POSITION[2]}" quat="0 1 0 0" gravcomp="1">
      <freejoint name="hand_free"/>
      <inertial pos="0 0 0" mass="1.0" diaginertia="0.01 0.01 0.01"/>
      <site name="tcp" pos="0 0 0" size="0.005" rgba="1 0 0 0"/>
      <geom name="palm" type="box" pos="0 0 {-FINGER_LENGTH - PALM_HEIGHT / 2:.4f}" size="0.02 {s + 0.012:.4f} {PALM_HEIGHT / 2:.4f}" rgba="0.55 0.57 0.6 1" mass="0"/>
      <geom name="wrist" type="cylinder" pos="0 0 {-FINGER_LENGTH - PALM_HEIGHT - 0.03:.4f}" size="0.025 0.03" rgba="0.45 0.47 0.5 1" mass="0"/>
      <camera name="wrist" pos="0.045 0 {-FINGER_LENGTH - PALM_HEIGHT:.4f}" xyaxes="0 1 0 0.92 0 0.4" fovy="{spec.wrist_camera_fovy}"/>
      <body name="finger_left" pos="0 0 {-FINGER_LENGTH / 2:.4f}" gravcomp="1">
        <joint name="finger_left" type="slide" axis="0 1 0" range="0 {s}" damping="2" armature="0.01"/>
        <geom name="finger_left" class="finger" size="0.012 0.006 {FINGER_LENGTH / 2:.4f}" pos="0 0.006 0" mass="0.05"/>
      </body>
      <body name="finger_right" pos="0 0 {-FINGER_LENGTH / 2:.4f}" gravcomp="1">
        <joint name="finger_right" type="slide" axis="0 -1 0" range="0 {s}" damping="2" armature="0.01"/>
        <geom name="finger_right" class="finger" size="0.012 0.006 {FINGER_LENGTH / 2:.4f}" pos="0 -0.006 0" mass="0.05"/>
      </body>
    </body>
    {spec.objects_xml}
  </worldbody>
  <equality>
    <joint joint1="finger_left" joint2="finger_right" polycoef="0 1 0 0 0" solref="0.005 1"/>
  </equality>
  <actuator>
    <position name="gripper" joint="finger_left" kp="300" kv="10" ctrlrange="0 {s}" forcerange="-30 30"/>
  </actuator>
</mujoco>
"""
