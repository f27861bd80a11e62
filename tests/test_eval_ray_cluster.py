"""`eval --backend ray --address` against a real two-node Ray cluster that this module starts with
`ray start` (a head and a second node on this machine, as docs/runtime.md tells a lab to do on
several) and stops: the driver joins it, the rollouts spread over both nodes' CPUs, and the
episodes are exactly the process pool's. Ray 2.60's `ray start` turns on token authentication,
so the cluster gets its own token, given to every node and to the driver through the environment."""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from policy.evaluation import EvalSettings, ExpertAgent, evaluate

pytestmark = pytest.mark.slow  # two `ray start`s cost ~20 s

ROOT = Path(__file__).resolve().parents[1]
RAY = Path(sys.executable).with_name("ray")


def _free_port_below_ray_worker_range() -> int:
    """Ray's worker ports are 10002-19999; a head port there is refused. Find a free one below."""
    for port in range(6400, 9999):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for the Ray head")


def _wait_for_port(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the Ray head did not open port {port} in {timeout_s:.0f} s")


@pytest.fixture(scope="module")
def cluster():
    if not RAY.exists():
        pytest.fail(f"the ray extra is installed but its `ray` command is not at {RAY}")
    short = Path(f"/tmp/dsray{os.getpid()}")  # Ray's socket paths must stay short
    short.mkdir(exist_ok=True)
    token = short / "token"
    token.write_text(secrets.token_hex(32))
    port = _free_port_below_ray_worker_range()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--block"]
    procs = [subprocess.Popen([str(RAY), "start", "--head", "--port", str(port), "--include-dashboard=false",
                               "--temp-dir", str(short), *common], env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        _wait_for_port(port, 60)
        procs.append(subprocess.Popen([str(RAY), "start", "--address", f"127.0.0.1:{port}", *common], env=env,
                                      start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(8)  # the second node registers with the head
        yield f"127.0.0.1:{port}", env
    finally:
        for p in reversed(procs):  # --block: SIGTERM to the group stops that node's processes
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        shutil.rmtree(short, ignore_errors=True)


def test_eval_joins_a_two_node_cluster_by_address_and_matches_the_process_pool(cluster, tmp_path):
    address, env = cluster
    proc = subprocess.run([sys.executable, "-m", "app", "eval", "expert", "--episodes", "3", "--seed", "5",
                           "--expert-noise", "0.3", "--backend", "ray", "--address", address, "--json"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    on_cluster = json.loads(proc.stdout)
    assert on_cluster["backend"] == "ray" and on_cluster["retried"] == []
    assert on_cluster["workers"] == 2  # one CPU on each node: both nodes took rollouts
    pool = evaluate(ExpertAgent(noise=0.3), EvalSettings(episodes=3, seed=5, workers=1))
    assert on_cluster["episodes"] == 3
    assert on_cluster["success_rate"] == pool.success_rate
    assert on_cluster["mean_score"] == pytest.approx(pool.mean_score, abs=0)
