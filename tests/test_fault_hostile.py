"""Fault injection: hostile checkpoint files and commands pointed at folders that are not datasets.

Each hostile checkpoint is refused in one line naming the file, and reading it costs memory of
the order of its header, never of the size it claims or of the file (measured as the growth of
the peak resident set of a child process, which sees torch's allocations too).
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from episode_files import tiny_run_config

from policy.checkpoint import read_checkpoint, save_checkpoint
from policy.model import DiffusionPolicy

ROOT = Path(__file__).resolve().parents[1]
CLAIMED = 10_000  # a hostile tensor of CLAIMED² float32: 400 MB the old reader read into memory (twice)
PEAK_LIMIT_MB = 64

_CHILD = r"""
import json, sys
import torch
from policy.checkpoint import CheckpointError, read_checkpoint
import policy.model  # imported before the baseline: only the reading is measured
from policy.config import RunConfig

with torch.device("meta"):  # code paths warmed up before the baseline: only the reading is measured
    policy.model.DiffusionPolicy(RunConfig().policy)


def peak_kb():
    # VmHWM, the peak resident set of this process image (ru_maxrss would include the parent's
    # resident set copied at fork); writing 5 to clear_refs resets it to the current size.
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


for path in sys.argv[1:]:  # one child for every file, the peak reset before each
    reset_peak()
    before = peak_kb()
    try:
        read_checkpoint(path)
        error = None
    except CheckpointError as exc:
        error = str(exc)
    after = peak_kb()
    print(json.dumps({"path": path, "error": error, "peak_growth_mb": (after - before) / 1024}), flush=True)
"""


def _save_tiny(path: Path, **policy) -> None:
    cfg = tiny_run_config(**policy)
    cfg.policy.lowdim_dim = 10
    model = DiffusionPolicy(cfg.policy)
    sd = model.state_dict()
    tensors = {f"ema.{k}": v for k, v in sd.items()} | {f"model.{k}": v for k, v in sd.items()}
    save_checkpoint(path, cfg, tensors, {"training": {"step": 1}})


def _header_and_data(path: Path) -> tuple[dict, bytes]:
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), data[8 + n:]


def _write(path: Path, header: dict | bytes, data: bytes = b"", sparse_to: int = 0) -> None:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + data)
        if sparse_to:
            f.truncate(sparse_to)  # a big file that costs no disk


def _huge_header_length(path: Path) -> None:
    _write(path, b"{}")
    with open(path, "r+b") as f:
        f.write(struct.pack("<Q", 2**62))


def _header_not_json(path: Path) -> None:
    _write(path, b"\xff{not json at all" + b" " * 100)


def _deeply_nested_header(path: Path) -> None:
    _write(path, b"[" * 200_000 + b"]" * 200_000)


def _claims_a_huge_tensor(path: Path) -> None:
    """A genuine checkpoint's header, plus one weight of the wrong (huge) shape; the file really is that big."""
    _save_tiny(path)
    header, data = _header_and_data(path)
    name = next(k for k in header if k.startswith("model.") and len(header[k]["shape"]) == 2)
    del header[name]
    rest = sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])
    pos, chunks = 0, []
    for k in rest:  # re-tile the remaining tensors, then the huge one last
        b, e = header[k]["data_offsets"]
        chunks.append(data[b:e])
        header[k]["data_offsets"] = [pos, pos + e - b]
        pos += e - b
    size = CLAIMED * CLAIMED * 4
    header[name] = {"dtype": "F32", "shape": [CLAIMED, CLAIMED], "data_offsets": [pos, pos + size]}
    raw = json.dumps(header).encode()
    _write(path, raw, b"".join(chunks), sparse_to=8 + len(raw) + pos + size)


def _weights_of_another_network(path: Path) -> None:
    """Valid digest, valid layout, but the tensors are a wider U-Net than the configuration builds."""
    cfg = tiny_run_config()
    cfg.policy.lowdim_dim = 10
    other = DiffusionPolicy(tiny_run_config(unet_dims=(16, 48), lowdim_dim=10).policy).state_dict()
    save_checkpoint(path, cfg, {f"ema.{k}": v for k, v in other.items()} | {f"model.{k}": v for k, v in other.items()},
                    {"training": {"step": 1}})


