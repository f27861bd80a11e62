"""`demostation devices`: list teleop devices with a one-line status each; `--watch SPEC` tries one.

Lab set-up in one command: which SpaceMice are plugged in (and by which ids), whether an OpenXR
runtime is installed, whether the haptic SDKs are. ``--watch`` connects a device (or replays a
recorded stream) and shows the end-effector target it would command, without any robot.
"""

from __future__ import annotations

import argparse
import sys
import time

NAME = "devices"
HELP = "list teleop input devices and their status, or watch one (--watch SPEC)"

# Where --watch starts its target: a nominal tool pose above the table, gripper pointing down.
WATCH_START = (0.5, 0.0, 0.2, 0.0, 1.0, 0.0, 0.0)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--watch", metavar="SPEC", nargs="?", const="",
                   help="connect one device (spacemouse[:VID:PID], openxr[:left|right], "
                        "haptic[:openhaptics|forcedimension], replay:FILE), or with no SPEC every connected "
                        "one, and print its live motion per axis (operator and robot frame) and its targets")
    p.add_argument("--flip", metavar="AXES",
                   help="with --watch SPEC: reverse exactly these operator axes (comma list of x,y,z,rx,ry,rz, "
                        "or 'none') and save it in the device's settings")
    p.add_argument("--seconds", type=float, default=5.0, help="how long to watch (default 5)")
    p.add_argument("--fast", action="store_true", help="replay a recorded stream as fast as it can be read")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from app.cli import print_json

    if args.watch is not None:
        return _watch(args)
    if args.flip is not None:
        from app.errors import UsageError
        raise UsageError("--flip needs --watch SPEC (the device whose axes to flip)")
    from devices.teleop.discovery import hid_setup, list_devices
    from devices.teleop.spacemouse import KNOWN_MODELS

    listings = list_devices()
    hid = hid_setup()
    if args.json:
        known = [{"id": f"{m.vendor_id:04x}:{m.product_id:04x}", "name": m.name,
                  "report": "combined" if m.combined_report else "separate"} for m in KNOWN_MODELS.values()]
        print_json({"devices": [d.as_dict() for d in listings], "known_spacemouse_models": known,
                    "hid_backend": hid["backend"], "udev_rules": hid["udev_rules"]})
        return 0
    width = max(len(d.spec) for d in listings)
    for d in listings:
        print(f"{d.spec:<{width}}  {d.status:<11}  {d.name}: {d.message}")
    print(f"HID backend: {hid['backend']}; udev rules for SpaceMice: {hid['udev_rules']} "
          "(copy to /etc/udev/rules.d/, then udevadm control --reload && udevadm trigger)")
    return 0


def _connected_specs() -> list[str]:
    from devices.teleop.discovery import CONNECTED, list_devices

    return [d.spec for d in list_devices() if d.status == CONNECTED]


def _flip_axes(text: str) -> list[str]:
    return [] if text.strip().lower() == "none" else [a.strip() for a in text.split(",") if a.strip()]


