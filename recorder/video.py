"""MP4 video through PyAV: H.264 in yuv420p, which browsers and LeRobot's decoders play.

OpenCV's ``mp4v`` fourcc writes MPEG-4 Part 2, which no browser plays. PyAV's wheels bundle
FFmpeg with an H.264 encoder (libx264, or openh264 in some builds); AV1 (SVT-AV1 or libaom) is the
fallback where neither is there. One writer serves ``demostation eval --video`` and the dataset
exports, so every video the project writes is encoded the same way.

Frame ``i`` gets presentation time ``i / fps`` exactly (time base ``1/fps``), so a reader that seeks
to ``index / fps`` finds that frame. ``+faststart`` puts the index at the front of the file, which a
browser needs to start playing before the whole file has arrived.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

# Best first: H.264 everywhere it exists; AV1 only where no H.264 encoder is built in.
CODEC_PREFERENCE = ("libx264", "libopenh264", "h264", "libsvtav1", "libaom-av1")
PIX_FMT = "yuv420p"
_MAX_SIDE = 8192  # bigger than any camera here; refuses a bogus shape before the encoder sees it


def available_codec(preference: tuple[str, ...] = CODEC_PREFERENCE) -> str:
    """The first encoder of ``preference`` that this PyAV build can open for writing."""
    import av

    for name in preference:
        if name not in av.codecs_available:
            continue
        try:
            av.codec.Codec(name, "w")
        except Exception:  # noqa: BLE001 - listed but not an encoder in this build
            continue
        return name
    raise RuntimeError(f"this PyAV build has no H.264 or AV1 encoder (tried {', '.join(preference)})")


def fps_fraction(fps: float) -> Fraction:
    """``fps`` as an exact rational (10.0 -> 10, 29.97 -> 2997/100) for the stream's time base."""
    if not np.isfinite(fps) or fps <= 0 or fps > 1000:
        raise ValueError(f"video frame rate {fps} is not in (0, 1000]")
    return Fraction(fps).limit_denominator(1001)


def codec_options(codec: str, crf: int, gop: int) -> dict[str, str]:
    """Encoder options: constant quality ``crf`` and a key frame every ``gop`` frames (random access)."""
    if codec == "libx264":
        return {"crf": str(crf), "preset": "veryfast", "g": str(gop), "bf": "0"}
    if codec == "libsvtav1":
        return {"crf": str(crf), "g": str(gop), "preset": "10"}
    if codec == "libaom-av1":
        return {"crf": str(crf), "g": str(gop), "cpu-used": "8", "row-mt": "1"}
    return {"g": str(gop)}


@dataclass
class VideoSpec:
    """What a written video is (what the LeRobot export puts in ``info.json``)."""

    codec: str
    pix_fmt: str
    width: int
    height: int
    fps: float


class Mp4Writer:
    """Write RGB frames (H, W, 3) uint8 to one MP4 file; use as a context manager.

    ``width`` and ``height`` must be even (yuv420p halves the chroma planes). On an error inside the
    ``with`` block the file is closed and removed, so no truncated video stays behind.
    """

    def __init__(self, path: str | Path, width: int, height: int, fps: float, codec: str | None = None,
                 crf: int = 23, gop: int = 12) -> None:
        import av

        for name, side in (("width", width), ("height", height)):
            if not (0 < int(side) <= _MAX_SIDE) or int(side) % 2:
                raise ValueError(f"video {name} {side} must be even and in 2..{_MAX_SIDE} (H.264 yuv420p)")
        self.path = Path(path)
        self.codec = codec or available_codec()
        rate = fps_fraction(fps)
        self.spec = VideoSpec(self.codec, PIX_FMT, int(width), int(height), float(rate))
        self._container = av.open(str(self.path), "w", options={"movflags": "+faststart"})
        try:
            self._stream = self._container.add_stream(self.codec, rate=rate,
                                                      options=codec_options(self.codec, crf, max(1, gop)))
            self._stream.width = int(width)
            self._stream.height = int(height)
            self._stream.pix_fmt = PIX_FMT
            self._time_base = 1 / rate  # the muxer may change the stream's own time base at its header
            self._stream.time_base = self._time_base
            self._stream.codec_context.time_base = self._time_base
        except BaseException:
            self._container.close()
            self.path.unlink(missing_ok=True)
            raise
        self.frames = 0
        self._closed = False
        self._failed = False  # a mux failed (a full disk): the encoder must never be flushed again

    def write(self, rgb: np.ndarray) -> None:
        """Append one frame; its presentation time is ``frames / fps``."""
        import av

        rgb = np.asarray(rgb)
        if rgb.dtype != np.uint8 or rgb.shape != (self.spec.height, self.spec.width, 3):
            raise ValueError(f"frame is {rgb.dtype} {rgb.shape}; this video takes uint8 "
                             f"({self.spec.height}, {self.spec.width}, 3)")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self.frames
        frame.time_base = self._time_base
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except BaseException:
            self._failed = True
            raise
        self.frames += 1

    def close(self) -> None:
        """Flush the encoder and finish the file (idempotent). After a failed write the file is
        removed instead: flushing an encoder whose muxer failed, then closing, crashes FFmpeg."""
        if self._closed:
            return
        if self._failed:
            self.abort()
            return
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
        except BaseException:
            self._failed = True
            self.abort()
            raise
        self._closed = True
        self._container.close()

    def abort(self) -> None:
        """Close without caring about the content and remove the file."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(Exception):  # the file goes anyway
                self._container.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> "Mp4Writer":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def even_size(width: int, height: int) -> tuple[int, int]:
    """The smallest even size that holds ``width`` x ``height`` (for padding odd camera images)."""
    return width + width % 2, height + height % 2


def pad_even(rgb: np.ndarray) -> np.ndarray:
    """Repeat the last row/column where a side is odd, so any camera image fits a yuv420p video."""
    h, w = rgb.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return rgb
    return np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def read_frames(path: str | Path) -> tuple[np.ndarray, np.ndarray, VideoSpec]:
    """Every frame of the first video stream as RGB (N, H, W, 3), their times in seconds, and the spec
    (our import and tests read videos back with it)."""
    import av

    frames, times = [], []
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError(f"{path} has no video stream")
        stream = container.streams.video[0]
        spec = VideoSpec(stream.codec_context.name, stream.codec_context.pix_fmt or "", stream.width,
                         stream.height, float(stream.average_rate or 0))
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            times.append(float(frame.pts * frame.time_base) if frame.pts is not None else float("nan"))
    shape = (0, spec.height, spec.width, 3)
    return (np.stack(frames) if frames else np.zeros(shape, np.uint8)), np.asarray(times, float), spec
