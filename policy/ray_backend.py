"""Rollouts as Ray tasks: the same per-episode function as the process pool, on a laptop or a cluster.

`RayTasks` is the second `policy.evaluation.RolloutExecutor`. Each (settings, seed) job is one Ray
task running `policy.evaluation.run_job` — the function the local worker processes run — so the
same seeds give exactly the same episodes on either backend. The agent goes into Ray's object
store once; at most ``workers`` tasks are in flight (0: one per CPU of the cluster), so a stop
leaves little running and the order of submission matches the process pool's.

A task whose worker process dies (killed, out of memory, a node lost) is submitted again, up to
``max_retries`` times, and each retry is reported (progress message and `EvalReport.retried`);
past that the evaluation fails with one line naming the seed. An episode that raises is not
retried: it would fail the same way again (the seeds make it deterministic).

Without an address a local Ray instance is started for the evaluation and shut down after it; with
one (``ray start --head`` on the head node, ``ray start --address HEAD:6379`` on the others), the
driver joins that cluster, whose nodes must have Demo Station installed (docs/runtime.md).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from policy.evaluation import EpisodeResult, EvaluationError, Job, _limit_threads, run_job
from recorder.jobs import Cancelled, Progress, ShouldStop

POLL_S = 0.2  # how often a stop request is looked at while rollouts run
REACH_TIMEOUT_S = 5.0  # Ray itself retries an unreachable head for minutes before giving up


def check_reachable(address: str, timeout_s: float = REACH_TIMEOUT_S) -> None:
    """ValueError (one line) unless something listens at the cluster address ``HOST:PORT``
    (``ray://HOST:PORT`` too; ``auto`` is Ray's own lookup of a cluster on this machine)."""
    if address == "auto":
        return
    hostport = address.split("://", 1)[-1]
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"--address takes HOST:PORT (the head node's `ray start --head` port), got {address!r}")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise ValueError(f"no Ray cluster answers at {address!r} ({exc.strerror or type(exc).__name__}); "
                         "start one with `ray start --head` and pass the address it prints") from None


@contextmanager
def _keep_sigterm_handler() -> Iterator[None]:
    """``ray.init`` replaces the driver's SIGTERM handler with ``sys.exit``; put back the caller's,
    so the eval command's SIGTERM still means "cancel between rollouts" (exit 1, one line)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _code_path() -> str:
    """PYTHONPATH for local Ray workers: the folder holding this ``policy`` package first, so a
    checkout run from its own folder is what the workers import, not an older installed copy."""
    root = str(Path(__file__).resolve().parents[1])
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
    return os.pathsep.join([root, *rest])


def _ray_job(agent: object, settings: object, seed: int) -> tuple[str, EpisodeResult | str]:
    """The body of one Ray task: one CPU's worth of threads, then the shared per-episode function."""
    _limit_threads(1)
    return run_job(agent, settings, seed)


@dataclass
class RayTasks:
    """Run rollouts as Ray tasks on the cluster at ``address`` (None: a local one started here)."""

    address: str | None = None
    workers: int = 0  # rollouts in flight at once; 0: the cluster's CPU count
    max_retries: int = 3
    name: str = "ray"
    retried: list[str] = field(default_factory=list)

    def run(self, agent: object, jobs: list[Job], progress: Progress, should_stop: ShouldStop,
            describe: Callable[[EpisodeResult], str]) -> list[EpisodeResult]:
        import ray

        started = self._connect(ray)
        try:
            return self._run(ray, agent, jobs, progress, should_stop, describe)
        finally:
            if started:
                ray.shutdown()

    def _connect(self, ray) -> bool:
        """Join the cluster (or start a local one); True if this call started Ray and must stop it."""
        if self.address:
            check_reachable(self.address)
        if ray.is_initialized():  # joined already (an embedding program, the tests' cluster)
            return False
        # ERROR: Ray's start-up notices would be stray stderr lines for a front-end reading
        # --progress-json; what goes wrong in a rollout is reported by this module itself.
        kwargs = dict(include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
        with _keep_sigterm_handler():
            self._init(ray, kwargs)
        return True

    def _init(self, ray, kwargs: dict) -> None:
        try:
            if self.address:
                ray.init(address=self.address, **kwargs)
            else:  # the local workers import the very code this process runs (not another install)
                ray.init(num_cpus=os.cpu_count() or 1, runtime_env={"env_vars": {"PYTHONPATH": _code_path()}},
                         **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at {self.address!r}" if self.address else "a local Ray instance"
            detail = " ".join(str(exc).split())[:200]
            raise ValueError(f"cannot start or reach {where} ({detail}); start one with `ray start --head` "
                             "and pass its address as --address HOST:6379") from None

    def _run(self, ray, agent, jobs, progress, should_stop, describe) -> list[EpisodeResult]:
        from ray.exceptions import RayError, RayTaskError, TaskCancelledError

        total = len(jobs)
        cpus = int(ray.cluster_resources().get("CPU", 1)) or 1
        self.workers = max(1, min(int(self.workers) or cpus, total))
        task = ray.remote(num_cpus=1, max_retries=0)(_ray_job)  # retries are ours, so they can be reported
        agent_ref = ray.put(agent)
        out: list[EpisodeResult | None] = [None] * total
        attempts = [0] * total
        pending: dict = {}  # ObjectRef -> job index
        queue = list(range(total))[::-1]  # next job at the end

        def submit(index: int) -> None:
            settings, seed = jobs[index]
            pending[task.remote(agent_ref, settings, seed)] = index

        done = 0
        try:
            while queue and len(pending) < self.workers:
                submit(queue.pop())
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
                if should_stop():
                    raise Cancelled("stopped by request")
                for ref in ready:
                    index = pending.pop(ref)
                    seed = jobs[index][1]
                    try:
                        kind, payload = ray.get(ref)
                    except TaskCancelledError:
                        raise Cancelled("stopped by request") from None
                    except RayTaskError as exc:  # raised outside run_job's guard (unpickling the agent, ...)
                        raise EvaluationError(f"episode seed {seed} failed: {type(exc.cause).__name__}: "
                                              f"{' '.join(str(exc.cause).split())[:300]}") from None
                    except RayError as exc:  # the worker (or its node) died under the task
                        reason = type(exc).__name__
                        if attempts[index] >= self.max_retries:
                            raise EvaluationError(f"episode seed {seed}: its Ray worker died {attempts[index] + 1} "
                                                  f"time(s) ({reason}); gave up after --max-retries "
                                                  f"{self.max_retries}") from None
                        attempts[index] += 1
                        line = f"seed {seed}: worker died ({reason}), retry {attempts[index]} of {self.max_retries}"
                        self.retried.append(line)
                        progress(done, total, line)
                        submit(index)
                        continue
                    if kind == "error":
                        raise EvaluationError(payload)
                    out[index] = payload
                    done += 1
                    progress(done, total, describe(payload))
                    if queue:
                        submit(queue.pop())
        finally:
            for ref in pending:  # stopped or failed: whatever is still queued or running is cancelled
                ray.cancel(ref, force=False)
        return out  # type: ignore[return-value]
