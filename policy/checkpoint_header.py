"""A checkpoint's safetensors header, read and checked before a single tensor byte is read.

A checkpoint is untrusted input: its first 8 bytes say how long its JSON header is, and the header
says which tensors of which shapes follow. Both are bounded here before anything is allocated
from them — the header length by `MAX_HEADER_BYTES`, every tensor's bytes by the file's real size,
and every weight's shape by the network its own configuration would build (built on torch's
``meta`` device, which allocates nothing). So a 2 GB file whose header lies, a header of 10¹⁸
bytes, a truncated file or weights for another network are refused in one line at the cost of
reading the header, not the file.
"""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

# A real header (config, normaliser statistics, ~700 tensor entries of the GPU preset with
# optimiser state) is well under 1 MiB; 8 MiB leaves room and keeps a hostile header's JSON cheap.
MAX_HEADER_BYTES = 8 * 1024 * 1024

DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
               "BOOL": 1}
WEIGHT_PREFIXES = ("model", "ema")
OPTIM_PREFIX = "optim"


@dataclass(frozen=True)
class TensorEntry:
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclass(frozen=True)
class Header:
    metadata: dict[str, str]
    tensors: dict[str, TensorEntry]
    data_start: int  # file offset of the first tensor byte


def read_header(path: Path, fail: Callable[[str], Exception]) -> Header:
    """Read only the length prefix and the JSON header of ``path``; check the tensor index's layout.

    ``fail(why)`` makes the exception raised (a one-line `CheckpointError` naming the file).
    """
    try:
        with open(path, "rb") as f:
            size = _file_size(f)
            prefix = f.read(8)
            if len(prefix) < 8:
                raise fail("the file is too short")
            (n,) = struct.unpack("<Q", prefix)
            if n > MAX_HEADER_BYTES or n > size - 8:
                raise fail(f"no safetensors header (its length field says {n} bytes, more than the file or than "
                           f"{MAX_HEADER_BYTES}: a pickle or another format?)")
            raw = f.read(n)
    except OSError as exc:
        raise fail(f"it cannot be read ({exc.strerror or exc})") from None
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise fail("its header is not valid JSON (damaged file?)") from None
    if not isinstance(header, dict):
        raise fail("its header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise fail("its header has no string metadata (a foreign safetensors file?)")
    tensors = {name: _entry(name, value, fail) for name, value in header.items()}
    _check_layout(tensors, size - 8 - n, fail)
    return Header(metadata, tensors, 8 + n)


def _file_size(f: Any) -> int:
    return os.fstat(f.fileno()).st_size


def _entry(name: str, value: Any, fail: Callable[[str], Exception]) -> TensorEntry:
    if not isinstance(value, dict):
        raise fail(f"tensor {name[:80]!r} has no index entry")
    dtype, shape, offsets = value.get("dtype"), value.get("shape"), value.get("data_offsets")
    if dtype not in DTYPE_BYTES:
        raise fail(f"tensor {name[:80]!r} has an unknown dtype {str(dtype)[:20]!r}")
    if not (isinstance(shape, list) and len(shape) <= 8
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
        raise fail(f"tensor {name[:80]!r} has a malformed shape")
    if not (isinstance(offsets, list) and len(offsets) == 2
            and all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)):
        raise fail(f"tensor {name[:80]!r} has malformed data offsets")
    begin, end = offsets
    if end - begin != math.prod(shape) * DTYPE_BYTES[dtype]:
        raise fail(f"tensor {name[:80]!r}: its shape {shape} does not match its {end - begin} bytes")
    return TensorEntry(dtype, tuple(shape), begin, end)


def _check_layout(tensors: dict[str, TensorEntry], data_bytes: int, fail: Callable[[str], Exception]) -> None:
    """The tensors tile the data exactly (the safetensors rule): no gap, no overlap, nothing past the end."""
    position = 0
    for name, e in sorted(tensors.items(), key=lambda kv: (kv[1].begin, kv[1].end)):
        if e.begin != position:
            raise fail(f"tensor {name[:80]!r} overlaps another or leaves a gap (damaged file?)")
        position = e.end
    if position != data_bytes:
        what = "the file is truncated" if position > data_bytes else "the file has trailing bytes"
        raise fail(f"its header describes {position} bytes of tensors but {data_bytes} follow ({what})")


def check_shapes(tensors: dict[str, TensorEntry], expected: dict[str, tuple[int, ...]],
                 fail: Callable[[str], Exception]) -> None:
    """Weights must be exactly the network the configuration builds; optimiser state its parameters' shapes.

    ``expected`` maps state-dict names (without prefix) to shapes, from the network built on the
    ``meta`` device.
    """
    shapes = set(expected.values()) | {(), (1,)}
    for prefix in WEIGHT_PREFIXES:
        names = {k[len(prefix) + 1:] for k in tensors if k.startswith(prefix + ".")}
        if not names:
            continue
        missing, extra = sorted(set(expected) - names), sorted(names - set(expected))
        if missing or extra:
            which = f"lacks {prefix}.{missing[0]}" if missing else f"has an unknown tensor {prefix}.{extra[0][:80]}"
            raise fail(f"its weights are not the network its configuration builds (it {which})")
        for k in sorted(names):
            got = tensors[f"{prefix}.{k}"].shape
            if got != expected[k]:
                raise fail(f"tensor {prefix}.{k} has shape {list(got)}, its configuration builds {list(expected[k])}")
    optim = [k for k in tensors if k.startswith(OPTIM_PREFIX + ".")]
    if len(optim) > 3 * len(expected):  # AdamW: step, exp_avg, exp_avg_sq per parameter at most
        raise fail(f"it holds {len(optim)} optimiser tensors for a network of {len(expected)} tensors")
    for name, e in tensors.items():
        head = name.split(".", 1)[0]
        if head in WEIGHT_PREFIXES:
            continue
        if head != OPTIM_PREFIX:
            raise fail(f"it holds an unexpected tensor {name[:80]!r}")
        if e.shape not in shapes:
            raise fail(f"optimiser tensor {name[:80]!r} has shape {list(e.shape)}, which no parameter has")
