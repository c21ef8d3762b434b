"""Throughput of ``newsloom.extract`` against plain ``trafilatura.extract``.

Both run on the same decoded pages (the Zyte benchmark and trafilatura's
evaluation set from ``../shared/data``), page by page and alternating which
goes first, so background load hits both alike.  Prints pages per second and
the ratio; nothing is asserted on wall time.

Usage: ``.venv/bin/python bench/extraction.py [--rounds N]``
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eval"))

import trafilatura

import newsloom
from common import Doc, load_trafilatura_eval, load_zyte, print_table, side_by_side, warm_up
from newsloom.errors import ExtractionError


def run_newsloom(doc: Doc) -> None:
    with contextlib.suppress(ExtractionError):
        newsloom.extract(doc.html, url=doc.url, kind="html")


def run_trafilatura(doc: Doc) -> None:
    trafilatura.extract(doc.html, url=doc.url)


def measure(docs: Sequence[Doc], rounds: int) -> tuple[float, float]:
    """Seconds spent by (newsloom, trafilatura) over ``rounds`` passes."""
    systems = {"newsloom": run_newsloom, "trafilatura": run_trafilatura}
    ours = theirs = 0.0
    for _ in range(rounds):
        _results, seconds = side_by_side(docs, systems)
        ours += seconds["newsloom"]
        theirs += seconds["trafilatura"]
    return ours, theirs


def row(name: str, pages: int, ours: float, theirs: float) -> list[object]:
    return [name, pages, f"{pages / ours:.1f}", f"{pages / theirs:.1f}", f"{theirs / ours:.2f}x"]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="passes over the pages")
    args = parser.parse_args(argv)
    for name in ("trafilatura", "htmldate", "courlan"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    warm_up()
    sets = {"zyte": load_zyte()[0], "trafilatura_eval": load_trafilatura_eval()[0]}
    rows = []
    totals = [0.0, 0.0, 0]
    for name, docs in sets.items():
        ours, theirs = measure(docs, args.rounds)
        pages = len(docs) * args.rounds
        totals = [totals[0] + ours, totals[1] + theirs, totals[2] + pages]
        rows.append(row(name, pages, ours, theirs))
    rows.append(row("all", totals[2], totals[0], totals[1]))
    print_table(["pages from", "pages", "newsloom pages/s", "trafilatura pages/s", "ratio"], rows)


if __name__ == "__main__":
    main()
