"""The architecture's import rules fail the build: the contracts in pyproject.toml's
[tool.importlinter] (layers, no Qt in the core, independent device kinds), checked by import-linter
over the whole import graph, and no test may hide a broken import of the project as a skip."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = ("app", "devices", "recorder", "curation", "policy", "assets", "bench")


def test_import_contracts_are_kept():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    assert Path(lint).exists(), "import-linter is missing: it comes with the dev extra (scripts/setup.sh)"
    r = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=240,
                       env={"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout, r.stdout[-2000:]


def _skipped_imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "importorskip" and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            yield node.args[0].value


def test_no_test_skips_on_an_import_of_the_project():
    offenders = [f"{p.relative_to(ROOT)}: importorskip({name!r})"
                 for p in (ROOT / "tests").rglob("*.py")
                 for name in _skipped_imports(p) if name.split(".")[0] in PROJECT_PACKAGES]
    assert not offenders, offenders


def test_no_two_product_classes_share_a_name():
    """A name says which thing it is: `Workspace` cannot mean a box in one package and a dataset in
    another (tests and benches may reuse names; the product may not)."""
    seen: dict[str, list[str]] = {}
    for package in ("app", "devices", "recorder", "curation", "policy"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.parse(path.read_text(), filename=str(path)).body:
                if isinstance(node, ast.ClassDef):
                    seen.setdefault(node.name, []).append(str(path.relative_to(ROOT)))
    shared = {name: where for name, where in seen.items() if len(where) > 1}
    assert not shared, shared
