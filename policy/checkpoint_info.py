"""A checkpoint at a glance (`demostation info RUN`): what it is, what it was trained on, and with
which training augmentations — all read from its JSON metadata, never executed."""

from __future__ import annotations

from pathlib import Path

from policy.checkpoint import read_checkpoint, resolve_checkpoint


def is_checkpoint_source(path: str | Path) -> bool:
    """A checkpoint file or a training run directory (rather than a dataset)."""
    p = Path(path)
    return (p.is_file() and p.suffix == ".safetensors") or (p.is_dir() and (p / "checkpoints").is_dir()
                                                            and not (p / "episodes").is_dir())


def checkpoint_info(source: str | Path) -> dict:
    """Summary of the checkpoint at ``source`` (a file, or a run's best, else last, checkpoint)."""
    ckpt = read_checkpoint(resolve_checkpoint(source))
    p = ckpt.config.policy
    training = ckpt.meta.get("training", {})
    dataset = ckpt.meta.get("dataset", {})
    return {
        "checkpoint": str(ckpt.path),
        "step": ckpt.step,
        "elapsed_s": training.get("elapsed_s"),
        "val_loss": training.get("val_loss"),
        "policy": {"head": p.head, "objective": p.objective, "encoder": p.encoder, "cameras": list(p.cameras),
                   "tasks": list(p.tasks), "obs_steps": p.obs_steps, "horizon": p.horizon,
                   "action_steps": p.action_steps},
        "augmentation": p.augmentation(),
        "train": {"steps": ckpt.config.train.steps, "batch_size": ckpt.config.train.batch_size,
                  "lr": ckpt.config.train.lr, "seed": ckpt.config.train.seed},
        "dataset": {k: dataset.get(k) for k in ("episodes", "samples", "filter") if k in dataset},
    }


def augmentation_of(source: str | Path) -> dict | None:
    """The training augmentations of a checkpoint source, or None for a non-checkpoint (the expert)."""
    try:
        return checkpoint_info(source)["augmentation"] if is_checkpoint_source(source) else None
    except ValueError:
        return None
