"""Throughput of ``newsloom batch`` on Spark against the single-process pipeline.

Builds one gzip-per-record WARC (CC-NEWS style) of ``--pages`` pages from the
HTML in ``../shared/data`` (Zyte benchmark, trafilatura's and htmldate's
evaluation pages): each page is copied many times, each copy perturbed (one
paragraph dropped, a filing note added, so copies are near, not exact,
duplicates) and re-dated across one month.  The WARC goes under a temporary
folder and is deleted afterwards; it is never part of the repository.

Then it runs, on the same WARC, with the full pipeline (read, extract, dedup,
stories, provenance and checks):

* the single process (``Pipeline.ingest`` into a fresh SQLite store);
* ``newsloom batch`` on Spark ``local[1]`` and on ``local[2]`` (each in its own
  process, so each gets a fresh JVM and fresh Python workers);

and prints pages per second and the two ratios against the goals:
``local[2]`` at least 1.7× ``local[1]``, and Spark's cost per page (on one
core) within 1.3× of the single process's.  Nothing is asserted.

Usage: ``.venv/bin/python bench/spark.py [--pages N] [--seed N] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eval"))

from common import Doc, load_htmldate_eval, load_trafilatura_eval, load_zyte, print_table

GOAL_SCALING = 1.7
GOAL_OVERHEAD = 1.3
MONTH_START = datetime(2026, 10, 1, tzinfo=UTC)
_PARAGRAPH = re.compile(r"<p\b[^>]*>.*?</p>", re.IGNORECASE | re.DOTALL)
_HEAD_END = re.compile(r"</head>", re.IGNORECASE)
# Dates the page states itself would win over the one added here; and its
# canonical URL would make every copy one article (the id hashes it).
_DATE_META = re.compile(r"<meta[^>]+(?:published|date|time)[^>]*>", re.IGNORECASE)
_CANONICAL = re.compile(
    r"<link[^>]+rel=[\"']?canonical[^>]*>|<meta[^>]+og:url[^>]*>", re.IGNORECASE
)


def source_pages() -> list[Doc]:
    docs: list[Doc] = []
    for loader in (load_zyte, load_trafilatura_eval, load_htmldate_eval):
        found, _gold = loader()
        docs.extend(d for d in found if len(_PARAGRAPH.findall(d.html)) >= 3)
    return docs


def perturb(doc: Doc, url: str, copy: int, when: datetime, rng: random.Random) -> str:
    html = _CANONICAL.sub("", _DATE_META.sub("", doc.html))
    paragraphs = _PARAGRAPH.findall(html)
    if len(paragraphs) > 3:
        html = html.replace(rng.choice(paragraphs[1:]), "", 1)
    note = f"<p>Filed {when:%d %B %Y at %H:%M} as report {copy} of the wire edition.</p>"
    last = _PARAGRAPH.findall(html)[-1]
    html = html.replace(last, last + note, 1)
    meta = (
        f'<meta property="article:published_time" content="{when.isoformat()}">'
        f'<link rel="canonical" href="{url}">'
    )
    if _HEAD_END.search(html):
        return _HEAD_END.sub(meta + "</head>", html, count=1)
    return meta + html


def build_warc(path: Path, pages: int, seed: int) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    # At least eight copies of each source page, so a short run has copies too.
    docs = source_pages()[: max(1, pages // 8)]
    rng = random.Random(seed)
    step = timedelta(days=30) / max(pages, 1)
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for index in range(pages):
            doc = docs[index % len(docs)]
            copy = index // len(docs)
            when = MONTH_START + step * index
            url = f"https://outlet{index % 97}.example/{copy}/{index}"
            body = perturb(doc, url, copy, when, rng).encode("utf-8")
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            record = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                http_headers=headers,
                warc_headers_dict={"WARC-Date": when.strftime("%Y-%m-%dT%H:%M:%SZ")},
            )
            writer.write_record(record)


def run_single(warc: Path, folder: Path) -> float:
    from newsloom.pipeline import Pipeline
    from newsloom.store import open_store

    started = time.perf_counter()
    with open_store(f"sqlite:///{folder / 'single.db'}") as store:
        report = Pipeline(store).ingest([str(warc)])
    seconds = time.perf_counter() - started
    print(f"  single process: {report.new} articles, {len(report.failures)} failures", flush=True)
    return seconds


def run_spark(warc: Path, folder: Path, master: str) -> float:
    """One ``newsloom batch`` run in a fresh process; returns its wall time."""
    out = folder / ("out-" + re.sub(r"\W+", "", master))
    cli = "from newsloom.cli import main; main()"
    command = [
        sys.executable, "-c", cli, "batch", str(warc), "--out", str(out), "--master", master,
        "--json",
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"newsloom batch on {master} failed:\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout)
    print(
        f"  spark {master}: {report['articles']} articles, {report['errors']} errors, "
        f"steps {json.dumps({k: round(v, 1) for k, v in report['timings'].items()})}",
        flush=True,
    )
    return seconds


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20_000, help="pages in the WARC")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep the WARC and outputs in this folder")
    args = parser.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="newsloom-bench-spark-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        warc = folder / "bench.warc.gz"
        print(f"building a WARC of {args.pages} pages in {folder} …", flush=True)
        build_warc(warc, args.pages, args.seed)
        single = run_single(warc, folder)
        one = run_spark(warc, folder, "local[1]")
        two = run_spark(warc, folder, "local[2]")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    rate = {name: args.pages / s for name, s in (("single", single), ("1", one), ("2", two))}
    print_table(
        ["run", "seconds", "pages/s"],
        [
            ["single process", f"{single:.1f}", f"{rate['single']:.1f}"],
            ["spark local[1]", f"{one:.1f}", f"{rate['1']:.1f}"],
            ["spark local[2]", f"{two:.1f}", f"{rate['2']:.1f}"],
        ],
    )
    scaling = rate["2"] / rate["1"]
    overhead = one / single
    print(
        f"local[2] / local[1] speed-up: {scaling:.2f}x (goal >= {GOAL_SCALING}x: "
        f"{'met' if scaling >= GOAL_SCALING else 'NOT met'})"
    )
    print(
        f"spark local[1] cost per page / single process: {overhead:.2f}x (goal <= "
        f"{GOAL_OVERHEAD}x: {'met' if overhead <= GOAL_OVERHEAD else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