def _watch(args: argparse.Namespace) -> int:
    import numpy as np

    from app.cli import print_json
    from app.errors import JobError, UsageError
    from devices.teleop import DeviceError, DeviceStatus, make_device
    from devices.teleop.axes import format_motion
    from devices.teleop.settings import SettingsStore

    if args.seconds <= 0:
        raise UsageError("--seconds must be positive")
    specs = [args.watch] if args.watch else _connected_specs()
    if not specs:
        raise JobError("no connected device to watch (see demostation devices): plug one in, or name one "
                       "with --watch SPEC")
    if args.fast and not (len(specs) == 1 and specs[0].startswith("replay:")):
        raise UsageError("--fast only applies to replay:FILE")
    if args.flip is not None and not args.watch:
        raise UsageError("--flip needs the device named: --watch SPEC --flip AXES")
    store = SettingsStore()
    try:
        devices = [make_device(spec, realtime=not args.fast, store=store) for spec in specs]
    except ValueError as exc:  # a corrupt settings file, a bad spec
        raise UsageError(str(exc)) from None
    watches = [_Watch(d) for d in devices]
    start = np.array(WATCH_START)
    messages: list[str] = []

    def note(w: "_Watch", cmd, out, t: float, show: bool) -> None:
        w.targets.append(out)
        w.events.extend(e.value for e in out.events)
        motion = w.monitor.update(cmd)
        if out.message and (not messages or messages[-1] != out.message):
            messages.append(out.message)
            if not args.json:
                print(f"{t:6.2f}s  {out.status.value}: {out.message}", file=sys.stderr)
        if show and not args.json:
            p = out.action.position
            label = f"{w.device.name}  " if len(watches) > 1 else ""
            print(f"{t:6.2f}s  {label}{'HOLD' if out.hold else 'ok  '}  x={p[0]:+.3f} y={p[1]:+.3f} "
                  f"z={p[2]:+.3f}  gripper={out.action.gripper:.2f}  {format_motion(motion)}")

    try:
        for w in watches:
            w.start(args.flip, start)
        if args.fast:
            [w] = watches
            first = None
            next_print = 0.0
            for cmd in w.device.run_offline():
                first = cmd.time if first is None else first
                t = cmd.time - first
                note(w, cmd, w.mapper.update(cmd, now=cmd.time), t, t >= next_print)
                next_print += 0.5 if t >= next_print else 0.0
        else:
            opened = []
            try:
                for w in watches:
                    w.device.connect()
                    opened.append(w.device)
                t0 = time.monotonic()
                next_print = 0.0
                while (t := time.monotonic() - t0) < args.seconds:
                    show = t >= next_print
                    for w in watches:
                        cmd = w.device.read_command()
                        note(w, cmd, w.mapper.update(cmd), t, show)
                    next_print += 0.5 if show else 0.0
                    if all(w.device.status is not DeviceStatus.OK and not w.device.transport.reconnectable
                           for w in watches):
                        break  # a replay ended (or broke): nothing more will come
                    time.sleep(0.01)
            finally:
                for d in opened:
                    d.disconnect()
    except DeviceError as exc:
        raise JobError(str(exc)) from None
    except ValueError as exc:  # --flip with an unknown axis, a corrupt settings file
        raise UsageError(str(exc)) from None
    summaries = [w.summary(start, messages) for w in watches]
    if args.json:
        print_json(summaries[0] if args.watch else {"devices": summaries})
    else:
        for w, summary in zip(watches, summaries, strict=True):
            final = summary["final"]
            moved = "nothing" if final is None else f"{summary['moved_m']:.3f} m"
            flipped = ", ".join(summary["axis_flip"]) or "none"
            print(f"{w.device.name}: {summary['updates']} updates, moved {moved}, "
                  f"events: {', '.join(summary['events']) or 'none'}; flipped axes: {flipped}")
    return 0


class _Watch:
    """One watched device: its mapper, its axes monitor and what it did."""

    def __init__(self, device) -> None:
        self.device = device
        self.mapper = None
        self.monitor = None
        self.targets: list = []
        self.events: list[str] = []

    def start(self, flip: str | None, start) -> None:
        import dataclasses

        from devices.teleop import TeleopMapper
        from devices.teleop.axes import AxisMonitor

        settings = self.device.settings
        if flip is not None:
            settings = dataclasses.replace(settings, mapper=settings.mapper.with_flipped(_flip_axes(flip)))
            self.device.save_settings(settings)
            print(f"{self.device.model}: flipped axes saved: {', '.join(_flip_axes(flip)) or 'none'}",
                  file=sys.stderr)
        self.mapper = TeleopMapper(settings.mapper)
        self.mapper.reset(start)
        self.monitor = AxisMonitor(settings.mapper)

    def summary(self, start, messages: list[str]) -> dict:
        import numpy as np

        from devices.teleop.settings import AXIS_NAMES

        final = self.targets[-1].action if self.targets else None
        mapper = self.mapper.settings
        return {
            "device": self.device.name, "model": self.device.model, "updates": len(self.targets),
            "status": self.targets[-1].status.value if self.targets else "no data",
            "events": self.events, "messages": messages,
            "start": list(WATCH_START),
            "final": None if final is None else {"ee_pose": final.ee_pose.tolist(), "gripper": final.gripper},
            "moved_m": None if final is None else float(np.linalg.norm(final.position - start[:3])),
            "hid_backend": getattr(self.device.transport, "backend", None) or None,  # SpaceMice: hidraw / libusb
            "device_file": getattr(self.device.transport, "device_file", None) or None,
            "axis_flip": [a for a, f in zip(AXIS_NAMES, mapper.axis_flip, strict=True) if f],
            "peak_operator": dict(zip(AXIS_NAMES, self.monitor.peak_operator.tolist(), strict=True)),
            "peak_robot": dict(zip(AXIS_NAMES, self.monitor.peak_robot.tolist(), strict=True)),
        }
