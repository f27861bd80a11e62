"""What the Station panel says about the robot and the task, in the words a person would use.

Kept apart from the panel (and free of Qt) so the wording is tested on its own. The gripper
contract (docs: /work/shared/DESIGN.md, "Action"): 0 is open, 1 is closed, for the command and
for the observed closure alike.
"""

from __future__ import annotations

# Closure above this reads "closed", below `OPEN_BELOW` "open", between them "partly closed" (the
# fingers stop on an object before they are fully shut, so a grasp reads as partly closed).
CLOSED_ABOVE = 0.9
OPEN_BELOW = 0.1


def gripper_state(closure: float) -> str:
    """open / partly closed / closed for a closure in [0, 1] (0 open, 1 closed)."""
    if closure < OPEN_BELOW:
        return "open"
    if closure > CLOSED_ABOVE:
        return "closed"
    return "partly closed"


def gripper_text(closure: float, command: float) -> str:
    """e.g. "open (0.00) · commanded open"; the command is a target, so it is open or closed."""
    commanded = "closed" if command >= 0.5 else "open"
    return f"{gripper_state(closure)} ({closure:.2f}) · commanded {commanded}"


def free_play_progress(success: bool, score: float, seconds: float) -> str:
    """The task's progress while the user explores the station.

    No time-out here: the task's time limit ends recorded episodes (the Record panel's "End when
    the task succeeds or times out"); in free play nothing ends, so saying "timed out" after 20 s
    would only tell the user off for exploring.
    """
    state = "task done" if success else f"score {score:.2f}"
    return f"{state} · {seconds:.1f} s in this scene"