def _truncated(path: Path) -> None:
    _save_tiny(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 1000])


def _truncated_huge(path: Path) -> None:
    """The header announces 400 MB of tensors; only the header is there."""
    _save_tiny(path)
    header, _ = _header_and_data(path)
    meta = header["__metadata__"]
    _write(path, {"__metadata__": meta, "model.x": {"dtype": "F32", "shape": [CLAIMED, CLAIMED],
                                                    "data_offsets": [0, CLAIMED * CLAIMED * 4]}})


def _foreign_tensor_name(path: Path) -> None:
    _save_tiny(path)
    header, data = _header_and_data(path)
    end = len(data)
    header["payload"] = {"dtype": "U8", "shape": [CLAIMED * CLAIMED], "data_offsets": [end, end + CLAIMED * CLAIMED]}
    raw = json.dumps(header).encode()
    _write(path, raw, data, sparse_to=8 + len(raw) + end + CLAIMED * CLAIMED)


HOSTILE = {
    "huge header length": (_huge_header_length, "header"),
    "header not JSON": (_header_not_json, "JSON"),
    "deeply nested header": (_deeply_nested_header, "JSON"),
    "a tensor of a shape the config does not build": (_claims_a_huge_tensor, "shape"),
    "weights of another network": (_weights_of_another_network, "shape"),
    "truncated": (_truncated, "truncated"),
    "truncated, claiming 400 MB": (_truncated_huge, "truncated"),
    "an unexpected tensor": (_foreign_tensor_name, "unexpected tensor"),
}


@pytest.fixture(scope="module")
def hostile_reports(tmp_path_factory) -> dict[str, dict]:
    """Every hostile file read by one child process (one torch import for all the cases)."""
    folder = tmp_path_factory.mktemp("hostile")
    paths = {}
    for i, (case, (make, _)) in enumerate(sorted(HOSTILE.items())):
        paths[case] = folder / f"c{i}" / "best.safetensors"
        paths[case].parent.mkdir()
        make(paths[case])
    child = subprocess.run([sys.executable, "-c", _CHILD, *map(str, paths.values())], capture_output=True, text=True,
                           timeout=300, cwd=ROOT)
    assert child.returncode == 0, child.stderr[-2000:]
    by_path = {r["path"]: r for r in map(json.loads, child.stdout.strip().splitlines())}
    return {case: by_path[str(p)] | {"path": p} for case, p in paths.items()}


@pytest.mark.slow  # one child process for all cases, ~6 s with the file making
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_checkpoint_is_refused_in_one_line_with_bounded_memory(hostile_reports, case):
    _, words = HOSTILE[case]
    report = hostile_reports[case]
    path = report["path"]
    error = report["error"]
    assert error is not None, f"{case}: accepted"
    assert "\n" not in error and str(path) in error and words in error, error
    assert report["peak_growth_mb"] < PEAK_LIMIT_MB, (case, report)


def test_a_genuine_checkpoint_still_loads_through_the_header_checks(tmp_path):
    path = tmp_path / "best.safetensors"
    _save_tiny(path, head="transformer", objective="flow")
    ckpt = read_checkpoint(path)
    assert ckpt.config.policy.head == "transformer"
    assert set(ckpt.state_dict("ema")) == set(DiffusionPolicy(ckpt.config.policy).state_dict())
    assert all(isinstance(t, torch.Tensor) for t in ckpt.tensors.values())


