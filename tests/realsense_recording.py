"""Write a RealSense recording with the SDK itself, from synthetic frames (no camera needed).

An `rs.software_device` with a colour (and a depth) sensor is wrapped in an `rs.recorder`; frames
with known pixels, frame numbers and hardware timestamps are pushed into its sensors and the
SDK writes them to a recording file exactly as it would from a camera. Playing that file back
through `RealSenseCamera` exercises the real pipeline, alignment and frame→image code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyrealsense2 as rs


@dataclass(frozen=True)
class SyntheticRecording:
    path: Path
    serial: str
    frames: int
    color_size: tuple[int, int]
    depth_size: tuple[int, int]
    t0_ms: float
    period_ms: float
    fx: float
    depth_m: float


def color_value(i: int) -> int:
    return (17 + 23 * i) % 256


def write_recording(path: Path, *, serial: str = "SW0001", frames: int = 12, color_size=(64, 48),
                    depth_size=(32, 24), fps: int = 30, t0_ms: float = 5000.0, depth_m: float = 0.75,
                    skip: tuple[int, ...] = (), spacing_s: float = 0.0) -> SyntheticRecording:
    """Record ``frames`` colour+depth frames; colour frame i is filled with `color_value(i)` (red
    channel) and carries frame number i and hardware timestamp t0 + i/fps. Indices in ``skip`` are
    never pushed (a device drop). Depth is a flat plane at ``depth_m`` on a half-size depth stream,
    so alignment has to reproject it onto the colour grid."""
    cw, ch = color_size
    dw, dh = depth_size
    fx = 0.8 * cw
    dev = rs.software_device()
    dev.register_info(rs.camera_info.serial_number, serial)
    dev.register_info(rs.camera_info.name, "Synthetic D400")
    color_sensor = dev.add_sensor("RGB Camera")
    depth_sensor = dev.add_sensor("Stereo Module")

    def stream(kind, uid, w, h, fmt, bpp, focal):
        intr = rs.intrinsics()
        intr.width, intr.height, intr.fx, intr.fy = w, h, focal, focal
        intr.ppx, intr.ppy = (w - 1) / 2, (h - 1) / 2
        intr.model, intr.coeffs = rs.distortion.none, [0.0] * 5
        vs = rs.video_stream()
        vs.type, vs.index, vs.uid, vs.width, vs.height = kind, 0, uid, w, h
        vs.fps, vs.bpp, vs.fmt, vs.intrinsics = fps, bpp, fmt, intr
        return vs

    cprof = color_sensor.add_video_stream(stream(rs.stream.color, 0, cw, ch, rs.format.rgb8, 3, fx))
    dprof = depth_sensor.add_video_stream(stream(rs.stream.depth, 1, dw, dh, rs.format.z16, 2, fx * dw / cw))
    depth_sensor.add_read_only_option(rs.option.depth_units, 0.001)
    identity = rs.extrinsics()
    identity.rotation, identity.translation = [1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0], [0.0, 0.0, 0.0]
    dprof.register_extrinsics_to(cprof, identity)  # co-located optical centres

    recorder = rs.recorder(str(path), dev)
    rec_color, rec_depth = recorder.query_sensors()[:2]
    rec_color.open(cprof)
    rec_depth.open(dprof)
    rec_color.start(lambda f: None)
    rec_depth.start(lambda f: None)
    keep = []  # the SDK reads pixel buffers after on_video_frame returns
    for i in range(frames):
        if i in skip:
            time.sleep(spacing_s)  # a dropped frame still takes its time
            continue
        stamp = t0_ms + i * 1000.0 / fps
        image = np.zeros((ch, cw, 3), np.uint8)
        image[:, :, 0] = color_value(i)
        image[:, :, 1] = np.linspace(0, 255, cw).astype(np.uint8)[None, :]
        f = rs.software_video_frame()
        f.pixels, f.bpp, f.stride = image, 3, cw * 3
        f.timestamp, f.domain, f.frame_number = stamp, rs.timestamp_domain.hardware_clock, i
        f.profile = cprof.as_video_stream_profile()
        color_sensor.on_video_frame(f)
        depth = np.full((dh, dw), int(round(depth_m * 1000)), np.uint16)
        g = rs.software_video_frame()
        g.pixels, g.bpp, g.stride = depth, 2, dw * 2
        g.timestamp, g.domain, g.frame_number = stamp, rs.timestamp_domain.hardware_clock, i
        g.profile, g.depth_units = dprof.as_video_stream_profile(), 0.001
        depth_sensor.on_video_frame(g)
        keep += [image, depth]
        if spacing_s:
            time.sleep(spacing_s)
    time.sleep(0.05)  # let the recorder's writer drain its queue
    rec_color.stop(); rec_depth.stop()
    rec_color.close(); rec_depth.close()
    del recorder, rec_color, rec_depth
    return SyntheticRecording(Path(path), serial, frames, color_size, depth_size, t0_ms, 1000.0 / fps, fx, depth_m)
