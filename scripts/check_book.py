"""Re-execute the committed quick book and compare it (`make book-check`): two chapter groups at once.

Each group runs ``book/test_quick_book.py`` in its own pytest process with one thread
(``OMP_NUM_THREADS=1``): on 2 cores that is faster than one chapter at a time on two threads,
and since ``make chapters`` executes with every core, each run also shows that the checked
cells do not depend on the thread count. The groups are balanced by measured time (one
thread each, 2026-12-01: 08 629 s, 05 313 s, 04 277 s, 06 149 s, 07 110 s, 00-03 85 s in all):
08 and 06 in one, everything else, new chapters included, in the other. The exercises' worked
solutions (``solutions/NN_*.ipynb``) run in the group of their chapter.

python scripts/check_book.py            # every chapter and every solution
python scripts/check_book.py 04 08      # only these chapters and their solutions, in one process
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from execute_chapters import chapter_sources

REPO_ROOT = Path(__file__).resolve().parent.parent
EXECUTED_DIR = REPO_ROOT / "build" / "executed"
LONG_GROUP = ("08", "06")  # the CI run of 2026-12-02 with 07 here: 1080 s against 804 s for the other group


def solutions_for(group: list[str]) -> str:
    """``$BOOK_SOLUTIONS`` for a group: the solutions of the group's own chapters, run beside them."""
    return " ".join(group)


def chapter_groups(prefixes: list[str]) -> list[list[str]]:
    """The chapter prefixes each pytest process runs: the requested ones together, else the two balanced groups."""
    if prefixes:
        return [prefixes]
    chapters = [source.stem[:2] for source in chapter_sources([])]
    long_group = [chapter for chapter in chapters if chapter in LONG_GROUP]
    return [group for group in (long_group, [c for c in chapters if c not in LONG_GROUP]) if group]


def main() -> int:
    prefixes = sys.argv[1:] or os.environ.get("CHAPTERS", "").split()
    EXECUTED_DIR.mkdir(parents=True, exist_ok=True)
    for stale in EXECUTED_DIR.glob("*.timing.txt"):
        stale.unlink()
    start = time.perf_counter()
    runs = []
    for group in chapter_groups(prefixes):
        log = EXECUTED_DIR / f"pytest_{'_'.join(group)}.log"
        env = {
            **os.environ,
            "CHAPTERS": " ".join(group),
            "BOOK_SOLUTIONS": solutions_for(group),
            "OMP_NUM_THREADS": "1",
        }
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", "book/test_quick_book.py"]
        with open(log, "w") as output:
            runs.append((group, log, subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=output, stderr=output)))
        print(f"chapters {' '.join(group)}: running (log: {log.relative_to(REPO_ROOT)})", flush=True)
    failed = False
    for group, log, process in runs:
        failed |= process.wait() != 0
        print(f"\n===== chapters {' '.join(group)} =====\n{log.read_text()}", flush=True)
    for timing in sorted(EXECUTED_DIR.glob("*.timing.txt")):
        print(timing.read_text().strip())
    print(f"book check: {'FAILED' if failed else 'passed'} in {time.perf_counter() - start:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
