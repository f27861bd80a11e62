"""Policy and training configuration: dataclasses that round-trip through JSON, with presets.

A run's whole configuration is saved as JSON beside (and inside) every checkpoint, so a policy
can be rebuilt from data alone. ``from_dict`` checks every key and type, so a typo in a
``--config`` file is a one-line error, not a silently ignored setting.

Presets: ``cpu`` is the project default — a small convolutional encoder and a small U-Net that
train in minutes and answer in milliseconds on a laptop CPU; ``gpu`` follows Diffusion Policy's
published setting (ResNet-18-GroupNorm, wide U-Net) for a CUDA machine.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACTION_LABELS = ("auto", "command", "applied")

# Every size that allocates, bounded before anything is built: a configuration (a checkpoint's
# included) is untrusted input, and a horizon of 5e6 or a width of 1e9 would otherwise be tried.
# The limits are far above any preset (the GPU preset's largest width is 1024).
SIZE_BOUNDS: dict[str, tuple[int, int]] = {
    "obs_steps": (1, 64), "horizon": (1, 512), "image_size": (16, 1024), "crop_size": (8, 1024),
    "lowdim_dim": (0, 4096), "encoder_channels": (1, 1024), "keypoints": (1, 1024), "image_features": (1, 4096),
    "unet_kernel": (1, 31), "unet_groups": (1, 256), "time_embed_dim": (1, 4096), "transformer_dim": (1, 4096),
    "transformer_layers": (1, 64), "transformer_heads": (1, 64), "train_timesteps": (1, 10_000),
    "sample_steps": (1, 1000),
}


@dataclass
class PolicyConfig:
    """What the network is and what it consumes; everything needed to rebuild it for inference."""

    obs_steps: int = 2  # observation history
    horizon: int = 16  # predicted action chunk length
    action_steps: int = 8  # executed before re-planning
    rate_hz: float = 10.0
    cameras: tuple[str, ...] = ("scene", "wrist")
    image_size: int = 96  # expected (square) frame size; other sizes are resized
    crop_size: int = 84  # random crop while training, centre crop at inference
    image_obs_steps: int = 2  # how many of the newest obs steps include images (≤ obs_steps)
    lowdim_keys: tuple[str, ...] = ("ee_pose", "gripper")
    lowdim_dim: int = 10  # filled in from the data at training time
    encoder: str = "small"  # see policy.encoders.ENCODERS
    encoder_channels: int = 32  # width of the small encoder (ResNet-18 ignores it)
    keypoints: int = 32  # spatial-softmax keypoints per camera
    image_features: int = 64  # per-camera feature size after the encoder
    color_jitter: float = 0.15  # brightness/contrast/saturation strength while training; 0 = off
    # Training-only appearance augmentations (policy.augment); inference never applies them.
    camera_jitter: dict[str, float] = field(default_factory=dict)  # per-camera color_jitter overrides
    hue_jitter: float = 0.0  # hue rotation of up to ± this many turns (0 to 0.5)
    random_crop: bool = True  # False: the centre crop while training too
    random_conv: float = 0.0  # probability per frame of a random 3x3 convolution (Lee et al. 2020)
    conditioning: str = "none"  # "none", "task" (a learned embedding per task name) or "goal" (goal image)
    tasks: tuple[str, ...] = ()  # task vocabulary for task conditioning (filled in from the data)
    goal_camera: str = "scene"
    head: str = "unet"  # see policy.heads.HEADS
    unet_dims: tuple[int, ...] = (64, 128, 256)
    unet_kernel: int = 5
    unet_groups: int = 8
    time_embed_dim: int = 64
    transformer_dim: int = 128
    transformer_layers: int = 4
    transformer_heads: int = 4
    dropout: float = 0.0
    objective: str = "ddpm"  # see policy.objectives.OBJECTIVES
    train_timesteps: int = 100  # DDPM noise levels
    sample_steps: int = 8  # DDIM / Euler steps at inference
    # What the chunk's waypoints are learned from: "command" (the command source's request before
    # the safety filter; older recordings lack it), "applied" (what the filter let through), or "auto" (command
    # when every episode trained on stores it). Both are setpoints due at the sample's instant,
    # so inference is the same; the trainer saves the resolved choice.
    action_label: str = "auto"

    def validate(self) -> None:
        for key, (low, high) in SIZE_BOUNDS.items():
            value = getattr(self, key)
            if not low <= value <= high:
                raise ValueError(f"{key} must be between {low} and {high}, got {value}")
        if not 1 <= len(self.unet_dims) <= 8 or not all(1 <= d <= 4096 for d in self.unet_dims):
            raise ValueError(f"unet_dims must be 1 to 8 widths between 1 and 4096, got {list(self.unet_dims)}")
        if not 1 <= self.action_steps <= self.horizon:
            raise ValueError(f"action_steps must be in [1, horizon={self.horizon}], got {self.action_steps}")
        if not 0 <= self.image_obs_steps <= self.obs_steps:
            raise ValueError(f"image_obs_steps must be in [0, obs_steps={self.obs_steps}]")
        if self.crop_size > self.image_size:
            raise ValueError(f"crop_size {self.crop_size} is larger than image_size {self.image_size}")
        if self.conditioning not in ("none", "task", "goal"):
            raise ValueError(f"conditioning must be none, task or goal, got {self.conditioning!r}")
        if self.rate_hz <= 0:
            raise ValueError("rate_hz must be positive")
        self.validate_augmentation()
        if self.action_label not in ACTION_LABELS:
            raise ValueError(f"action_label must be {', '.join(ACTION_LABELS)}, got {self.action_label!r}")


    def jitter_for(self, camera: str) -> float:
        """The colour-jitter strength of ``camera`` (its override, else ``color_jitter``)."""
        return float(self.camera_jitter.get(camera, self.color_jitter))

    def validate_augmentation(self) -> None:
        if not 0 <= self.color_jitter <= 1:
            raise ValueError(f"color_jitter must be in [0, 1], got {self.color_jitter:g}")
        known = set(self.cameras) | ({self.goal_camera} if self.conditioning == "goal" else set())
        for cam, value in self.camera_jitter.items():
            if cam not in known:
                raise ValueError(f"camera_jitter names camera {cam!r}, which the policy does not see "
                                 f"(cameras: {', '.join(self.cameras) or 'none'})")
            if not 0 <= value <= 1:
                raise ValueError(f"camera_jitter of {cam!r} must be in [0, 1], got {value:g}")
        if not 0 <= self.hue_jitter <= 0.5:
            raise ValueError(f"hue_jitter must be in [0, 0.5] turns, got {self.hue_jitter:g}")
        if not 0 <= self.random_conv <= 1:
            raise ValueError(f"random_conv is a probability in [0, 1], got {self.random_conv:g}")

    def augmentation(self) -> dict[str, Any]:
        """The training augmentations as a report shows them (``info``, ``eval``, ``train``)."""
        return {"color_jitter": {c: self.jitter_for(c) for c in self.cameras},
                "hue_jitter": self.hue_jitter, "random_crop": self.random_crop,
                "crop_size": self.crop_size, "image_size": self.image_size, "random_conv": self.random_conv}


@dataclass
class TrainConfig:
    """How to train: optimiser, schedule, EMA, validation, checkpoints, data loading."""

    steps: int = 20000
    batch_size: int = 64
    lr: float = 1e-4
    weight_decay: float = 1e-6
    warmup_steps: int = 500  # linear, by steps; capped at a tenth of the steps, so short runs still reach full rate
    ema_power: float = 0.75
    ema_max_decay: float = 0.9999
    grad_clip: float = 1.0
    val_fraction: float = 0.1  # of episodes, held out (at least one when there are two or more)
    val_every: int = 500
    val_batches: int = 4
    save_every: int = 1000
    log_every: int = 25
    seed: int = 0
    device: str = "auto"  # auto, cpu, cuda, cuda:N
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    time_limit_s: float = 0.0  # > 0: stop after this long; the LR schedule follows whichever budget ends first
    cache_images: str = "auto"  # "ram", "lazy", or "auto" (RAM when it fits the cache budget)
    cache_budget_gb: float = 4.0
    num_workers: int = 0  # DataLoader workers for lazy (HDF5) loading
    threads: int = 0  # torch intra-op threads on CPU; 0 = torch's default

    def validate(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError("steps and batch_size must be at least 1")
        if self.lr <= 0:
            raise ValueError("lr must be positive")
        if not 0 <= self.val_fraction < 1:
            raise ValueError("val_fraction must be in [0, 1)")
        if self.cache_images not in ("auto", "ram", "lazy"):
            raise ValueError(f"cache_images must be auto, ram or lazy, got {self.cache_images!r}")
        if self.threads < 0:
            raise ValueError(f"threads must be 0 (torch's default) or more, got {self.threads}")
        if not self.time_limit_s >= 0:  # also refuses NaN
            raise ValueError(f"the time limit must be 0 (none) or positive, got {self.time_limit_s / 60:g} minutes")
        if self.seed < 0:
            raise ValueError(f"seed must be 0 or more, got {self.seed}")
        if self.num_workers < 0:
            raise ValueError(f"num_workers must be 0 or more, got {self.num_workers}")


@dataclass
class RunConfig:
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> None:
        self.policy.validate()
        self.train.validate()

    def to_dict(self) -> dict[str, Any]:
        return {"policy": to_dict(self.policy), "train": to_dict(self.train)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        if not isinstance(d, dict):
            raise ValueError("a run configuration must be a JSON object with 'policy' and 'train'")
        unknown = set(d) - {"policy", "train"}
        if unknown:
            raise ValueError(f"unknown configuration section(s): {', '.join(sorted(unknown))}")
        cfg = cls(policy=from_dict(PolicyConfig, d.get("policy", {})), train=from_dict(TrainConfig, d.get("train", {})))
        cfg.validate()
        return cfg

    def with_overrides(self, d: dict[str, Any]) -> "RunConfig":
        """This configuration with the keys present in ``d`` (same shape as ``to_dict``) replaced."""
        merged = self.to_dict()
        for section, values in d.items():
            if section not in merged or not isinstance(values, dict):
                raise ValueError(f"unknown configuration section {section!r}; use 'policy' and 'train'")
            merged[section].update(values)
        return RunConfig.from_dict(merged)


def to_dict(obj: Any) -> dict[str, Any]:
    return {f.name: (list(v) if isinstance(v := getattr(obj, f.name), tuple) else dict(v) if isinstance(v, dict) else v)
            for f in dataclasses.fields(obj)}


def from_dict(cls: type, d: dict[str, Any]) -> Any:
    """Build dataclass ``cls`` from ``d``, rejecting unknown keys and values of the wrong type."""
    if not isinstance(d, dict):
        raise ValueError(f"{cls.__name__} must be a JSON object")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} key(s): {', '.join(sorted(unknown))}")
    return cls(**{k: _coerce(cls.__name__, k, hints[k], v) for k, v in d.items()})


def _coerce(owner: str, key: str, hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    bad = ValueError(f"{owner}.{key}: expected {_type_name(hint)}, got {value!r}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise bad
        (item,) = {a for a in typing.get_args(hint) if a is not Ellipsis}
        return tuple(_coerce(owner, key, item, v) for v in value)
    if origin is dict:
        if not isinstance(value, dict):
            raise bad
        key_hint, value_hint = typing.get_args(hint)
        return {_coerce(owner, key, key_hint, k): _coerce(owner, key, value_hint, v) for k, v in value.items()}
    if hint is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise bad
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise bad
        return value
    raise bad


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", str(hint))


def _cpu_preset() -> RunConfig:
    """Fast on a laptop CPU (measured with bench/policy_speed.py and bench/learning.py).

    - Small encoder (16/32 channels): the encoder is most of a training step. 32 keypoints per
      camera: the cube is ~3 px wide in the 96 px scene view, and more keypoint maps localise it
      better for almost no compute.
    - Crop 88 of 96 (random while training): a ±4 px shift. With 84 (±6 px, Diffusion Policy's
      real-robot ratio) a shift of the small scene view is several centimetres of table, and
      grasps landed that far off the cube.
    - Images of the newest observation step only (low-dim history stays 2): half the encoder
      work; the cube does not move before it is grasped and the hand's motion is in the low-dim
      history.
    - Transformer head: at batch 1 a U-Net's many small 1-D convolutions cost ~20 ms per
      denoising step on a CPU; a 96-wide, 3-layer transformer costs ~3 ms.
    - Flow matching with 6 Euler steps: straight paths need few steps.
    - Execute 4 of the 16 predicted steps before re-planning (0.4 s open loop): re-planning
      twice as often corrects a grasp that is drifting off the cube, and a chunk costs ~30 ms.
    - Learning rate 5e-4: small networks tolerate it, and it is what a 1-hour budget needs.
    """
    cfg = RunConfig()
    p = cfg.policy
    p.encoder_channels, p.keypoints, p.image_obs_steps = 16, 32, 1
    p.crop_size, p.action_steps = 88, 4
    p.head, p.transformer_dim, p.transformer_layers, p.transformer_heads = "transformer", 96, 3, 4
    p.objective, p.sample_steps = "flow", 6
    cfg.train.lr = 5e-4
    return cfg


def _gpu_preset() -> RunConfig:
    """Diffusion Policy's published setting, for a CUDA machine (the dataclass defaults + these)."""
    cfg = RunConfig()
    cfg.policy.encoder = "resnet18gn"
    cfg.policy.image_features = 128
    cfg.policy.unet_dims = (256, 512, 1024)
    cfg.policy.time_embed_dim = 128
    cfg.policy.transformer_dim = 256
    cfg.policy.transformer_layers = 8
    cfg.policy.sample_steps = 10
    cfg.train.lr = 1e-4
    cfg.train.cache_images = "auto"
    return cfg


