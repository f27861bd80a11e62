"""The Station panel's words: the gripper read by the contract (0 open, 1 closed), no time-out in free play."""

from app.gui.station_words import free_play_progress, gripper_state, gripper_text


def test_gripper_words_follow_the_contract_zero_open_one_closed():
    assert gripper_text(0.0, 0.0) == "open (0.00) · commanded open"
    assert gripper_text(1.0, 1.0) == "closed (1.00) · commanded closed"
    assert gripper_state(0.55) == "partly closed"  # fingers stopped on the cube
    assert gripper_text(0.55, 1.0).startswith("partly closed")
    assert "closed" not in gripper_text(0.02, 0.0)


def test_free_play_never_says_timed_out():
    assert free_play_progress(False, 0.42, 25.0) == "score 0.42 · 25.0 s in this scene"
    assert free_play_progress(True, 1.0, 7.0).startswith("task done")
