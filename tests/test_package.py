"""The package's metadata: one version, every runtime dependency declared."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata

import evidence

from .conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_one_version_source() -> None:
    declared = PYPROJECT["project"]["version"]
    assert evidence.__version__ == metadata.version("evidence") == declared
    init = (ROOT / "evidence" / "__init__.py").read_text(encoding="utf-8")
    assert declared not in init  # not written a second time


def test_every_imported_package_is_a_declared_dependency() -> None:
    imported: set[str] = set()
    for path in (ROOT / "evidence").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {n for n in imported if n not in sys.stdlib_module_names} - {"evidence"}
    distributions = metadata.packages_distributions()  # module -> distribution (citeproc-py)
    third_party = {distributions.get(n, [n])[0].lower() for n in third_party}
    declared = {
        re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0].lower()
        for requirement in PYPROJECT["project"]["dependencies"]
    }
    assert "pylatexenc" in third_party and "filelock" in third_party
    assert sorted(third_party - declared) == []