PRESETS = {"cpu": _cpu_preset, "gpu": _gpu_preset}
# What `demostation train` uses when no flag says otherwise (the GUI's Train panel reads the same):
# the preset (``auto``: ``gpu`` on a CUDA machine, else ``cpu``) and the device; every other
# setting is the preset's.
DEFAULT_PRESET = "auto"
DEFAULT_DEVICE = "auto"
PRESET_CHOICES = (DEFAULT_PRESET, *PRESETS)


def resolve_preset(name: str, device: str, cuda_available: typing.Callable[[], bool]) -> str:
    """The preset ``name`` means on this machine: ``auto`` is ``gpu`` when CUDA is there and the
    device is not forced to the CPU, else ``cpu``; the others are themselves."""
    if name != "auto":
        return name
    return "gpu" if device != "cpu" and cuda_available() else "cpu"


def preset(name: str) -> RunConfig:
    try:
        return PRESETS[name]()
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(sorted(PRESETS))}") from None


def load_config_file(path: str | Path) -> dict[str, Any]:
    """A JSON file of overrides (``{"policy": {...}, "train": {...}}``); one-line errors."""
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise ValueError(f"config file {p} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"config file {p} is not valid JSON ({exc})") from None
    except RecursionError:  # nested deeper than the parser's stack: not a configuration
        raise ValueError(f"config file {p} is nested too deeply to be a configuration") from None
    if not isinstance(data, dict):
        raise ValueError(f"config file {p} must hold a JSON object with 'policy' and/or 'train'")
    return data
