"""A video whose every frame shows its own index, to check a camera pipeline end to end.

Each frame carries its index as a row of black/white blocks (binary, most significant bit first)
over a mid-grey band, large enough to survive MJPG compression, colour conversion and resizing.
Reading the index back from what came out of a camera tells whether frames arrived in order,
which were skipped, and whether an image was paired with the right timestamp.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from devices.cameras.imaging import crop_resize_plan

BITS = 10  # indices 0..1023


def _blocks(width: int, height: int, bits: int) -> tuple[np.ndarray, int, int]:
    """Block edges (x) and band rows (y0, y1): inside the centred square, so a centre crop to any
    aspect from square to wider keeps them all."""
    side = min(width, height)
    left = (width - side) / 2
    edges = np.linspace(left, left + side, bits + 1)
    return edges, height // 3, height - height // 3


def pattern_frame(index: int, width: int = 160, height: int = 120, bits: int = BITS) -> np.ndarray:
    """(H, W, 3) uint8 RGB frame showing ``index`` as ``bits`` black/white blocks in the centre."""
    if not 0 <= index < 2 ** bits:
        raise ValueError(f"index {index} does not fit in {bits} bits")
    image = np.full((height, width, 3), 128, np.uint8)
    image[:, :, 0] = np.linspace(40, 215, width).astype(np.uint8)[None, :]  # a red ramp: shows crops
    edges, y0, y1 = _blocks(width, height, bits)
    xs = edges.round().astype(int)
    for bit in range(bits):
        on = (index >> (bits - 1 - bit)) & 1
        image[y0:y1, xs[bit]:xs[bit + 1]] = 255 if on else 0
    return image


def read_pattern_index(image: np.ndarray, source_size: tuple[int, int] | None = None, bits: int = BITS) -> int:
    """The index shown by `pattern_frame` in ``image``.

    ``source_size`` (width, height) is the size the pattern was drawn at, when ``image`` is that
    frame after `fit_image` to another shape: the blocks are then looked for where the centre crop
    and resize put them, so a wrong crop reads a wrong index.
    """
    height, width = image.shape[:2]
    src_w, src_h = source_size or (width, height)
    plan = crop_resize_plan(src_w, src_h, width, height)
    edges, y0, y1 = _blocks(src_w, src_h, bits)
    grey = image.mean(axis=2) if image.ndim == 3 else image.astype(float)

    def to_out(v: float, origin: int, scale: float) -> float:
        return (v - origin) * scale

    rows = slice(int(to_out(y0 + (y1 - y0) / 4, plan.y0, plan.scale_y)),
                 max(int(to_out(y1 - (y1 - y0) / 4, plan.y0, plan.scale_y)), 1 + int(to_out(y0 + (y1 - y0) / 4, plan.y0, plan.scale_y))))
    index = 0
    for bit in range(bits):
        lo = to_out(edges[bit], plan.x0, plan.scale_x)
        hi = to_out(edges[bit + 1], plan.x0, plan.scale_x)
        margin = (hi - lo) / 4  # sample the block's centre, away from blurred edges
        a = int(round(lo + margin))
        b = max(int(round(hi - margin)), a + 1)
        if a < 0 or b > width:
            raise ValueError(f"the pattern's blocks are not inside a {width}x{height} image "
                             "(crops narrower than square cut them off)")
        value = grey[rows, a:b].mean()
        index = (index << 1) | int(value > 128)
    return index


def write_pattern_video(path: str | Path, frames: int, fps: float, width: int = 160, height: int = 120,
                        fourcc: str = "MJPG") -> Path:
    """Write ``frames`` pattern frames to ``path`` (an .avi with MJPG by default) and return it."""
    path = Path(path)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), float(fps), (width, height))
    if not writer.isOpened():
        raise OSError(f"cannot write a {fourcc} video at {path}")
    try:
        for i in range(frames):
            writer.write(cv2.cvtColor(pattern_frame(i, width, height), cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path
