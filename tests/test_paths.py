"""Paths are printed relative to the project or by their variable, never as one machine's absolute path."""

from __future__ import annotations

from ood_lib.settings.paths import REPO_ROOT, describe


def test_a_path_in_or_beside_the_project_is_printed_relative() -> None:
    assert describe(REPO_ROOT / "data", "OOD_DATA_DIR") == "data"
    assert describe(REPO_ROOT.parent / "shared" / "data", "OOD_DATA_DIR") == "../shared/data"


def test_any_other_path_is_printed_by_its_variable() -> None:
    far_away = REPO_ROOT.parent.parent / "elsewhere" / "data"
    assert describe(far_away, "OOD_DATA_DIR") == "$OOD_DATA_DIR"


def test_the_repository_root_is_the_project_folder() -> None:
    assert (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "ood_lib" / "settings" / "paths.py").is_file()
