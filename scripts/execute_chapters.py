"""Execute every chapter (``chapters/NN_*.py``) in order and write its executed ``.ipynb``.

python scripts/execute_chapters.py              # all chapters, profile from $OOD_PROFILE
python scripts/execute_chapters.py 00 03        # only chapters whose name starts with 00 or 03
python scripts/execute_chapters.py --solutions  # the exercises' worked solutions (``solutions/NN_*.py``) instead
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jupytext
import nbclient
import nbformat

CHAPTER_DIR = Path(__file__).resolve().parent.parent / "chapters"
SOLUTION_DIR = CHAPTER_DIR.parent / "solutions"


def chapter_sources(prefixes: list[str], directory: Path = CHAPTER_DIR) -> list[Path]:
    """The chapters' (or, with ``directory=SOLUTION_DIR``, the solutions') py:percent sources, in order,
    filtered by name prefix if any are given."""
    sources = sorted(directory.glob("[0-9][0-9]_*.py"))
    if prefixes:
        sources = [path for path in sources if any(path.stem.startswith(prefix) for prefix in prefixes)]
    return sources


def run_in_chapter_dir(notebook: nbformat.NotebookNode, timeout_s: int, directory: Path = CHAPTER_DIR) -> None:
    """Execute ``notebook`` in place, as a chapter: in ``directory`` (the chapters'), each cell's timing recorded.

    Raises ``nbclient.exceptions.CellExecutionError`` at the first cell that fails.
    """
    nbclient.NotebookClient(
        notebook,
        timeout=timeout_s,
        kernel_name="python3",
        resources={"metadata": {"path": str(directory)}},
        record_timing=True,
        # The local kernel's start-up warning about unencrypted TCP on localhost is noise here.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    ).execute()


def execute(source: Path, timeout_s: int) -> float:
    """Run ``source`` as a notebook in its own directory; write the paired ``.ipynb``; return seconds."""
    notebook = jupytext.read(source)
    notebook.metadata.setdefault("jupytext", {})["formats"] = "ipynb,py:percent"
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    start = time.perf_counter()
    run_in_chapter_dir(notebook, timeout_s, source.parent)
    jupytext.write(notebook, source.with_suffix(".ipynb"))
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prefixes", nargs="*", help="run only chapters whose file name starts with one of these")
    parser.add_argument("--timeout", type=int, default=7200, help="seconds allowed per cell")
    parser.add_argument("--solutions", action="store_true", help="execute solutions/NN_*.py instead of the chapters")
    args = parser.parse_args()
    directory = SOLUTION_DIR if args.solutions else CHAPTER_DIR
    sources = chapter_sources(args.prefixes, directory)
    if not sources:
        print(f"No notebook matches {args.prefixes} in {directory}.", file=sys.stderr)
        return 2
    total = 0.0
    for index, source in enumerate(sources, start=1):
        print(f"[{index}/{len(sources)}] {source.stem} ...", flush=True)
        try:
            seconds = execute(source, args.timeout)
        except nbclient.exceptions.CellExecutionError as error:
            print(f"[{index}/{len(sources)}] {source.stem} FAILED:\n{error}", file=sys.stderr)
            return 1
        total += seconds
        print(
            f"[{index}/{len(sources)}] {source.stem} done in {seconds:.1f} s -> {source.with_suffix('.ipynb').name}",
            flush=True,
        )
    print(f"All {len(sources)} {'solutions' if args.solutions else 'chapters'} executed in {total:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
