"""The core packages never import Qt (checked here, so a violation fails the build)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ["devices", "recorder", "curation", "policy"]
QT = ("PySide6", "PyQt5", "PyQt6", "qtpy", "superqt", "shiboken6", "pyqtgraph")


def imported_modules(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


@pytest.mark.parametrize("package", CORE)
def test_core_package_does_not_import_qt(package):
    offenders = [
        f"{p.relative_to(ROOT)} imports {m}"
        for p in (ROOT / package).rglob("*.py")
        for m in imported_modules(p)
        if m.split(".")[0] in QT or m.split(".")[0] == "app"
    ]
    assert not offenders, offenders


def test_devices_knows_nothing_of_hdf5_or_torch():
    offenders = [
        f"{p.relative_to(ROOT)} imports {m}"
        for p in (ROOT / "devices").rglob("*.py")
        for m in imported_modules(p)
        if m.split(".")[0] in ("h5py", "torch", "recorder", "policy", "curation")
    ]
    assert not offenders, offenders
