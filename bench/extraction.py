"""Throughput of newsloom's ``extract_html`` against plain ``trafilatura.extract``.

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
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eval"))

import trafilatura

from common import Doc, load_trafilatura_eval, load_zyte, print_table
from newsloom.errors import ExtractionError
from newsloom.extract.html import extract_html


def run_newsloom(doc: Doc) -> None:
    with contextlib.suppress(ExtractionError):
        extract_html(doc.html, url=doc.url)


def run_trafilatura(doc: Doc) -> None:
    trafilatura.extract(doc.html, url=doc.url)


def measure(docs: Sequence[Doc], rounds: int) -> tuple[float, float]:
    """Seconds spent by (newsloom, trafilatura) over ``rounds`` passes."""
    run_newsloom(docs[0])
    run_trafilatura(docs[0])
    ours = theirs = 0.0
    for _ in range(rounds):
        for index, doc in enumerate(docs):
            pair = (run_newsloom, run_trafilatura)
            for func in pair if index % 2 else pair[::-1]:
                start = time.perf_counter()
                func(doc)
                spent = time.perf_counter() - start
                if func is run_newsloom:
                    ours += spent
                else:
                    theirs += spent
    return ours, theirs


def row(name: str, pages: int, ours: float, theirs: float) -> list[object]:
    return [name, pages, f"{pages / ours:.1f}", f"{pages / theirs:.1f}", f"{theirs / ours:.2f}x"]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="passes over the pages")
    args = parser.parse_args(argv)
    for name in ("trafilatura", "htmldate", "courlan"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

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
