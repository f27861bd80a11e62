"""Evaluation throughput: closed-loop rollouts per hour through the full runtime, in worker processes.

Every rollout runs what a robot would run (observation history, chunk predictor, action buffer,
100 Hz safety controller) in simulated time. Sources:

* ``expert``: the scripted expert, one waypoint per 10 Hz period (no cameras);
* ``fake`` (default): a stand-in for the default CPU diffusion policy until a trained one is at
  hand — the scripted expert's receding-horizon plan (so episodes last as long as successful ones
  do), plus ``--cost-ms`` of busy CPU work per chunk, with both 96×96 cameras rendered for every
  observation a request uses, as the real policy needs them;
* a training run directory: the trained policy itself (``--source runs/pick``).

    python bench/eval_throughput.py [--source fake|expert|expert-chunks|RUN] [--episodes 24]
                                    [--workers 2] [--cost-ms 30] [--latency auto|0|MS]

Target: >= 1,000 rollouts per hour on a 2-core machine with the default CPU policy. Prints one
JSON object (with the machine's CPU count and load average, which matter on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policy.runtime.predictors import ScriptedExpertPredictor  # noqa: E402


class CostlyPredictor(ScriptedExpertPredictor):
    """The scripted expert's chunks after ``cost_ms`` of real CPU work (matrix products), standing
    in for a policy's encoder and denoiser: it competes for the cores like one would."""

    def __init__(self, cost_ms: float = 30.0, horizon: int = 16) -> None:
        super().__init__(horizon=horizon)
        self.cost_ms = cost_ms
        self._a = np.random.default_rng(0).normal(size=(96, 96))

    def predict_chunk(self, obs_history):
        for o in obs_history:  # touch the images like an encoder would
            for img in o.images.values():
                float(img.mean())
        end = time.perf_counter() + self.cost_ms / 1000.0
        x = self._a
        while time.perf_counter() < end:
            x = np.tanh(x @ self._a * 0.01)
        return super().predict_chunk(obs_history)


def make_agent(source: str, cost_ms: float, device: str):
    from policy.evaluation import ChunkAgent, ExpertAgent, expert_chunk_agent, policy_chunk_agent

    if source == "expert":
        return ExpertAgent(), {}
    if source == "expert-chunks":
        return expert_chunk_agent(), {}
    if source == "fake":
        return ChunkAgent(partial(CostlyPredictor, cost_ms), name=f"fake-policy-{cost_ms:g}ms", uses_cameras=True,
                          n_obs_steps=2, n_execute=8, due_offset=1), {}
    return policy_chunk_agent(source, device)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default="fake", help="fake (default), expert, expert-chunks, or a training run directory")
    ap.add_argument("--episodes", type=int, default=24)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cost-ms", type=float, default=30.0, help="CPU work per chunk of the fake policy")
    ap.add_argument("--latency", default="auto", help="auto (default: measured), 0 or milliseconds")
    ap.add_argument("--task", default="pick_place")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    from policy.evaluation import EvalSettings, evaluate
    from policy.runtime.runner import parse_latency

    agent, needs = make_agent(args.source, args.cost_ms, args.device)
    settings = EvalSettings(task=args.task, episodes=args.episodes, workers=args.workers,
                            latency_ms=parse_latency(args.latency))
    if needs.get("cameras"):
        settings.cameras = needs["cameras"]
    if needs.get("rate_hz"):
        settings.rate_hz = needs["rate_hz"]
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    report = evaluate(agent, settings)
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "benchmark": "eval_throughput",
        "source": args.source,
        "policy": report.policy,
        "task": args.task,
        "episodes": report.episodes,
        "workers": report.workers,
        "latency": report.latency,
        "seconds": round(seconds, 2),
        "rollouts_per_hour": round(report.episodes / seconds * 3600.0, 1),
        "success_rate": report.success_rate,
        "mean_episode_sim_s": round(report.sim_seconds / report.episodes, 2),
        "mean_episode_wall_s": round(float(np.mean([r.wall_seconds for r in report.results])), 3),
        "chunk_latency_ms": report.chunk_latency_ms,
        "predict_ms": report.predict_ms,
        "safety_interventions": report.safety_interventions,
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }))


if __name__ == "__main__":
    main()
