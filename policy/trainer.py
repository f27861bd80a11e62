"""Train a diffusion policy on a curated dataset: one plain function, `train`.

AdamW with linear warm-up and cosine decay, EMA weights, gradient clipping, bf16 autocast on
CUDA, validation on held-out episodes (with the EMA weights and fixed noise, so losses compare
across steps), checkpoints (``best`` by validation loss and ``last`` with optimiser state for
resuming), metrics to ``metrics.csv`` and TensorBoard event files, and DistributedDataParallel
when launched by torchrun. Long-work contract: ``progress(done, total, message)`` and
``should_stop()``; a stop finishes the current step, logs the steps since the last metrics row,
saves ``last`` and raises `TrainingStopped` (a `Cancelled`) naming the step and the checkpoint.

Run directory layout::

    RUN/config.json                       the run's configuration (policy + train)
    RUN/checkpoints/{best,last}.safetensors
    RUN/metrics.csv                       one row per log step (and per validation)
    RUN/tb/events.out.tfevents.*          the same scalars for TensorBoard
    RUN/summary.json                      what `train` returned, when it finished
"""

from __future__ import annotations

import csv
import json
import math
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch

from policy.checkpoint import optimizer_tensors, read_checkpoint, restore_optimizer, save_checkpoint
from policy.compute_device import pick_device
from policy.config import RunConfig
from policy.distributed import DistInfo, any_rank, dist_info, init_distributed
from policy.ema import EMA
from policy.model import DiffusionPolicy
from policy.schedule import lr_factor, warmup_steps
from policy.selection import CurationView, EpisodeFilter, Selection, fingerprint, resolve_action_label, select_episodes
from policy.tb_events import ScalarWriter
from policy.windows import DatasetFactory, Windows, batch_stream, image_bytes, move_batch, split_episodes
from recorder.jobs import Cancelled, Progress, ShouldStop, never_stop, no_progress
from recorder.validate import unusable_reason

METRIC_FIELDS = ("step", "time_s", "lr", "loss", "grad_norm", "val_loss", "samples_per_s", "ema_decay")


class TrainingStopped(Cancelled):
    """Training stopped on request; ``checkpoint`` (``last``, with optimiser state) holds ``step``."""

    def __init__(self, step: int, checkpoint: Path) -> None:
        super().__init__(f"training stopped at step {step}; checkpoint saved to {checkpoint}; "
                         "resume by running it again")
        self.step = step
        self.checkpoint = checkpoint


@dataclass
class TrainResult:
    run_dir: str
    steps: int
    train_loss: float
    best_val_loss: float | None
    seconds: float
    samples_per_s: float
    device: str
    world_size: int
    episodes: int
    val_episodes: int
    samples: int
    dataset_fingerprint: str
    stopped_by: str  # "steps" or "time limit"
    weights_sha256: str  # of the final raw weights: equal runs (and all DDP ranks) give equal digests
    action_label: str = "applied"  # what the chunks were learned from: "command" (the sources' requests) or "applied"
    checkpoints: dict[str, str] = field(default_factory=dict)
    skipped_episodes: dict[str, str] = field(default_factory=dict)


class _Metrics:
    """metrics.csv + TensorBoard, appended to (so a resumed run continues the same files)."""

    def __init__(self, run_dir: Path) -> None:
        path = run_dir / "metrics.csv"
        new = not path.exists()
        self._f = open(path, "a", newline="")  # noqa: SIM115 - held open until close()
        self._csv = csv.DictWriter(self._f, fieldnames=METRIC_FIELDS)
        if new:
            self._csv.writeheader()
        self._tb = ScalarWriter(run_dir / "tb")

    def log(self, row: dict) -> None:
        self._csv.writerow({k: ("" if row.get(k) is None else row[k]) for k in METRIC_FIELDS})
        self._f.flush()
        self._tb.add(int(row["step"]), {f"train/{k}" if k != "val_loss" else "val/loss": float(v)
                                        for k, v in row.items() if k != "step" and v is not None})

    def close(self) -> None:
        self._f.close()
        self._tb.close()


