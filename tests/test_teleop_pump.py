"""The pump from a device to the controller's target sink: targets, holds, events, feedback."""

import threading

import numpy as np
from teleop_fakes import FakeHaptic, FakeHidApi, wait_until

from devices.teleop import ButtonAction, make_device
from devices.teleop.haptic import HapticStylusDevice, HapticTransport
from devices.teleop.pump import TeleopPump
from devices.teleop.spacemouse import KNOWN_MODELS, encode_reports, operator_twist_to_raw

HOME = np.array([0.5, 0.0, 0.2, 1.0, 0.0, 0.0, 0.0])


class Sink:
    """Stands in for the low-level controller's latest-target source."""

    def __init__(self):
        self.pushed, self.lost = [], 0
        self.lock = threading.Lock()

    def push(self, action, stamp):
        with self.lock:
            self.pushed.append(action)

    def mark_lost(self):
        with self.lock:
            self.lost += 1


def test_targets_flow_holds_become_mark_lost_and_events_are_delivered():
    api = FakeHidApi()
    sink, events = Sink(), []
    measured = [HOME]
    dev = make_device("spacemouse", hid_api=api)
    dev._reconnect_interval = 0.02
    with dev, TeleopPump(dev, sink, robot_pose=lambda: measured[0], on_events=lambda t: events.extend(t.events)):
        api.feed(*encode_reports(KNOWN_MODELS[(0x256F, 0xC635)], operator_twist_to_raw([0, 0, 1, 0, 0, 0]),
                                 button_mask=0b10))
        assert wait_until(lambda: len(sink.pushed) > 20 and sink.pushed[-1].position[2] > HOME[2] + 0.003)
        assert events == [ButtonAction.RECORD_TOGGLE]
        api.unplug()
        api.feed(b"\x01")
        assert wait_until(lambda: sink.lost > 0)
        measured[0] = HOME + [0.02, 0, 0, 0, 0, 0, 0]  # the arm settled elsewhere while held
        n = len(sink.pushed)
        api.plug_in()
        assert wait_until(lambda: len(sink.pushed) > n + 2)
        np.testing.assert_allclose(sink.pushed[n].position, measured[0][:3], atol=1e-9)


def test_wrench_is_fed_back_to_a_haptic_device():
    backend = FakeHaptic(max_force=2.0)
    dev = HapticStylusDevice(HapticTransport(backend))
    sink = Sink()
    with dev, TeleopPump(dev, sink, robot_pose=lambda: HOME, wrench=lambda: np.array([0, 0, 10.0, 0, 0, 0])):
        assert wait_until(lambda: len(backend.forces) > 50 and backend.forces[-1][1] > 0.9)
