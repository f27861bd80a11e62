"""`demostation cameras`: the cameras plugged in and the cameras configured, one status line each."""

from __future__ import annotations

import argparse

NAME = "cameras"
HELP = "list connected cameras (RealSense, /dev/video*) and configured cameras, with a status line each"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="camera config file (default: the user's cameras.json)")
    p.add_argument("--probe", type=float, default=0.0, metavar="SECONDS",
                   help="open every connected and configured camera for SECONDS and report fps, drops and errors "
                        "(do not probe cameras another program is using)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from app.cli import print_json
    from devices.cameras.config import default_config_path, load_camera_configs
    from devices.cameras.discovery import list_realsense, list_uvc_devices, probe, probe_available
    from devices.cameras.registry import CameraContext, build_camera

    if args.probe < 0:
        raise ValueError("--probe SECONDS must not be negative")
    config_path = Path(args.config) if args.config else default_config_path()
    configs = load_camera_configs(args.config)
    available = list_realsense() + list_uvc_devices()
    if args.probe > 0:
        available = [replace(a, status=probe_available(a, args.probe)) for a in available]
    configured = []
    context = CameraContext(base_dir=config_path.parent)
    for config in configs:
        entry = config.to_dict()
        if args.probe > 0 and config.kind != "sim":
            entry["status"] = probe(build_camera(config, context), args.probe)
        elif config.kind == "sim":
            entry["status"] = "station camera (available while the station runs)"
        else:
            entry["status"] = "not probed (use --probe SECONDS)"
        configured.append(entry)
    if args.json:
        print_json({"available": [a.as_dict() for a in available], "config": str(config_path),
                    "configured": configured})
        return 0
    print("Connected:" if available else "Connected: no RealSense camera, no /dev/video* device")
    for a in available:
        print(f"  {a.kind:9s} {a.id or '-':20s} {a.name}: {a.status}")
    if not configs:
        print(f"Configured: none ({config_path} {'has no cameras' if config_path.exists() else 'does not exist'})")
    else:
        print(f"Configured ({config_path}):")
        for entry in configured:
            print(f"  {entry['name']:12s} {entry['kind']:9s} {entry['mount']:7s} {entry['width']}x{entry['height']} "
                  f"@{entry['fps']:g}: {entry['status']}")
    return 0
