"""Training-time image augmentations that target appearance shift (the sweep's colour failures).

All of them run on whole batches of float frames in [0, 1] on the model's device, draw only from
the ``generator`` they are given (or torch's seeded global one), and run only while training —
inference sees the centre crop and nothing else (`policy.encoders.ImagePreprocess`).

* **Colour jitter per camera** (`colour_jitter`): brightness, contrast and saturation factors in
  ``1 ± s`` with a strength ``s`` per frame, so the scene camera can be jittered hard while the
  wrist camera keeps its colours (``PolicyConfig.camera_jitter``).
* **Hue rotation** (`hue_rotate`): turns each frame's hues by up to ``± h`` of a full turn (a
  rotation of the chroma plane in YIQ space, luminance kept). A red cube becomes green or blue —
  what ``object_color`` does to the scene.
* **Random convolution** (`random_convolution`, Lee et al., "Network Randomization", ICLR 2020):
  with probability ``p`` a frame goes through a fresh random 3×3 convolution mixing its colour
  channels and neighbouring pixels, renormalised to the frame's own mean and spread. Shapes and
  positions survive; colours and textures do not, so the encoder cannot lean on them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# RGB → YIQ (NTSC); the inverse is computed once.
_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_YIQ_INV = torch.linalg.inv(_YIQ)


def _uniform(n: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=generator, device=device)


def colour_jitter(x: torch.Tensor, strength: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Brightness, contrast and saturation jitter of (N, 3, H, W) frames; ``strength`` is (N,) or a scalar."""
    n = x.shape[0]
    s = strength.reshape(-1, 1, 1, 1) if strength.dim() else strength

    def factor() -> torch.Tensor:
        return 1 + (torch.rand(n, 1, 1, 1, generator=generator, device=x.device) * 2 - 1) * s

    x = x * factor()  # brightness
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * factor() + mean  # contrast
    grey = x.mean(dim=1, keepdim=True)
    x = (x - grey) * factor() + grey  # saturation
    return x.clamp_(0.0, 1.0)


def hue_rotate(x: torch.Tensor, max_turn: float, generator: torch.Generator | None) -> torch.Tensor:
    """Rotate each frame's hue by a uniform angle in ``± max_turn`` turns (luminance unchanged)."""
    n = x.shape[0]
    theta = (_uniform(n, generator, x.device) * 2 - 1) * (max_turn * 2 * math.pi)
    c, s = torch.cos(theta), torch.sin(theta)
    rot = torch.zeros(n, 3, 3, device=x.device, dtype=x.dtype)
    rot[:, 0, 0] = 1
    rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = c, -s, s, c
    yiq, inv = _YIQ.to(x.device, x.dtype), _YIQ_INV.to(x.device, x.dtype)
    m = inv @ rot @ yiq  # (N, 3, 3) acting on RGB
    return torch.einsum("nij,njhw->nihw", m, x).clamp_(0.0, 1.0)


def random_convolution(x: torch.Tensor, prob: float, generator: torch.Generator | None) -> torch.Tensor:
    """With probability ``prob`` per frame, a random 3×3 convolution (renormalised, clamped to [0, 1])."""
    n, ch, h, w = x.shape
    chosen = torch.nonzero(_uniform(n, generator, x.device) < prob).flatten()
    m = int(chosen.numel())
    if m == 0:
        return x
    src = x[chosen]
    weight = torch.randn(m * ch, ch, 3, 3, generator=generator, device=x.device, dtype=x.dtype) / math.sqrt(ch * 9)
    padded = F.pad(src.reshape(1, m * ch, h, w), (1, 1, 1, 1), mode="reflect")
    out = F.conv2d(padded, weight, groups=m).reshape(m, ch, h, w)
    dims = (1, 2, 3)
    out = (out - out.mean(dim=dims, keepdim=True)) / (out.std(dim=dims, keepdim=True) + 1e-6)
    out = out * src.std(dim=dims, keepdim=True) + src.mean(dim=dims, keepdim=True)
    x = x.clone()
    x[chosen] = out.clamp_(0.0, 1.0)
    return x


def parse_camera_jitter(text: str) -> tuple[float | None, dict[str, float]]:
    """``"0.2"`` → (0.2, {}); ``"scene=0.4,wrist=0"`` → (None, {...}); ``"0.1,scene=0.4"`` → both.

    ValueError (one line) for anything else.
    """
    default: float | None = None
    per_camera: dict[str, float] = {}
    for item in (p.strip() for p in str(text).split(",")):
        if not item:
            continue
        name, sep, value = item.rpartition("=")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"--color-jitter takes STRENGTH or CAMERA=STRENGTH items (e.g. 0.2 or "
                             f"scene=0.4,wrist=0), got {item!r}") from None
        if sep and not name.strip():
            raise ValueError(f"--color-jitter {item!r}: name the camera before '='")
        if sep:
            per_camera[name.strip()] = number
        else:
            default = number
    return default, per_camera
