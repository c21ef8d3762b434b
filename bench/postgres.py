"""PostgreSQL against SQLite: ingest throughput and story-page latency, side by side.

Both backends ingest the same first ``--articles`` pages (100,000 by default)
of ``bench/growth.py``'s synthetic stream (re-dated, perturbed copies of the
real articles in ``../shared/data``, cached model features), through the real
pipeline (``analyse=False``, as in the growth and web benches), ``--window``
pages per ingest run.  Ingest throughput is stored articles per wall second
over the whole ingest.

Then the web app (``build_app`` over a ``StorePool``, driven in-process by
FastAPI's TestClient, so no network or server process is timed) answers
``GET /story/{id}`` for ``--pages`` stories picked at random (seeded) among the
live ones: each story once while its page is not cached yet ("cold": store
reads and rendering), then once more ("warm": the app's page cache).  p50 and
p99 of each are printed.

PostgreSQL runs as a throwaway server on loopback (``tests/postgres/server.py``:
initdb in a temporary directory), with ``fsync=off`` and
``synchronous_commit=off`` since the data is thrown away; SQLite runs with its
own settings (WAL, ``synchronous=NORMAL``), which do not sync on each commit
either.  Both stores live on the same disk.

Usage: ``.venv/bin/python bench/postgres.py [--articles N] [--window W]
[--pages K] [--backend sqlite|postgres|both] [--keep]``; figures also go to
``bench/out/postgres.json``.  ``--keep`` saves each backend's finished store
where ``bench/load.py`` looks for its cached stores (``load_N.db``,
``load_N.pgdump``), so one build serves both benches.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import growth  # noqa: E402  (the stream, cached features and ingest windows)
from common import REPO_ROOT, print_table  # noqa: E402  (eval/common.py, on the path via growth)

# The throwaway-server helper of the PostgreSQL tests, imported where it lives.
sys.path.insert(0, str(REPO_ROOT / "tests"))
from postgres.server import ServerUnavailable, start_server  # noqa: E402

ARTICLES = 100_000
WINDOW = 500
PAGES = 300
SEED = 20240701


@dataclass(slots=True)
class Result:
    backend: str
    pages: int
    stored: int
    stories: int
    ingest_seconds: float
    articles_per_second: float
    cold_p50_ms: float
    cold_p99_ms: float
    warm_p50_ms: float
    warm_p99_ms: float
    story_pages: int


def ingest(url: str, stream: growth.Stream, cached: growth.CachedFeaturizer, args) -> tuple:
    """Feed the stream's first ``args.articles`` pages into ``url``; (stored, stories, seconds)."""
    from newsloom.settings import Settings
    from newsloom.store import open_store

    store = open_store(url)
    pipeline = growth.TimedPipeline(store, Settings(), cached.featurizer())
    stored = 0
    began = time.perf_counter()
    try:
        for position in range(0, args.articles, args.window):
            stop = min(args.articles, position + args.window)
            report, *_ = growth.ingest_window(pipeline, stream.pages(position, stop), None)
            # A few stream pages are refused by extraction on both backends
            # alike; they are counted in the report, not stored.
            stored += report.new
            elapsed = time.perf_counter() - began
            print(
                f"{url.split(':')[0]}: {stop:>8,}/{args.articles:,} pages, "
                f"{stored / elapsed:7.1f} articles/s, {elapsed / 60:5.1f} min",
                file=sys.stderr,
            )
        seconds = time.perf_counter() - began
        stories = store.count_stories()
    finally:
        pipeline.close()
        store.close()
    return stored, stories, seconds


def story_ids(url: str, count: int) -> list[str]:
    """``count`` live story ids picked at random (seeded), in a random order."""
    from newsloom.store import open_store

    rng = random.Random(SEED)
    with open_store(url) as store:
        total = store.count_stories()
        offsets = sorted(rng.sample(range(total), min(count, total)))
        ids = [store.iter_stories(limit=1, offset=o)[0].id for o in offsets]
    rng.shuffle(ids)
    return ids


