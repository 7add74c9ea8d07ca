"""Checks that keep the layout honest: docstrings, module size, chapters using only ood_lib's public API."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted((ROOT / "ood_lib").rglob("*.py"))
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.py"))
MAX_MODULE_LINES = 400
# Data and models reach a chapter through ood_lib.data and ood_lib.training.zoo, never directly.
FORBIDDEN_IN_CHAPTERS = {
    "imports": {"torchvision", "pooch", "ood_lib.data.store", "ood_lib.data.fetch"},
    "calls": {"torch.load", "np.load", "numpy.load", "torch.save"},
}


def module_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def public_definitions(tree: ast.Module) -> list[tuple[str, ast.AST]]:
    """Module-level public functions and classes, and the public methods of public classes."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_"):
            found.append((node.name, node))
            if isinstance(node, ast.ClassDef):
                found += [
                    (f"{node.name}.{item.name}", item)
                    for item in node.body
                    if isinstance(item, ast.FunctionDef) and not item.name.startswith("_")
                ]
    return found


@pytest.mark.parametrize("path", MODULES, ids=module_id)
def test_module_and_its_public_functions_have_docstrings(path: Path) -> None:
    tree = ast.parse(path.read_text())
    assert ast.get_docstring(tree), f"{module_id(path)} has no module docstring"
    missing = [name for name, node in public_definitions(tree) if not ast.get_docstring(node)]
    assert not missing, f"{module_id(path)}: public definitions without a docstring: {missing}"


@pytest.mark.parametrize("path", MODULES, ids=module_id)
def test_module_is_short(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module_id(path)} has {lines} lines: split it (one concept per file)"


def dotted_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted_name(node.value)}.{node.attr}"
    return ""


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_chapter_uses_only_the_public_api_of_ood_lib(path: Path) -> None:
    tree = ast.parse(path.read_text())
    ood_lib_names = set()
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module in FORBIDDEN_IN_CHAPTERS["imports"] or node.module.split(".")[0] == "torchvision":
                problems.append(f"imports from {node.module}")
            if node.module.split(".")[0] == "ood_lib":
                for alias in node.names:
                    if alias.name.startswith("_"):
                        problems.append(f"imports private {node.module}.{alias.name}")
                    ood_lib_names.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in {"torchvision", "pooch"}:
                    problems.append(f"imports {alias.name}")
                if alias.name.split(".")[0] == "ood_lib":
                    ood_lib_names.add((alias.asname or alias.name).split(".")[0])
    for node in ast.walk(tree):
        private = isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
        if private and dotted_name(node.value).split(".")[0] in ood_lib_names:
            problems.append(f"reaches into private {dotted_name(node)}")
        if isinstance(node, ast.Call) and dotted_name(node.func) in FORBIDDEN_IN_CHAPTERS["calls"]:
            problems.append(
                f"calls {dotted_name(node.func)} (load data and models through ood_lib.data and ood_lib.training.zoo)"
            )
    assert not problems, f"{path.name}: {sorted(set(problems))}"


def test_the_checks_catch_a_chapter_that_reaches_into_private_helpers(tmp_path: Path) -> None:
    chapter = tmp_path / "99_bad.py"
    chapter.write_text(
        "from ood_lib import zoo\nfrom ood_lib.training.engine import _derived_seed\nx = zoo._glow_builder(None)\n"
        "import torch\nm = torch.load('model.pt')\n"
    )
    with pytest.raises(AssertionError, match="private") as error:
        test_chapter_uses_only_the_public_api_of_ood_lib(chapter)
    assert "_glow_builder" in str(error.value) and "torch.load" in str(error.value)
