"""A real recording process for the crash test: records on the real clock until it is killed.

``python -m tests.live_recording_child DATASET RATE_HZ`` records one short episode to the end,
then a second one forever, printing ``SAMPLE <episode> <index> <time> <x>`` after each sample is
handed to the writer, so the test knows exactly what the process had recorded when it killed it.
"""

from __future__ import annotations

import math
import sys

from recorder.clock import MonotonicClock
from recorder.command_path import UnfilteredPath
from recorder.session import RecordingSession, SessionSettings
from tests.recorder_fakes import EndAfter, FakeRobot, RateCamera, ScriptedSource


def main() -> None:
    root, rate = sys.argv[1], float(sys.argv[2])
    clock = MonotonicClock()
    t0 = clock.now()
    cams = {"scene": RateCamera("scene", clock, 30.0, phase_s=t0 - 1.0, size=(32, 32))}
    counter = {"episode": "", "i": 0}

    def on_sample(sample) -> None:
        print(f"SAMPLE {counter['episode']} {counter['i']} {sample.time:.6f} {sample.action.ee_pose[0]:.6f}",
              flush=True)
        counter["i"] += 1

    robot = FakeRobot(clock)
    session = RecordingSession(root, robot, cams, ScriptedSource(switch_at=1e9), clock=clock,
                               settings=SessionSettings(rate_hz=rate, task="crash-test"), on_sample=on_sample,
                               control=UnfilteredPath(robot))
    for episode, seconds in enumerate((1.0, math.inf)):
        counter["episode"], counter["i"] = f"ep_{episode:06d}", 0
        summary = session.record_episode(end=EndAfter(seconds))
        print(f"DONE {summary.episode_id} {summary.frames}", flush=True)


if __name__ == "__main__":
    main()
