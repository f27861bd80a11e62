"""A controller's limits come from the robot it drives: the station's workspace box bounds every
controller built for it, whoever builds it, and a robot without a box keeps the defaults."""

from dataclasses import replace

import numpy as np

from devices.control import SafetyController
from devices.safety import SafetyLimits, limits_for
from devices.sim.station import StationConfig, WorkspaceBox, make_station


def test_a_controller_for_the_station_is_bounded_by_its_own_box():
    station = make_station("pick_place", cameras=())
    small = WorkspaceBox(low=(0.3, -0.1, 0.05), high=(0.5, 0.1, 0.2))
    station.config = replace(station.config, workspace=small)
    limits = SafetyController(station).limits
    assert limits.workspace_low == small.low and limits.workspace_high == small.high
    tighter = limits_for(station, SafetyLimits(max_speed=0.05))
    assert tighter.max_speed == 0.05 and tighter.workspace_high == small.high


def test_a_robot_without_a_box_keeps_the_default_limits():
    class Boxless:
        workspace_box = None

    assert limits_for(Boxless()) == SafetyLimits()
    assert np.allclose(StationConfig().workspace.low, make_station("pick_place", cameras=()).workspace_box[0])
