"""Evaluation throughput: closed-loop rollouts per hour through the full runtime, on each backend.

Every rollout runs what a robot would run (observation history, chunk predictor, action buffer,
100 Hz safety controller) in simulated time. Sources:

* ``expert``: the scripted expert, one waypoint per 10 Hz period (no cameras);
* ``fake`` (default): a stand-in for the default CPU diffusion policy until a trained one is at
  hand — the scripted expert's receding-horizon plan (so episodes last as long as successful ones
  do), plus ``--cost-ms`` of busy CPU work per chunk, with both 96×96 cameras rendered for every
  observation a request uses, as the real policy needs them;
* a training run directory: the trained policy itself (``--source runs/pick``).

    python bench/eval_throughput.py [--source fake|expert|expert-chunks|RUN] [--episodes 8]
                                    [--workers 1,2,all] [--backends process,ray] [--cost-ms 30]
                                    [--latency auto|0|MS] [--noop-tasks 200]

For every backend and worker count (``all``: every core) the same seeds are run; the JSON has
rollouts per hour for each, the scaling per added worker (rollouts per hour gained per worker over
one worker, and the speed-up), and Ray's overhead: the round trip of a no-op Ray task carrying the
same agent and settings as a rollout (per task, in flight one per CPU), Ray's start-up, and the
extra wall time per rollout of Ray over the process pool at equal workers. Target: >= 1,000
rollouts per hour on a 2-core machine with the default CPU policy. The machine's CPU count and
load average are printed too (they matter on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
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


def _noop(agent: object, settings: object, seed: int) -> int:
    """A Ray task with a rollout's arguments and none of its work: what Ray itself costs per task."""
    return seed


def ray_overhead(agent: object, settings: object, tasks: int, cpus: int) -> dict:
    """Ray's start-up, and the mean round trip of ``tasks`` no-op tasks (one in flight per CPU)."""
    import logging

    import ray

    t0 = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    started = time.perf_counter() - t0
    noop = ray.remote(num_cpus=1)(_noop)
    ref = ray.put(agent)
    ray.get([noop.remote(ref, settings, i) for i in range(cpus)])  # workers up
    t0 = time.perf_counter()
    ray.get([noop.remote(ref, settings, i) for i in range(tasks)])
    per_task = (time.perf_counter() - t0) / tasks
    return {"ray_start_s": round(started, 2), "noop_task_ms": round(per_task * 1000.0, 2),
            "noop_tasks": tasks}


def measure(agent: object, settings: object) -> dict:
    from policy.evaluation import evaluate

    t0 = time.perf_counter()
    report = evaluate(agent, settings)
    seconds = time.perf_counter() - t0
    return {
        "backend": settings.backend, "workers": report.workers, "episodes": report.episodes,
        "seconds": round(seconds, 2), "rollouts_per_hour": round(report.episodes / seconds * 3600.0, 1),
        "success_rate": report.success_rate,
        "mean_episode_sim_s": round(report.sim_seconds / report.episodes, 2),
        "mean_episode_wall_s": round(float(np.mean([r.wall_seconds for r in report.results])), 3),
        "predict_ms_p50": (report.predict_ms or {}).get("p50"),
        "retried": len(report.retried),
        "_scores": [(r.seed, r.success, r.score, r.steps) for r in report.results],
    }


def scaling(runs: list[dict]) -> dict:
    """Per backend: speed-up over one worker, and rollouts per hour gained per added worker."""
    out = {}
    for backend in sorted({r["backend"] for r in runs}):
        mine = sorted((r for r in runs if r["backend"] == backend), key=lambda r: r["workers"])
        one = next((r for r in mine if r["workers"] == 1), None)
        if one is None:
            continue
        out[backend] = [{"workers": r["workers"], "speedup": round(r["rollouts_per_hour"] / one["rollouts_per_hour"], 2),
                         "per_added_worker": round((r["rollouts_per_hour"] - one["rollouts_per_hour"])
                                                   / (r["workers"] - 1), 1)}
                        for r in mine if r["workers"] > 1]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default="fake", help="fake (default), expert, expert-chunks, or a training run directory")
    ap.add_argument("--episodes", type=int, default=8)
    ap.add_argument("--workers", default="1,2,all", help="worker counts, comma-separated; all = every core")
    ap.add_argument("--backends", default="process,ray", help="process, ray or both (default)")
    ap.add_argument("--cost-ms", type=float, default=30.0, help="CPU work per chunk of the fake policy")
    ap.add_argument("--latency", default="0", help="0 (default: results comparable across runs), auto or milliseconds")
    ap.add_argument("--noop-tasks", type=int, default=200, help="no-op Ray tasks timed for the overhead")
    ap.add_argument("--task", default="pick_place")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    from policy.evaluation import EvalSettings
    from policy.runtime.runner import parse_latency

    cpus = os.cpu_count() or 1
    counts = sorted({cpus if w.strip() == "all" else int(w) for w in args.workers.split(",")})
    backends = [b.strip() for b in args.backends.split(",")]
    agent, needs = make_agent(args.source, args.cost_ms, args.device)
    base = EvalSettings(task=args.task, episodes=args.episodes, latency_ms=parse_latency(args.latency))
    if needs.get("cameras"):
        base.cameras = needs["cameras"]
    if needs.get("rate_hz"):
        base.rate_hz = needs["rate_hz"]
    load_before = os.getloadavg()
    runs, overhead = [], {}
    for backend in backends:
        if backend == "ray":  # one Ray instance for every Ray run, its start timed apart
            overhead = ray_overhead(agent, base, args.noop_tasks, cpus)
        try:
            for n in counts:
                runs.append(measure(agent, replace(base, backend=backend, workers=n)))
        finally:
            if backend == "ray":
                import ray

                ray.shutdown()
    same = len({json.dumps(r.pop("_scores")) for r in runs}) == 1
    by = {(r["backend"], r["workers"]): r for r in runs}
    extra = {n: round((by[("ray", n)]["seconds"] - by[("process", n)]["seconds"]) / args.episodes * 1000.0, 1)
             for n in counts if ("ray", n) in by and ("process", n) in by}
    if extra:
        overhead["ray_minus_process_ms_per_rollout"] = {str(n): v for n, v in extra.items()}
    print(json.dumps({
        "benchmark": "eval_throughput", "source": args.source, "policy": agent.name, "task": args.task,
        "episodes_per_run": args.episodes, "latency": args.latency, "runs": runs, "scaling": scaling(runs),
        "ray_overhead": overhead, "same_episodes_on_every_run": same, "cpus": cpus,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }))


if __name__ == "__main__":
    main()