def _resolve_config(config: RunConfig, selection: Selection) -> RunConfig:
    cfg = RunConfig.from_dict(config.to_dict())  # a private, validated copy
    if cfg.policy.conditioning == "task" and not cfg.policy.tasks:
        cfg.policy.tasks = tuple(sorted({e.task for e in selection}))
    cfg.policy.action_label = resolve_action_label(cfg.policy.action_label, selection)
    return cfg


def _check_resume(ckpt, cfg: RunConfig, data_fp: str) -> None:
    if ckpt.meta.get("dataset", {}).get("fingerprint") != data_fp:
        raise ValueError(f"{ckpt.path.parent.parent} was trained on other data (different episodes, trims or filter); "
                         "give a new --out or pass --no-resume")
    saved = ckpt.config.policy
    if saved.action_label == "auto":  # saved before labels were resolved: those runs learned the applied command
        saved = replace(saved, action_label="applied")
    if saved != cfg.policy:
        raise ValueError(f"{ckpt.path.parent.parent} was trained with another policy configuration; "
                         "give a new --out or pass --no-resume")


@torch.no_grad()
def _validate(model: DiffusionPolicy, batches: list[dict], device: torch.device, seed: int) -> float | None:
    if not batches:
        return None
    g = torch.Generator(device=device).manual_seed(seed)
    losses = [float(model(move_batch(b, device), generator=g)) for b in batches]
    return sum(losses) / len(losses)


def train(open_dataset: DatasetFactory, out_dir: str | Path, config: RunConfig,
          curation: CurationView | None = None, episode_filter: EpisodeFilter | None = None,
          progress: Progress = no_progress, should_stop: ShouldStop = never_stop, resume: bool = True,
          notice: Callable[[str], None] | None = None) -> TrainResult:
    """Train (or resume) a run in ``out_dir`` on the episodes ``open_dataset()`` yields.

    Episodes that cannot be used — files that do not open, data validate rejects — are left out,
    each reported once through ``notice`` (one line naming it and why) before the first step.
    """
    t_start = time.perf_counter()
    info: DistInfo = dist_info()
    device = pick_device(config.train.device)
    if info.enabled and device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    created_group = init_distributed(info, device)
    try:
        return _train(open_dataset, Path(out_dir), config, curation, episode_filter, progress, should_stop, resume,
                      info, device, t_start, notice or (lambda line: None))
    finally:
        if created_group:
            import torch.distributed as dist

            dist.destroy_process_group()


