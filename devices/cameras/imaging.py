"""Turning whatever a device delivers into the configured image: RGB uint8, fixed size, same aspect.

Every camera goes through these functions, so a policy trained on one camera sees the same
geometry from another of the same configured size. Resizing keeps the aspect ratio: the largest
centred window of the target aspect is cropped first, then scaled (``cv2.INTER_AREA``, which
averages instead of aliasing when shrinking). Nothing is ever stretched or padded. The
intrinsics are transformed the same way, so they stay true for the stored image.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class CropResize:
    """The centred crop window (x0, y0, width, height) in source pixels and the scale after it."""

    x0: int
    y0: int
    crop_width: int
    crop_height: int
    scale_x: float
    scale_y: float


def crop_resize_plan(src_width: int, src_height: int, width: int, height: int) -> CropResize:
    """Largest centred window with the target's aspect ratio, and the scale to the target size."""
    if min(src_width, src_height, width, height) <= 0:
        raise ValueError(f"image sizes must be positive, got {src_width}x{src_height} -> {width}x{height}")
    # Compare aspects with integers to avoid rounding a perfect match into a one-pixel crop.
    if src_width * height > width * src_height:  # source is wider: crop the sides
        crop_h = src_height
        crop_w = max(1, round(src_height * width / height))
    else:  # source is taller (or equal): crop top and bottom
        crop_w = src_width
        crop_h = max(1, round(src_width * height / width))
    x0 = (src_width - crop_w) // 2
    y0 = (src_height - crop_h) // 2
    return CropResize(x0, y0, crop_w, crop_h, width / crop_w, height / crop_h)


def to_rgb(image: np.ndarray, order: str = "rgb") -> np.ndarray:
    """(H, W, 3) uint8 RGB from grey, RGB, BGR, RGBA or BGRA input (``order`` names the channel order)."""
    if image.dtype != np.uint8:
        raise ValueError(f"camera image must be uint8, got {image.dtype}")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2RGB)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"camera image must be HxW, HxWx3 or HxWx4, got shape {image.shape}")
    if order not in ("rgb", "bgr"):
        raise ValueError(f"channel order must be 'rgb' or 'bgr', got {order!r}")
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB if order == "bgr" else cv2.COLOR_RGBA2RGB)
    if order == "bgr":
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(image)


def fit_image(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Centre-crop to the target aspect, then resize to ``width`` x ``height`` (no copy if already so)."""
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    plan = crop_resize_plan(w, h, width, height)
    crop = image[plan.y0:plan.y0 + plan.crop_height, plan.x0:plan.x0 + plan.crop_width]
    shrinking = plan.scale_x < 1.0 and plan.scale_y < 1.0
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def fit_depth(depth: np.ndarray, width: int, height: int) -> np.ndarray:
    """As `fit_image`, but nearest-neighbour: averaging depth across an edge invents surfaces."""
    h, w = depth.shape[:2]
    if (w, h) == (width, height):
        return depth
    plan = crop_resize_plan(w, h, width, height)
    crop = depth[plan.y0:plan.y0 + plan.crop_height, plan.x0:plan.x0 + plan.crop_width]
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_NEAREST)


def fit_intrinsics(fx: float, fy: float, cx: float, cy: float, src_width: int, src_height: int,
                   width: int, height: int) -> tuple[float, float, float, float]:
    """Pinhole intrinsics of the fitted image, given those of the source (pixel-centre convention).

    A pixel centre at source coordinate u maps to (u - x0 + 0.5) * s - 0.5 after the crop and scale.
    """
    plan = crop_resize_plan(src_width, src_height, width, height)
    return (fx * plan.scale_x, fy * plan.scale_y,
            (cx - plan.x0 + 0.5) * plan.scale_x - 0.5, (cy - plan.y0 + 0.5) * plan.scale_y - 0.5)
