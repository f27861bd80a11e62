"""Checkpoints as data: safetensors for every tensor, JSON for everything else. Never pickle.

One file per checkpoint (``RUN/checkpoints/best.safetensors``, ``last.safetensors``):

- tensors ``model.*`` (raw weights, normaliser buffers included), ``ema.*`` (the averaged weights
  a policy runs with) and, in ``last``, ``optim.*`` (AdamW moments, for resuming);
- safetensors metadata (strings): ``format``, ``format_version``, ``config`` (the run's JSON
  configuration), ``normalizer`` (the statistics as JSON, for humans — the buffers are the truth),
  ``dataset`` (fingerprint, episode and sample counts, filter), ``training`` (step, losses, time),
  ``optim_groups``, and ``digest``: a SHA-256 over every tensor's name, dtype, shape and bytes and
  every other metadata entry, so a changed byte anywhere is reported instead of silently loaded.

Loading parses a JSON header and copies raw arrays — nothing in the file is ever executed. Any
problem (not a safetensors file, a pickle, another program's weights, a changed byte, a config we
do not understand) is a one-line ValueError naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from policy.checkpoint_header import check_shapes, read_header
from policy.config import RunConfig

FORMAT = "demostation-policy"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file that cannot be trusted or understood (always one line)."""


@dataclass
class Checkpoint:
    path: Path
    config: RunConfig
    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]  # decoded JSON metadata: dataset, training, normalizer, optim_groups

    def state_dict(self, prefix: str) -> dict[str, torch.Tensor]:
        p = prefix + "."
        return {k[len(p):]: v for k, v in self.tensors.items() if k.startswith(p)}

    @property
    def step(self) -> int:
        return int(self.meta.get("training", {}).get("step", 0))


def _digest(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    for key in sorted(metadata):
        if key != "digest":
            h.update(f"{key}={metadata[key]}|".encode())
    return h.hexdigest()


def save_checkpoint(path: str | Path, config: RunConfig, tensors: dict[str, torch.Tensor],
                    meta: dict[str, Any]) -> Path:
    """Write atomically (temporary file + rename): a crash mid-save never leaves a broken checkpoint."""
    from safetensors.torch import save

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cpu = {k: v.detach().to("cpu").clone() for k, v in tensors.items()}  # own storage each (safetensors refuses aliases)
    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION),
                "config": json.dumps(config.to_dict(), sort_keys=True)}
    metadata.update({k: json.dumps(v, sort_keys=True) for k, v in meta.items()})
    metadata["digest"] = _digest(cpu, metadata)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_bytes(save(cpu, metadata=metadata))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half checkpoint taking the space
        raise
    return path


def _fail(path: Path, why: str) -> CheckpointError:
    return CheckpointError(f"{path} is not a usable Demo Station policy checkpoint: {why}")


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Read and verify a checkpoint file (see the module docstring for what is checked).

    The header is read and checked first (`policy.checkpoint_header`): its length is bounded, its
    configuration's sizes are bounded, and every tensor it announces must have the shape the
    configuration builds and lie inside the file — only then are the tensors read, through a
    memory map, so a hostile file costs the bytes of its header, not of the file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint file at {path}")

    def fail(why: str) -> CheckpointError:
        return _fail(path, why)

    header = read_header(path, fail)
    metadata = header.metadata
    if metadata.get("format") != FORMAT:
        raise fail(f"it is not a {FORMAT} file (a foreign safetensors file?)")
    if metadata.get("format_version") != str(FORMAT_VERSION):
        raise fail(f"format version {metadata.get('format_version')!r}, this build reads {FORMAT_VERSION}")
    try:
        config = RunConfig.from_dict(json.loads(metadata["config"]))
        meta = {k: json.loads(v) for k, v in metadata.items() if k not in ("format", "format_version", "config", "digest")}
    except (KeyError, json.JSONDecodeError, RecursionError) as exc:
        raise fail(f"its metadata is incomplete ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from None
    except (ValueError, TypeError) as exc:
        raise fail(f"its configuration is not understood ({exc})") from None
    check_shapes(header.tensors, _built_shapes(config, fail), fail)
    tensors = _read_tensors(path, fail)
    if metadata.get("digest") != _digest(tensors, metadata):
        raise fail("its content does not match its digest (the file was changed or damaged)")
    return Checkpoint(path, config, tensors, meta)


def _built_shapes(config: RunConfig, fail) -> dict[str, tuple[int, ...]]:
    """Every state-dict shape of the network ``config`` builds, without allocating it (meta device)."""
    from policy.model import DiffusionPolicy

    try:
        with torch.device("meta"):
            model = DiffusionPolicy(config.policy)
    except ValueError as exc:
        raise fail(f"its configuration cannot build a policy ({exc})") from None
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _read_tensors(path: Path, fail) -> dict[str, torch.Tensor]:
    """The tensors, copied one by one out of a memory map (the file is never read whole)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            names = f.keys()  # a safetensors handle is not iterable itself
            return {name: f.get_tensor(name) for name in names}
    except Exception as exc:  # noqa: BLE001 - the safetensors parser's own errors: the file changed under us, bad bytes
        raise fail(f"its tensors cannot be read ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from None


# -- optimiser state as tensors + JSON ---------------------------------------------------------------

def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list[dict]]:
    sd = optimizer.state_dict()
    tensors = {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            tensors[f"optim.{idx}.{key}"] = value if torch.is_tensor(value) else torch.tensor(value)
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in sd["param_groups"]]
    return tensors, groups


def restore_optimizer(optimizer: torch.optim.Optimizer, ckpt: Checkpoint) -> None:
    groups = ckpt.meta.get("optim_groups")
    if not groups:
        raise CheckpointError(f"{ckpt.path} holds no optimiser state (resume from last.safetensors)")
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in ckpt.state_dict("optim").items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in groups]
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{ckpt.path}: optimiser state does not fit this model ({exc})") from None


def policy_from_checkpoint(ckpt: Checkpoint, weights: str = "ema") -> "torch.nn.Module":
    """Build the network from the checkpoint's configuration and load ``weights`` (ema or model)."""
    from policy.model import DiffusionPolicy

    try:
        model = DiffusionPolicy(ckpt.config.policy)
    except ValueError as exc:
        raise _fail(ckpt.path, f"its configuration cannot build a policy ({exc})") from None
    state = ckpt.state_dict(weights)
    if not state:
        raise _fail(ckpt.path, f"it holds no {weights!r} weights")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise _fail(ckpt.path, f"its weights do not fit its configuration ({' '.join(first[:2])})") from None
    return model.eval()


def resolve_checkpoint(source: str | Path) -> Path:
    """A checkpoint file, or a run directory (its best checkpoint, else its last)."""
    p = Path(source)
    if p.is_dir():
        for name in ("best.safetensors", "last.safetensors"):
            if (p / "checkpoints" / name).is_file():
                return p / "checkpoints" / name
        raise CheckpointError(f"{p} holds no checkpoints/best.safetensors or last.safetensors: is it a training run?")
    if not p.exists():
        raise CheckpointError(f"no training run or checkpoint at {p}")
    return p


def load_policy(source: str | Path, device: str | torch.device = "cpu", weights: str = "ema"):
    """(network on ``device`` in eval mode, its Checkpoint) from a run directory or checkpoint file."""
    ckpt = read_checkpoint(resolve_checkpoint(source))
    return policy_from_checkpoint(ckpt, weights).to(device), ckpt