def _train(open_dataset: DatasetFactory, run_dir: Path, config: RunConfig, curation, episode_filter,
           progress: Progress, should_stop: ShouldStop, resume: bool, info: DistInfo, device: torch.device,
           t_start: float, notice: Callable[[str], None]) -> TrainResult:
    tc = config.train
    if tc.threads > 0 and device.type == "cpu":
        torch.set_num_threads(tc.threads)
    dataset = open_dataset()
    selection = select_episodes(dataset, curation, episode_filter, unusable=unusable_reason)
    if info.is_main:
        for line in dataset.problems() if hasattr(dataset, "problems") else []:
            notice(f"skipped {line}")
        for eid, why in selection.skipped.items():
            if why.startswith("unusable: "):
                notice(f"skipped {eid}: {why[len('unusable: '):]}")
    if not selection.episodes:
        reasons = ", ".join(f"{k}: {v}" for k, v in list(selection.skipped.items())[:3])
        raise ValueError(f"no episodes to train on ({reasons or 'the dataset is empty'})")
    cfg = _resolve_config(config, selection)
    tc, pc = cfg.train, cfg.policy
    train_eps, val_eps = split_episodes(selection.episodes, tc.val_fraction, tc.seed)
    data_fp = fingerprint(selection.episodes, {"val": [e.id for e in val_eps],
                                               "filter": (episode_filter or EpisodeFilter()).as_dict()})
    ckpt_dir = run_dir / "checkpoints"
    last_path, best_path = ckpt_dir / "last.safetensors", ckpt_dir / "best.safetensors"
    resumed = read_checkpoint(last_path) if resume and last_path.exists() else None

    cache = tc.cache_images == "ram" or (tc.cache_images == "auto"
                                         and image_bytes(selection.episodes, pc) <= tc.cache_budget_gb * 1e9)
    train_windows = Windows(open_dataset, train_eps, pc, cache_images=cache,
                            progress=lambda d, t, m="": progress(0, tc.steps, m), should_stop=should_stop)
    val_windows = Windows(open_dataset, val_eps, pc, cache_images=cache, should_stop=should_stop) if val_eps else None
    pc.lowdim_dim = int(train_windows.lowdim.shape[-1])
    if resumed is not None:
        _check_resume(resumed, cfg, data_fp)

    torch.manual_seed(tc.seed)  # same initial weights on every rank
    model = DiffusionPolicy(pc).to(device)
    model.normalizer.fit("action", train_windows.action)
    model.normalizer.fit("lowdim", train_windows.lowdim)
    ema = EMA(model, tc.ema_power, tc.ema_max_decay)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "norm" in name or name.endswith("_pos") else decay).append(p)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": tc.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=tc.lr, betas=(0.95, 0.999))
    start_step, prior_s, best_val = 0, 0.0, math.inf
    if resumed is not None:
        model.load_state_dict(resumed.state_dict("model"))
        ema.model.load_state_dict(resumed.state_dict("ema"))
        restore_optimizer(optimizer, resumed)
        training = resumed.meta.get("training", {})
        start_step = int(training.get("step", 0))
        ema.updates = int(training.get("ema_updates", start_step))
        prior_s = float(training.get("elapsed_s", 0.0))
        best_val = float(training.get("best_val_loss") or math.inf)
    if start_step >= tc.steps:
        raise ValueError(f"{run_dir} has already trained {start_step} of {tc.steps} steps; "
                         "ask for more --steps or give a new --out")

    net: torch.nn.Module = model
    if info.enabled:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    use_amp = tc.amp and device.type == "cuda"
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_amp else nullcontext
    torch.manual_seed(tc.seed * 7919 + info.rank + start_step)  # noise and crops differ per rank and resume
    stream = batch_stream(train_windows, tc.batch_size, tc.seed + start_step, info.rank, info.world, tc.num_workers)
    val_batches = _fixed_batches(val_windows, tc.batch_size, tc.val_batches) if val_windows is not None else []

    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    dataset_meta = {"fingerprint": data_fp, "episodes": len(train_eps), "val_episodes": len(val_eps),
                    "samples": len(train_windows), "val_ids": [e.id for e in val_eps],
                    "filter": (episode_filter or EpisodeFilter()).as_dict(), "skipped": len(selection.skipped)}
    warm = warmup_steps(tc.warmup_steps, tc.steps)

    def fraction_done(step: int, elapsed: float) -> float:
        f = step / tc.steps
        return max(f, elapsed / tc.time_limit_s) if tc.time_limit_s > 0 else f

    def save(path: Path, step: int, elapsed: float, val: float | None, with_optim: bool) -> None:
        tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
        tensors.update({f"ema.{k}": v for k, v in ema.model.state_dict().items()})
        meta = {"dataset": dataset_meta, "normalizer": model.normalizer.stats(),
                "training": {"step": step, "elapsed_s": elapsed, "val_loss": val, "ema_updates": ema.updates,
                             "best_val_loss": None if math.isinf(best_val) else best_val}}
        if with_optim:
            opt_tensors, groups = optimizer_tensors(optimizer)
            tensors.update(opt_tensors)
            meta["optim_groups"] = groups
        save_checkpoint(path, cfg, tensors, meta)

    metrics = _Metrics(run_dir) if info.is_main else None
    loop_start = time.perf_counter()
    step, loss_sum, loss_n, last_loss, grad_norm = start_step, 0.0, 0, float("nan"), 0.0
    stopped_by, val_loss, val_step, window_start, window_steps = "steps", None, -1, time.perf_counter(), 0
    lr_now = tc.lr

    def metrics_row(step: int, now: float, lr: float, val: float | None) -> dict:
        """One metrics.csv row: the mean loss and the throughput since the previous row."""
        rate = window_steps * tc.batch_size * info.world / max(1e-9, now - window_start)
        return {"step": step, "time_s": round(prior_s + now - loop_start, 3), "lr": lr, "loss": loss_sum / loss_n,
                "grad_norm": grad_norm, "val_loss": val, "samples_per_s": round(rate, 2), "ema_decay": ema.decay()}

    model.train()
    try:
        while step < tc.steps:
            elapsed = prior_s + time.perf_counter() - loop_start
            stop_now = should_stop()
            time_up = tc.time_limit_s > 0 and elapsed >= tc.time_limit_s
            if any_rank(stop_now or time_up, info, device):
                if stop_now or not time_up:
                    if info.is_main:
                        if loss_n:  # the steps since the last log row: the metrics end where the weights do
                            metrics.log(metrics_row(step, time.perf_counter(), lr_now, None))
                        save(last_path, step, elapsed, val_loss, with_optim=True)
                    raise TrainingStopped(step, last_path)
                stopped_by = "time limit"
                break
            lr = lr_now = tc.lr * lr_factor(step, fraction_done(step, elapsed), warm)
            for group in optimizer.param_groups:
                group["lr"] = lr
            batch = move_batch(next(stream), device)
            with autocast():
                loss = net(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip))
            optimizer.step()
            ema.update(model)
            step += 1
            window_steps += 1
            last_loss = float(loss.detach())
            if not math.isfinite(last_loss):
                raise RuntimeError(f"the training loss became {last_loss} at step {step}; lower the learning rate")
            loss_sum, loss_n = loss_sum + last_loss, loss_n + 1
            do_val = val_batches and (step % tc.val_every == 0 or step == tc.steps)
            if info.is_main and (step % tc.log_every == 0 or step == tc.steps or do_val):
                now = time.perf_counter()
                if do_val:
                    val_loss, val_step = _validate(ema.model, val_batches, device, tc.seed), step
                row = metrics_row(step, now, lr, val_loss if do_val else None)
                metrics.log(row)
                window_start, window_steps = now, 0
                loss_sum, loss_n = 0.0, 0
                elapsed = prior_s + now - loop_start
                if do_val and val_loss is not None and val_loss < best_val:
                    best_val = val_loss
                    save(best_path, step, elapsed, val_loss, with_optim=False)
                if step % tc.save_every == 0:
                    save(last_path, step, elapsed, val_loss, with_optim=True)
                progress(step, tc.steps, f"loss {row['loss']:.4f}" + (f" val {val_loss:.4f}" if do_val and val_loss is not None else ""))
        elapsed = prior_s + time.perf_counter() - loop_start
        if info.is_main:
            if val_batches and val_step != step:
                val_loss = _validate(ema.model, val_batches, device, tc.seed)
                if val_loss is not None and val_loss < best_val:
                    best_val = val_loss
                    save(best_path, step, elapsed, val_loss, with_optim=False)
            save(last_path, step, elapsed, val_loss, with_optim=True)
            if not val_batches:  # nothing held out: the last weights are the best we know
                save(best_path, step, elapsed, None, with_optim=False)
    finally:
        if metrics is not None:
            metrics.close()
        train_windows.close()
        if val_windows is not None:
            val_windows.close()
    seconds = time.perf_counter() - t_start
    trained = step - start_step
    result = TrainResult(
        run_dir=str(run_dir), steps=step, train_loss=last_loss,
        best_val_loss=None if math.isinf(best_val) else best_val, seconds=seconds,
        samples_per_s=trained * tc.batch_size * info.world / max(1e-9, time.perf_counter() - loop_start),
        device=str(device), world_size=info.world, episodes=len(train_eps), val_episodes=len(val_eps),
        samples=len(train_windows), dataset_fingerprint=data_fp, stopped_by=stopped_by, action_label=pc.action_label,
        weights_sha256=_weights_digest(model),
        checkpoints={"best": str(best_path), "last": str(last_path)}, skipped_episodes=dict(selection.skipped))
    if info.is_main:
        (run_dir / "summary.json").write_text(json.dumps(asdict(result), indent=2) + "\n")
    return result


def _weights_digest(model: torch.nn.Module) -> str:
    import hashlib

    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _fixed_batches(windows: Windows, batch_size: int, n_batches: int) -> list[dict]:
    """Up to ``n_batches`` batches of windows spread evenly over the held-out episodes."""
    n = min(len(windows), batch_size * n_batches)
    idx = torch.linspace(0, len(windows) - 1, n).round().long().unique()
    chunks = idx.split(batch_size)
    if windows.cached:
        return [windows.batch(c) for c in chunks]
    return [torch.utils.data.default_collate([windows[int(i)] for i in c]) for c in chunks]
