import json
import subprocess
import sys
from contextlib import contextmanager

import numpy as np
import pytest
from episode_files import tiny_run_config, write_dataset

from app.cli import main
from policy.agent import PolicyAgent, latency_summary
from policy.inference import DiffusionPolicyRunner, Observation
from policy.trainer import train
from recorder.dataset import Dataset

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("agent")
    data = write_dataset(root / "data", episodes=2, length=10, image_size=32)
    train(lambda: Dataset(data), root / "run", tiny_run_config())
    return root / "run"


def obs(t: float, rng) -> Observation:
    return Observation(time=t, ee_pose=np.array([0.4, 0.0, 0.2, 0.0, 1.0, 0.0, 0.0], np.float32), gripper=0.0,
                       images={c: rng.integers(0, 255, (96, 96, 3), dtype=np.uint8) for c in ("scene", "wrist")})


def test_predict_chunk_returns_timestamped_actions_and_encodes_each_frame_once(run_dir):
    policy = DiffusionPolicyRunner.from_checkpoint(run_dir, device="cpu", seed=0)
    encoded = []
    forward = policy.model.encoder.forward
    policy.model.encoder.forward = lambda x: (encoded.append(x.shape[0]), forward(x))[1]
    rng = np.random.default_rng(0)
    history = [obs(0.0, rng), obs(0.1, rng)]
    chunk = policy.predict_chunk(history)
    assert chunk.actions.shape == (8, 8) and np.allclose(chunk.times, np.arange(8) / 10)
    assert np.allclose(np.linalg.norm(chunk.actions[:, 3:7], axis=1), 1) and np.all((chunk.actions[:, 7] >= 0) & (chunk.actions[:, 7] <= 1))
    assert sum(encoded) == 4  # two frames × two cameras
    policy.predict_chunk([history[1], obs(0.2, rng)])
    assert sum(encoded) == 6  # only the new frame of each camera
    policy.reset(seed=3)
    a = policy.predict_chunk(history).actions
    policy.reset(seed=3)
    assert np.array_equal(a, policy.predict_chunk(history).actions)  # seeded: reproducible rollouts
    single = policy.predict_chunk(history[:1])  # a short history is padded like an episode start
    assert single.actions.shape == (8, 8)
    with pytest.raises(ValueError, match="camera 'wrist'"):
        policy.predict_chunk([Observation(0.5, history[0].ee_pose, 0.0, images={"scene": history[0].images["scene"]})])


@contextmanager
def agent_in_station(run_dir):
    """A `PolicyAgent` reset on seed 0 of a connected pick_place station with both cameras."""
    from devices.sim.station import make_station

    agent = PolicyAgent(str(run_dir))
    station = make_station("pick_place", cameras=("scene", "wrist"))
    station.connect()
    try:
        station.reset(0)
        agent.reset(station, 0)
        yield agent, station
    finally:
        station.disconnect()


def test_agent_replans_every_action_steps_in_the_station(run_dir):
    with agent_in_station(run_dir) as (agent, station):
        for _ in range(9):
            station.send_action(agent.act(station))
            station.step(0.1)
    assert len(agent.episode_info()["chunk_latency_ms"]) == 3  # ticks 0, 4 and 8 (action_steps = 4)
    assert latency_summary([1.0, 2.0, 3.0])["p50"] == 2.0


def test_eval_cli_runs_a_trained_policy_and_reports_latency(run_dir, capsys):
    assert main(["eval", str(run_dir), "--task", "pick_place", "--episodes", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip())
    for key in ("success_rate", "mean_score", "episodes", "seconds", "policy"):
        assert key in report
    assert report["chunk_latency_ms"]["n"] > 0 and report["chunk_latency_ms"]["p95"] >= report["chunk_latency_ms"]["p50"]


def test_eval_cli_refuses_a_bad_checkpoint_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x04garbage")
    assert main(["eval", str(bad), "--episodes", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a usable Demo Station policy checkpoint" in err[0]


def test_the_expert_path_does_not_import_torch():
    code = "import sys, policy.evaluation; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_agent_plays_the_waypoint_due_one_period_after_the_observation(run_dir):
    """`act` is a target for the next tick; waypoint 0 of a chunk is the command already in force."""
    from policy.agent import observation_from_station

    with agent_in_station(run_dir) as (agent, station):
        runner = DiffusionPolicyRunner.from_checkpoint(str(run_dir), "cpu")
        runner.reset(0)
        chunk = runner.predict_chunk([observation_from_station(station, runner.cameras)])
        played = [agent.act(station).as_vector() for _ in range(runner.action_steps)]
    assert np.allclose(played, chunk.actions[1:1 + runner.action_steps], atol=1e-5)
