"""Checks that keep the layout honest: packages whose imports only go down, docstrings, module and function
size, chapters using only ood_lib's public API."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted((ROOT / "ood_lib").rglob("*.py"))
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.py"))
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
# ood_lib's packages, lowest first: a module imports from its own package or from a lower rank only
# (CONTRIBUTING.md, "Where does new code go"). Packages of equal rank never import each other.
LAYERS = {"settings": 0, "data": 1, "models": 2, "training": 3, "analysis": 3, "ood": 3, "book": 4}
# Data and models reach a chapter through ood_lib.data and ood_lib.training.zoo, never directly.
FORBIDDEN_IN_CHAPTERS = {
    "imports": {"torchvision", "pooch", "ood_lib.data.store", "ood_lib.data.fetch"},
    "calls": {"torch.load", "np.load", "numpy.load", "torch.save"},
}


def module_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def module_name(path: Path) -> str:
    """``ood_lib/models/flows/glow.py`` -> ``ood_lib.models.flows.glow`` (a package's ``__init__`` -> the package)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(tree: ast.Module, module: str, is_package: bool) -> list[tuple[int, str]]:
    """``(line, dotted name)`` of every ood_lib module or name imported anywhere in ``tree`` (functions too).

    Relative imports are resolved against ``module``; ``from ood_lib import data`` yields ``ood_lib.data``.
    """
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] == "ood_lib"]


def upward_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """The imports in ``source`` (the code of ood_lib module ``module``) that break the layering of ``LAYERS``."""
    own = module.split(".")[1] if module.count(".") else None
    problems = []
    for line, name in imported_modules(ast.parse(source), module, is_package):
        parts = name.split(".")
        target = parts[1] if len(parts) > 1 else None
        if own is None:
            problems.append(f"line {line}: ood_lib/__init__.py imports {name} (it holds only the docstring)")
        elif target not in LAYERS:
            problems.append(f"line {line}: {name} is not in one of the packages {sorted(LAYERS)}")
        elif target != own and LAYERS[target] >= LAYERS[own]:
            problems.append(f"line {line}: {module} ({own}, rank {LAYERS[own]}) imports {name} (rank {LAYERS[target]})")
    return problems


def test_ood_lib_is_the_packages_of_the_book() -> None:
    top_level = {path.name for path in (ROOT / "ood_lib").iterdir() if not path.name.startswith((".", "__pycache__"))}
    packages = {name for name in top_level if (ROOT / "ood_lib" / name / "__init__.py").exists()}
    assert packages == set(LAYERS), f"ood_lib's packages {sorted(packages)} differ from LAYERS {sorted(LAYERS)}"
    stray = top_level - packages - {"__init__.py"}
    assert not stray, (
        f"modules directly in ood_lib/ (each belongs in one package, see CONTRIBUTING.md): {sorted(stray)}"
    )


@pytest.mark.parametrize("path", MODULES, ids=module_id)
def test_imports_only_go_down(path: Path) -> None:
    problems = upward_imports(path.read_text(), module_name(path), path.name == "__init__.py")
    assert not problems, f"{module_id(path)} imports upwards: {problems}"


def test_the_layering_check_catches_an_upward_import() -> None:
    source = (
        "from ood_lib.data import load\n"
        "from ood_lib.settings.profiles import Profile\n"
        "def builder():\n"
        "    from ood_lib.training import zoo\n"
        "from ..ood.scores import bits_per_dim\n"
        "from ood_lib import book\n"
    )
    problems = upward_imports(source, "ood_lib.models.pixelcnn")
    assert len(problems) == 3, problems
    assert any("ood_lib.training.zoo" in p for p in problems)
    assert any("ood_lib.ood.scores.bits_per_dim" in p for p in problems)
    assert any("imports ood_lib.book" in p for p in problems)
    assert upward_imports("from ood_lib.ood import scores\n", "ood_lib.training.zoo")  # siblings do not mix
    assert not upward_imports("from . import glow\nfrom ..bpd import x\n", "ood_lib.models.flows", is_package=True)
    assert upward_imports("from ood_lib import stats\n", "ood_lib.book.plots")  # a module outside every package


def long_functions(tree: ast.Module) -> list[tuple[str, int]]:
    """Every function or method (nested ones too) over ``MAX_FUNCTION_LINES`` lines, decorators excluded."""
    return [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]


@pytest.mark.parametrize("path", MODULES, ids=module_id)
def test_functions_are_short(path: Path) -> None:
    too_long = long_functions(ast.parse(path.read_text()))
    assert not too_long, f"{module_id(path)}: functions over {MAX_FUNCTION_LINES} lines (split them): {too_long}"


def test_the_function_length_check_counts_lines() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    assert long_functions(ast.parse(f"def long():\n{body}")) == [("long", MAX_FUNCTION_LINES + 1)]
    assert long_functions(ast.parse(f"def short():\n{body[: body.rindex('    x')]}")) == []


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
        "from ood_lib.training import zoo\nfrom ood_lib.training.engine import _TrainingRun\n"
        "x = zoo._glow_builder(None)\n"
        "import torch\nm = torch.load('model.pt')\n"
    )
    with pytest.raises(AssertionError, match="private") as error:
        test_chapter_uses_only_the_public_api_of_ood_lib(chapter)
    assert "_glow_builder" in str(error.value) and "torch.load" in str(error.value)
