"""``python -m ood_lib.data [names...]``: download, verify and parse the data sets (all by default)."""

from __future__ import annotations

import sys

from ood_lib.data import SPECS, DataError, load
from ood_lib.settings.paths import cache_dir, data_dir


def main(names: list[str]) -> int:
    """Download, verify and parse each data set in ``names`` (all if empty); return the exit status."""
    print(f"Data directory: {data_dir()}  (parsed arrays: {cache_dir()})")
    failed = []
    for name in names or list(SPECS):
        try:
            x_train, _ = load(name, "train")
            x_test, _ = load(name, "test")
        except (DataError, ValueError) as error:
            failed.append(name)
            print(f"{name}: FAILED\n{error}\n")
            continue
        print(f"{name}: ok, train {x_train.shape}, test {x_test.shape}")
    if failed:
        print(f"Not available: {', '.join(failed)}. The chapters run without them and say so.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
