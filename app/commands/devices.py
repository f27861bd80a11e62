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
    p.add_argument("--watch", metavar="SPEC",
                   help="connect one device (keyboard, spacemouse[:VID:PID], openxr[:left|right], "
                        "haptic[:openhaptics|forcedimension], replay:FILE) and print its targets")
    p.add_argument("--seconds", type=float, default=5.0, help="how long to watch (default 5)")
    p.add_argument("--fast", action="store_true", help="replay a recorded stream as fast as it can be read")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from app.cli import print_json

    if args.watch:
        return _watch(args)
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


def _watch(args: argparse.Namespace) -> int:
    import numpy as np

    from app.cli import print_json
    from app.errors import JobError, UsageError
    from devices.teleop import DeviceError, DeviceStatus, TeleopMapper, make_device

    if args.seconds <= 0:
        raise UsageError("--seconds must be positive")
    if args.fast and not args.watch.startswith("replay:"):
        raise UsageError("--fast only applies to replay:FILE")
    device = make_device(args.watch, realtime=not args.fast)
    mapper = TeleopMapper(device.settings.mapper)
    start = np.array(WATCH_START)
    mapper.reset(start)
    targets, events, messages = [], [], []

    def note(out, t: float) -> None:
        targets.append(out)
        events.extend(e.value for e in out.events)
        if out.message and (not messages or messages[-1] != out.message):
            messages.append(out.message)
            if not args.json:
                print(f"{t:6.2f}s  {out.status.value}: {out.message}", file=sys.stderr)

    try:
        if args.fast:
            first = None
            for cmd in device.run_offline():
                first = cmd.time if first is None else first
                note(mapper.update(cmd, now=cmd.time), cmd.time - first)
        else:
            with device:
                t0 = time.monotonic()
                next_print = 0.0
                while (t := time.monotonic() - t0) < args.seconds:
                    out = mapper.update(device.read_command())
                    note(out, t)
                    if not args.json and t >= next_print:
                        p = out.action.position
                        print(f"{t:6.2f}s  {'HOLD' if out.hold else 'ok  '}  x={p[0]:+.3f} y={p[1]:+.3f} "
                              f"z={p[2]:+.3f}  gripper={out.action.gripper:.2f}")
                        next_print += 0.5
                    if device.status is not DeviceStatus.OK and not device.transport.reconnectable:
                        break  # a replay ended (or broke): nothing more will come
                    time.sleep(0.01)
    except DeviceError as exc:
        raise JobError(str(exc)) from None
    final = targets[-1].action if targets else None
    summary = {
        "device": device.name, "model": device.model, "updates": len(targets),
        "status": targets[-1].status.value if targets else "no data",
        "events": events, "messages": messages,
        "start": list(WATCH_START),
        "final": None if final is None else {"ee_pose": final.ee_pose.tolist(), "gripper": final.gripper},
        "moved_m": None if final is None else float(np.linalg.norm(final.position - start[:3])),
    }
    if args.json:
        print_json(summary)
    else:
        moved = "nothing" if final is None else f"{summary['moved_m']:.3f} m"
        print(f"{device.name}: {len(targets)} updates, moved {moved}, events: {', '.join(events) or 'none'}")
    return 0
