"""Image encoders shared by every camera-like stream, with spatial-softmax pooling.

Spatial softmax turns each feature map into the expected image coordinates of a learned keypoint,
which is what a manipulation policy needs (where is the cube, where is the gripper) and keeps
localisation that global average pooling throws away. One encoder instance serves all cameras
(scene, wrist, tactile...), so features learned on one view transfer to the others.

``small`` is the CPU default (three convolutions, ~60 k parameters, milliseconds per frame);
``resnet18gn`` is ResNet-18 with GroupNorm in place of BatchNorm (batch statistics misbehave
with small batches and EMA weights), as in Diffusion Policy.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from policy.augment import colour_jitter, hue_rotate, random_convolution


class SpatialSoftmax(nn.Module):
    """(B, C, H, W) → (B, 2·K): expected (x, y) in [-1, 1] of K learned keypoint maps."""

    def __init__(self, channels: int, keypoints: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(channels, keypoints, kernel_size=1)
        self.keypoints = keypoints

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        logits = self.proj(x).flatten(2)  # (B, K, H·W)
        attn = logits.float().softmax(-1)
        ys = torch.linspace(-1.0, 1.0, h, device=x.device)
        xs = torch.linspace(-1.0, 1.0, w, device=x.device)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], -1)  # (H·W, 2)
        return (attn @ grid).reshape(b, 2 * self.keypoints)


def _groups(channels: int) -> int:
    return max(1, channels // 16)


class SmallConvEncoder(nn.Module):
    """Three convolutions + GroupNorm + ReLU + spatial softmax: the fast CPU encoder.

    ReLU, not Mish: on a CPU, Mish and its gradient cost as much as the convolutions here.
    """

    def __init__(self, out_features: int, channels: int = 32, keypoints: int = 32) -> None:
        super().__init__()
        c = channels
        self.net = nn.Sequential(
            nn.Conv2d(3, c, 5, stride=2, padding=2), nn.GroupNorm(_groups(c), c), nn.ReLU(inplace=True),
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.GroupNorm(_groups(2 * c), 2 * c), nn.ReLU(inplace=True),
            nn.Conv2d(2 * c, 2 * c, 3, stride=1, padding=1), nn.GroupNorm(_groups(2 * c), 2 * c), nn.ReLU(inplace=True),
        )
        self.pool = SpatialSoftmax(2 * c, keypoints)
        self.out = nn.Sequential(nn.Linear(2 * keypoints, out_features), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.pool(self.net(x)))


class _BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.norm1 = nn.GroupNorm(_groups(cout), cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.norm2 = nn.GroupNorm(_groups(cout), cout)
        self.skip = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.GroupNorm(_groups(cout), cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(x)))
        return F.relu(self.norm2(self.conv2(y)) + self.skip(x))


class ResNet18GN(nn.Module):
    """ResNet-18 (4 stages × 2 basic blocks) with GroupNorm, spatial softmax instead of avg-pool."""

    def __init__(self, out_features: int, channels: int = 64, keypoints: int = 32) -> None:
        super().__init__()
        widths = (64, 128, 256, 512)
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.GroupNorm(_groups(64), 64), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        blocks, cin = [], 64
        for i, w in enumerate(widths):
            blocks += [_BasicBlock(cin, w, 1 if i == 0 else 2), _BasicBlock(w, w, 1)]
            cin = w
        self.blocks = nn.Sequential(*blocks)
        self.pool = SpatialSoftmax(widths[-1], keypoints)
        self.out = nn.Sequential(nn.Linear(2 * keypoints, out_features), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.pool(self.blocks(self.stem(x))))


EncoderFactory = Callable[[int, int, int], nn.Module]

ENCODERS: dict[str, EncoderFactory] = {
    "small": lambda out, channels, kp: SmallConvEncoder(out, channels, kp),
    "resnet18gn": lambda out, channels, kp: ResNet18GN(out, channels, kp),
}


def make_encoder(name: str, out_features: int, channels: int, keypoints: int) -> nn.Module:
    try:
        factory = ENCODERS[name]
    except KeyError:
        raise ValueError(f"unknown image encoder {name!r}; known: {', '.join(sorted(ENCODERS))}") from None
    return factory(out_features, channels, keypoints)


class ImagePreprocess(nn.Module):
    """uint8 (N, H, W, 3) frames → float (N, 3, crop, crop) in [-1, 1] (other sizes are resized first).

    Training: a random crop per frame (or the centre one with ``random_crop=False``), colour
    jitter (brightness, contrast, saturation; a strength per frame, so per camera), hue rotation
    and random convolutions (`policy.augment`), done on whole batches on the model's device, so
    augmentation costs the loader nothing. Inference: the centre crop, nothing else — the same
    pixels the training crops were centred on.
    """

    def __init__(self, image_size: int, crop_size: int, jitter: float, hue: float = 0.0,
                 random_conv: float = 0.0, random_crop: bool = True) -> None:
        super().__init__()
        self.image_size, self.crop_size, self.jitter = image_size, crop_size, jitter
        self.hue, self.random_conv, self.random_crop = hue, random_conv, random_crop

    def forward(self, frames: torch.Tensor, train: bool, generator: torch.Generator | None = None,
                jitter: torch.Tensor | None = None) -> torch.Tensor:
        """``jitter``: (N,) colour-jitter strengths, one per frame (default: ``self.jitter`` for all)."""
        if frames.shape[1] != self.image_size or frames.shape[2] != self.image_size:
            x = frames.permute(0, 3, 1, 2).float()
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False,
                              antialias=True)
            frames = x.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
        # Crop while still uint8 (a quarter of the bytes a float crop would move).
        frames = self._random_crop(frames, generator) if train and self.random_crop else self._centre_crop(frames)
        x = frames.permute(0, 3, 1, 2).float().div_(255.0)
        if train:
            strength = torch.as_tensor(self.jitter, dtype=x.dtype) if jitter is None else jitter.to(x.device, x.dtype)
            if bool((strength > 0).any()):
                x = colour_jitter(x, strength, generator)
            if self.hue > 0:
                x = hue_rotate(x, self.hue, generator)
            if self.random_conv > 0:
                x = random_convolution(x, self.random_conv, generator)
        return x.mul_(2.0).sub_(1.0)

    def _centre_crop(self, frames: torch.Tensor) -> torch.Tensor:
        o = (self.image_size - self.crop_size) // 2
        return frames[:, o:o + self.crop_size, o:o + self.crop_size]

    def _random_crop(self, frames: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        n = frames.shape[0]
        span = self.image_size - self.crop_size + 1
        if span == 1:
            return frames
        oy = torch.randint(0, span, (n,), generator=generator, device=frames.device).tolist()
        ox = torch.randint(0, span, (n,), generator=generator, device=frames.device).tolist()
        c = self.crop_size
        # Per-frame slices: 20x faster than one advanced-indexing gather on a CPU.
        return torch.stack([frames[i, y:y + c, x:x + c] for i, (y, x) in enumerate(zip(oy, ox, strict=True))])