def page_latency(url: str, ids: Sequence[str]) -> tuple[list[float], list[float]]:
    """Milliseconds per story page: each page cold (first request), then warm."""
    from fastapi.testclient import TestClient

    from newsloom.web.app import StorePool, build_app

    cold: list[float] = []
    warm: list[float] = []
    with TestClient(build_app(StorePool(url))) as client:
        for times in (cold, warm):
            for story_id in ids:
                began = time.perf_counter()
                response = client.get(f"/story/{story_id}")
                times.append((time.perf_counter() - began) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{url}: /story/{story_id} answered {response.status_code}")
    return cold, warm


def keep_store(url: str, pages: int, counts: tuple[int, int, float], pg_bin: Path | None) -> None:
    """Save the finished store as ``bench/load.py``'s cached store of the same size."""
    import load  # only with --keep

    stored, stories, seconds = counts
    info = {
        "articles": stored,
        "stories": stories,
        "build_seconds": round(seconds, 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "built_by": "bench/postgres.py --keep",
    }
    if pg_bin is None:
        source = Path(url.removeprefix("sqlite:///"))
        target = load.sqlite_cache(pages)
        load.web.checkpoint(source)  # one self-contained file, as load.py builds it
        partial = target.with_name(target.name + ".partial")
        shutil.copyfile(source, partial)
        partial.rename(target)
    else:
        target = load.postgres_cache(pages)
        load.dump_postgres(pg_bin, url, target)
    load.write_info(target, info)
    print(f"kept: {target.relative_to(REPO_ROOT)}", file=sys.stderr)


def measure(backend: str, url: str, stream, cached, args, pg_bin: Path | None = None) -> Result:
    stored, stories, seconds = ingest(url, stream, cached, args)
    if args.keep:
        keep_store(url, args.articles, (stored, stories, seconds), pg_bin)
    ids = story_ids(url, args.pages)
    cold, warm = page_latency(url, ids)
    return Result(
        backend=backend,
        pages=args.articles,
        stored=stored,
        stories=stories,
        ingest_seconds=round(seconds, 2),
        articles_per_second=round(stored / seconds, 1),
        cold_p50_ms=round(float(np.percentile(cold, 50)), 2),
        cold_p99_ms=round(float(np.percentile(cold, 99)), 2),
        warm_p50_ms=round(float(np.percentile(warm, 50)), 2),
        warm_p99_ms=round(float(np.percentile(warm, 99)), 2),
        story_pages=len(ids),
    )


def report(results: list[Result]) -> None:
    rows = [
        ("articles stored", *(r.stored for r in results)),
        ("live stories", *(r.stories for r in results)),
        ("ingest wall (s)", *(r.ingest_seconds for r in results)),
        ("ingest (articles/s)", *(r.articles_per_second for r in results)),
        ("story page cold p50 (ms)", *(r.cold_p50_ms for r in results)),
        ("story page cold p99 (ms)", *(r.cold_p99_ms for r in results)),
        ("story page warm p50 (ms)", *(r.warm_p50_ms for r in results)),
        ("story page warm p99 (ms)", *(r.warm_p99_ms for r in results)),
    ]
    pages = results[0].story_pages
    print(f"\n{results[0].pages:,} pages of the growth stream; {pages} story pages each")
    print_table(["", *(r.backend for r in results)], rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=ARTICLES, help="pages to ingest")
    parser.add_argument("--window", type=int, default=WINDOW, help="pages per ingest run")
    parser.add_argument("--pages", type=int, default=PAGES, help="story pages to request")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--keep", action="store_true", help="save the stores as bench/load.py's cached stores"
    )
    args = parser.parse_args(argv)

    bases = growth.load_bases()
    stream = growth.build_stream(bases, args.articles, growth.SEED)
    features = growth.base_features(bases)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="newsloom-bench-") as tmp:
        if args.backend in ("sqlite", "both"):
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            cached = growth.CachedFeaturizer(features, growth.SEED)
            results.append(measure("SQLite", url, stream, cached, args))
        if args.backend in ("postgres", "both"):
            try:
                server = start_server()
            except ServerUnavailable as exc:
                raise SystemExit(f"no PostgreSQL server: {exc}") from exc
            try:
                url = server.url(server.create_database("bench"))
                cached = growth.CachedFeaturizer(features, growth.SEED)
                results.append(measure("PostgreSQL", url, stream, cached, args, server.bin_dir))
            finally:
                server.stop()
    report(results)
    growth.OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = growth.OUT_DIR / "postgres.json"
    info = {"load": os.getloadavg(), "results": [asdict(r) for r in results]}
    out.write_text(json.dumps(info, indent=2) + "\n")
    print(f"figures: {out.relative_to(REPO_ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
