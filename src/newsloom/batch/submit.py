"""The file to hand to ``spark-submit``: ``newsloom batch`` with the launcher's master.

``spark-submit [options] .../newsloom/batch/submit.py INPUT... --out DIR``
runs ``newsloom batch INPUT... --out DIR``; the master, executors and
memory come from spark-submit's own options (see docs/batch.md).
"""

from __future__ import annotations

import sys


def main() -> None:
    from newsloom.cli import main as cli_main

    sys.argv = [sys.argv[0], "batch", *sys.argv[1:]]
    cli_main()


if __name__ == "__main__":
    main()