@pytest.mark.slow
def test_sigterm_ends_an_evaluation_inside_a_thousand_step_chunk(tmp_path):
    """sample_steps at its bound (1000 flow steps per chunk, minutes per episode) must not make
    `eval` deaf to SIGTERM until the episode ends: the sampler polls the stop request per step."""
    import os
    import signal
    import time

    run = tmp_path / "run"
    cfg = tiny_run_config(objective="flow", sample_steps=1000, lowdim_dim=10)
    sd = DiffusionPolicy(cfg.policy).state_dict()
    save_checkpoint(run / "checkpoints" / "best.safetensors", cfg,
                    {f"ema.{k}": v for k, v in sd.items()} | {f"model.{k}": v for k, v in sd.items()},
                    {"training": {"step": 1}})
    video = tmp_path / "video"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    child = subprocess.Popen([sys.executable, "-m", "app", "eval", str(run), "--episodes", "3", "--image-size", "32",
                              "--video", str(video)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while not list(video.glob("*.mp4")) and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.1)  # the first episode's video opens right before its first chunk is sampled
        assert child.poll() is None and list(video.glob("*.mp4")), child.communicate()[1][-2000:]
        time.sleep(1.0)
        child.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        _, err = child.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert took < 5.0, (took, err[-2000:])
    assert child.returncode == 1 and "cancelled" in err and "Traceback" not in err, err[-2000:]


# -- every command pointed at a folder that is not a dataset -------------------------------------------

def _path_argument(sub) -> "object | None":
    """The argument through which a command is pointed at a folder: its positional, else a DIR/FILE option."""
    positional = [a for a in sub._actions if not a.option_strings]
    if positional:
        return positional[0]
    return next((a for a in sub._actions if a.option_strings and a.metavar in ("DIR", "FILE")), None)


def _subcommands() -> dict:
    from app.cli import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return dict(action.choices)


COMMANDS = sorted(_subcommands())


def test_the_commands_without_a_folder_argument_are_known():
    """A command that gains a folder argument joins the test below by itself; this says which have none."""
    assert sorted(n for n, sub in _subcommands().items() if _path_argument(sub) is None) == ["devices"]


@pytest.mark.parametrize("folder", ["junk", "/etc"])
@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "devices"])
def test_every_command_on_a_folder_that_is_not_a_dataset_is_one_line_and_status_2(tmp_path, monkeypatch, capsys,
                                                                                     command, folder):
    import recorder.record
    from app.cli import main

    if folder == "junk":
        target = tmp_path / "junk"
        (target / "sub").mkdir(parents=True)
        (target / "notes.txt").write_text("not a dataset\n")
    else:
        target = Path(folder)
    before = sorted(p.name for p in target.iterdir())

    def must_not_record(*args, **kw):
        raise AssertionError(f"record started in {target}")

    monkeypatch.setattr(recorder.record, "record_station", must_not_record)
    monkeypatch.setenv("DEMOSTATION_CONFIG_DIR", str(tmp_path / "config"))  # the GUI's settings stay here
    sub = _subcommands()[command]
    arg = _path_argument(sub)
    argv = [command] + ([str(target)] if not arg.option_strings else [arg.option_strings[0], str(target)])
    for other in sub._actions:  # the command's other required options: harmless places
        if other.option_strings and other.required and other is not arg:
            value = next(iter(other.choices)) if other.choices else str(tmp_path / f"out_{other.dest}")
            argv += [other.option_strings[0], value]
    if command == "eval":
        argv += ["--episodes", "1"]
    if any("--quit-after" in a.option_strings for a in sub._actions):
        argv += ["--quit-after", "0.5"]  # a window that opened anyway closes: the test fails, never hangs
    assert main(argv) == 2, argv
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err and "[Errno" not in err, err
    assert str(target) in err, err  # it names the folder
    assert sorted(p.name for p in target.iterdir()) == before  # nothing planted in it


@pytest.mark.parametrize("steps", [10**9, -5])
def test_a_sample_steps_override_is_bounded_like_the_configuration(steps):
    from policy.inference import DiffusionPolicyRunner

    model = DiffusionPolicy(tiny_run_config(lowdim_dim=10).policy)
    with pytest.raises(ValueError, match="sample_steps"):
        DiffusionPolicyRunner(model, sample_steps=steps)
