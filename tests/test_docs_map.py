"""The README and the reference docs stay the project's map: every command of the parser is in the
README's command list, and the architecture document names every package and module folder that
exists (a new one cannot land undocumented)."""

import re
from pathlib import Path

from app.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sorted(action.choices)


def test_the_readme_lists_every_command():
    listed = set(re.findall(r"^demostation (\w+)", (ROOT / "README.md").read_text(), flags=re.M))
    missing = [c for c in _commands() if c not in listed]
    assert not missing, f"README.md's command list lacks {missing}"


def test_the_architecture_doc_names_every_package():
    text = (ROOT / "docs" / "architecture.md").read_text()
    packages = [str(p.parent.relative_to(ROOT)) for p in ROOT.glob("*/__init__.py")]
    packages += [str(p.parent.relative_to(ROOT)) for p in ROOT.glob("*/*/__init__.py")]
    packages = [p for p in packages if p.split("/")[0] in ("app", "devices", "recorder", "curation", "policy")]
    missing = sorted(p for p in packages if f"`{p}/`" not in text)
    assert not missing, f"docs/architecture.md does not name {missing}"
