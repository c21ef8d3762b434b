"""The web app under load while an ingest writes into the same store, on SQLite and PostgreSQL.

The store holds ``--articles`` articles (100,000 by default): the first pages
of ``bench/growth.py``'s synthetic stream (re-dated, perturbed copies of the
real articles in ``../shared/data``, cached model features), ingested through
the real pipeline (``analyse=False``, as in the growth and web benches).  Each
backend's store is built once and cached under ``bench/out/`` (a SQLite file,
a ``pg_dump`` archive for PostgreSQL); a run works on a fresh copy of it, so
the ingest's writes never leak into the next run.

For each backend:

- ``newsloom serve --store URL --port P`` runs as its own process on loopback.
  The serve command has no workers option: it is one uvicorn process, with
  its ``web_threads`` threads (8 by default; 40 before) running the sync handlers, each on
  its own store connection.
- A background ingest (this script in ``--ingest-worker`` mode: the real
  ``Pipeline.ingest_pages`` over the next pages of the same stream, in runs of
  100 pages, cached model features) writes into the same store during the
  warm-up and the whole measurement, as fast as it can.
- ``wrk`` drives 50 connections over a seeded mix of URLs: home pages
  (``/``, ``/?page=2``), story pages of real stories (``/story/{id}``) and
  searches for words from real story titles (``/search?q=...``).  All the
  load comes from one address, so the search rate limit (``search_burst``,
  ``search_per_minute``, ``newsloom.web.security.RateLimiter``) is raised for
  the bench server through ``NEWSLOOM_SEARCH_BURST`` and
  ``NEWSLOOM_SEARCH_PER_MINUTE`` (the limiter still runs on every search); a
  429 answer would still be counted on its own line, apart from errors.
- Right after wrk, a second client (``bench/web.py``'s ``RAW_LOAD``: asyncio
  on raw sockets in its own process, the same connections and URL mix, each
  request timed from its write to the last byte of its body) runs for
  ``--check-duration`` seconds (120) under the same ingest.  On PostgreSQL,
  wrk reported p99 latencies 10-50 times this client's at the same request
  rate, while the server's log of its own slow requests (``slow_request_ms``,
  set to 200 ms here, counted per kind for the measured window) agreed with
  this client; both are printed, and the goals are judged on each.

Printed per backend, side by side: requests/s, p50/p99 latency, answers by
status class, socket errors, "database is locked" (and PostgreSQL lock)
events found in the server's and the ingest's logs, and the ingest's
articles/s during the measurement, with the goal lines (0 errors, 0 lock
errors, p99 ≤ 200 ms under ingest).  Beside wrk, a probe requests one page
at a time (home, story, search in turn) to show which kind is slow under the
same load; on PostgreSQL the server logs lock waits and statements over 1 s,
and both are counted.  ``--no-ingest`` runs the same load on a quiet store,
for comparison.  Logs go to ``bench/out/load_*.log``, figures to
``bench/out/load.json``.

Usage: ``.venv/bin/python bench/load.py [--articles N] [--duration S]
[--warmup S] [--connections C] [--check-duration S]
[--backend sqlite|postgres|both] [--no-ingest] [--rebuild]``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import itertools
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import growth  # noqa: E402  (the stream, cached features and ingest windows)
import web  # noqa: E402  (server start/stop, wrk install, free ports)
from common import REPO_ROOT, print_table  # noqa: E402  (eval/common.py, on the path via growth)

# The throwaway-server helper of the PostgreSQL tests, imported where it lives.
sys.path.insert(0, str(REPO_ROOT / "tests"))
from postgres.server import PostgresServer, ServerUnavailable, start_server  # noqa: E402

OUT_DIR = growth.OUT_DIR
ARTICLES = 100_000
BUILD_WINDOW = 500  # pages per ingest run while building (as bench/web.py)
INGEST_WINDOW = 100  # pages per background ingest run: progress every second or so
SEED = 20240615
GOAL_P99_MS = 200.0
# Share of each page kind in the URL mix: readers mostly open stories.
MIX = {"home": 2, "story": 6, "search": 2}
URLS = 2_000
# The bench client is one address: the limiter stays on but never refuses it.
RATE_ENV = {"NEWSLOOM_SEARCH_BURST": "1000000000", "NEWSLOOM_SEARCH_PER_MINUTE": "1e12"}
# The server logs every request slower than the goal's p99, so the slow tail
# can be told apart: slow in the app (these lines) or queued before it.
SLOW_MS = 200
SERVER_ENV = RATE_ENV | {"NEWSLOOM_SLOW_REQUEST_MS": str(SLOW_MS)}
_SLOW_LINE = re.compile(r"slow request: GET (\S+) answered (\d+) in (\d+) ms")
# The background ingest reads streams of its own (other seeds), dated after
# the store's, each at least this long: as many copies per base article as in
# a 100k store, and more pages than it ingests in five minutes.
INGEST_STREAM = 100_000

# The last exception line of a traceback chain (or a worker's one-line report)
# that says a lock was not obtained.  A cause that the next line says was
# re-raised as another exception is skipped, so one event counts once.
_LOCK = re.compile(
    r"database is locked|database table is locked|stayed locked|deadlock detected|"
    r"lock timeout|could not obtain lock",
    re.IGNORECASE,
)
_EXCEPTION_LINE = re.compile(r"^[\w.]+(?:Error|Exception|Busy|Locked)\b.*?:")
_CHAINED = ("The above exception was the direct cause", "During handling of the above")


def lock_events(text: str) -> int:
    """Lock failures in a log: Python tracebacks (counted once per chain), the web
    app's warning for view counts it could not write yet, PostgreSQL ERROR lines."""
    lines = text.splitlines()
    count = 0
    for index, line in enumerate(lines):
        if not _LOCK.search(line):
            continue
        if line.startswith("ERROR:") or " ERROR: " in line:  # PostgreSQL's own log
            count += 1
            continue
        if line.startswith("page views not written yet"):  # newsloom.web.app.ViewCounter
            count += 1
            continue
        if not _EXCEPTION_LINE.match(line):
            continue
        following = "\n".join(lines[index + 1 : index + 3])
        if not any(marker in following for marker in _CHAINED):
            count += 1
    return count


# -- the stream and the stores -------------------------------------------------------------


@dataclass(slots=True)
class Source:
    """The growth stream and the featurizer over its cached model features."""

    stream: growth.Stream
    cached: growth.CachedFeaturizer


def source(articles: int) -> Source:
    """The growth stream of ``articles`` pages (the same pages as bench/web.py's store)."""
    bases = growth.load_bases()
    features = growth.base_features(bases)
    stream = growth.build_stream(bases, articles, growth.SEED)
    return Source(stream, growth.CachedFeaturizer(features, growth.SEED))


def later_streams(src: Source, articles: int) -> Iterator[growth.Stream]:
    """Streams that carry on after the store's: new seeds, dates after the last one.

    Copies of the same base articles come again (a verbatim one is an exact
    duplicate of a stored article, as wire copy is), on later days and under
    other outlets, so they start and join new stories.
    """
    offset = src.stream.span_days
    for round_ in itertools.count(1):
        size = max(articles, INGEST_STREAM)
        stream = growth.build_stream(src.stream.bases, size, growth.SEED + round_)
        stream.published = stream.published + offset
        offset += stream.span_days
        yield stream


def ingest_range(
    url: str, src: Source, start: int, stop: int, window: int, label: str
) -> tuple[int, int]:
    """Ingest stream positions ``[start, stop)`` into ``url``, ``window`` pages per run.

    Returns the articles stored and the live stories at the end.
    """
    from newsloom.settings import Settings
    from newsloom.store import open_store

    store = open_store(url)
    pipeline = growth.TimedPipeline(store, Settings(), src.cached.featurizer())
    stored = 0
    began = time.perf_counter()
    try:
        for position in range(start, stop, window):
            report, *_ = growth.ingest_window(
                pipeline, src.stream.pages(position, min(stop, position + window)), None
            )
            stored += report.new
            done = min(stop, position + window) - start
            if done % (window * 20) == 0 or done == stop - start:
                elapsed = time.perf_counter() - began
                print(
                    f"{label}: {done:>8,}/{stop - start:,} pages, stored {stored:,}, "
                    f"{elapsed / 60:5.1f} min, "
                    f"eta {elapsed / done * (stop - start - done) / 60:5.1f} min",
                    file=sys.stderr,
                )
        stories = store.count_stories()
    finally:
        pipeline.close()
        store.close()
    return stored, stories


def sqlite_cache(articles: int) -> Path:
    return OUT_DIR / f"load_{articles}.db"


def postgres_cache(articles: int) -> Path:
    return OUT_DIR / f"load_{articles}.pgdump"


def write_info(path: Path, info: dict[str, Any]) -> None:
    path.with_suffix(".json").write_text(json.dumps(info, indent=1))


def read_info(path: Path) -> dict[str, Any] | None:
    """A cached store's description, if the store is complete."""
    meta = path.with_suffix(".json")
    if path.is_file() and meta.is_file():
        info = dict(json.loads(meta.read_text()))
        return info
    return None


def build_sqlite(articles: int, src: Source, rebuild: bool) -> dict[str, Any]:
    """The cached SQLite store of ``articles`` pages, built by ``growth.feed`` when missing."""
    path = sqlite_cache(articles)
    info = None if rebuild else read_info(path)
    if info is not None:
        return info | {"reused": True}
    print(f"sqlite: building {articles:,} articles at {path} ...", file=sys.stderr)
    began = time.perf_counter()
    partial = path.with_name(path.name + ".partial")
    for stale in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        stale.unlink(missing_ok=True)
    ingested = growth.feed(
        partial, src.stream, src.cached.featurizer(), stop=articles, window=BUILD_WINDOW, marks=()
    )
    web.checkpoint(partial)  # one self-contained file, copied per run
    path.unlink(missing_ok=True)
    partial.rename(path)
    info = {
        "articles": ingested.stored,
        "stories": ingested.stories,
        "build_seconds": round(time.perf_counter() - began, 1),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_info(path, info)
    return info | {"reused": False}


def build_postgres(
    articles: int, src: Source, server: PostgresServer, rebuild: bool
) -> dict[str, Any]:
    """The cached PostgreSQL store (a ``pg_dump`` archive), built by the pipeline when missing."""
    path = postgres_cache(articles)
    info = None if rebuild else read_info(path)
    if info is not None:
        return info | {"reused": True}
    print(f"postgres: building {articles:,} articles, dumped to {path} ...", file=sys.stderr)
    began = time.perf_counter()
    name = server.create_database(f"build_{articles}")
    try:
        stored, stories = ingest_range(
            server.url(name), src, 0, articles, BUILD_WINDOW, "postgres build"
        )
        dump_postgres(server.bin_dir, server.url(name), path)
    finally:
        server.drop_database(name)
    info = {
        "articles": stored,
        "stories": stories,
        "build_seconds": round(time.perf_counter() - began, 1),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_info(path, info)
    return info | {"reused": False}


def dump_postgres(bin_dir: Path, url: str, path: Path) -> None:
    """``pg_dump`` the database at ``url`` into ``path``, renamed there only when complete."""
    partial = path.with_name(path.name + ".partial")
    dump = subprocess.run(
        [str(bin_dir / "pg_dump"), "-Fc", "-Z", "1", "-f", str(partial), url],
        capture_output=True,
        text=True,
        check=False,
    )
    if dump.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {dump.stderr.strip()}")
    partial.rename(path)


def restore_postgres(server: PostgresServer, articles: int) -> str:
    """A fresh database from the cached archive; its URL."""
    name = server.create_database("load_run")
    done = subprocess.run(
        [
            str(server.bin_dir / "pg_restore"), "--no-owner", "-j", "2", "-d", server.url(name),
            str(postgres_cache(articles)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"pg_restore failed: {done.stderr.strip()[-2000:]}")
    # Fresh planner statistics, as a long-running database would have.
    import psycopg

    with psycopg.connect(server.url(name), autocommit=True) as conn:
        conn.execute("ANALYZE")
    return server.url(name)


# -- the URL mix -----------------------------------------------------------------------------

_WORD = re.compile(r"[a-z]{5,}")


def url_mix(url: str, count: int = URLS) -> tuple[list[str], dict[str, int]]:
    """A seeded list of home, story and search addresses over real stories and title words."""
    from urllib.parse import quote

    from newsloom.store import open_store

    store = open_store(url)
    try:
        stories = []
        for offset in range(0, 1_000, 100):
            stories += store.iter_stories(limit=100, offset=offset)
    finally:
        store.close()
    if not stories:
        raise RuntimeError(f"{url}: the store has no stories to request")
    words = collections.Counter(w for s in stories for w in set(_WORD.findall(s.title.lower())))
    terms = [w for w, _ in words.most_common(200)]
    # Two-word searches too: FTS with AND does more work than one term.
    rng = random.Random(SEED)
    terms += [f"{a} {b}" for a, b in (rng.sample(terms, 2) for _ in range(100))]
    kinds = [k for k, weight in MIX.items() for _ in range(weight)]
    paths, counts = [], collections.Counter[str]()
    for _ in range(count):
        kind = rng.choice(kinds)
        counts[kind] += 1
        if kind == "home":
            paths.append(rng.choice(["/", "/", "/", "/?page=2"]))
        elif kind == "story":
            paths.append(f"/story/{rng.choice(stories).id}")
        else:
            paths.append(f"/search?q={quote(rng.choice(terms))}")
    return paths, dict(counts)


# -- wrk -------------------------------------------------------------------------------------

# Rotates over the URL list (file named by the first script argument), counts
# answers by status in each thread, and prints the merged summary as one JSON line.
WRK_LUA = r"""
local paths = {}
local i = 0
local threads = {}
statuses = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  i = math.random(#paths)
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end
function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("statuses")) do merged[k] = (merged[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(merged) do parts[#parts + 1] = string.format('"%s": %d', k, v) end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d,' ..
    ' "p99_us": %d, "max_us": %d, "connect": %d, "read": %d, "write": %d,' ..
    ' "status_errors": %d, "timeout": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout, table.concat(parts, ", ")))
end
"""


# -- per-page latency -----------------------------------------------------------------------


class Probe:
    """One request at a time, home, story and search in turn, beside wrk's load.

    wrk gives one latency distribution for the whole mix; this says which
    kind of page is slow under the same load (a 51st client at a few
    requests per second, so it hardly adds to the load).
    """

    def __init__(self, base: str, paths: Sequence[str], pause: float = 0.2) -> None:
        self.base = base
        self.by_kind: dict[str, list[str]] = collections.defaultdict(list)
        for path in paths:
            self.by_kind[page_kind(path)].append(path)
        self.pause = pause
        self.latencies: dict[str, list[float]] = collections.defaultdict(list)
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="probe", daemon=True)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        import httpx

        kinds = sorted(self.by_kind)
        turn = 0
        with httpx.Client(base_url=self.base, timeout=30.0) as client:
            while not self._stop.is_set():
                kind = kinds[turn % len(kinds)]
                paths = self.by_kind[kind]
                path = paths[(turn // len(kinds)) % len(paths)]
                turn += 1
                began = time.perf_counter()
                try:
                    ok = client.get(path).status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    self.latencies[kind].append((time.perf_counter() - began) * 1000)
                else:
                    self.failed += 1
                self._stop.wait(self.pause)

    def summary(self) -> dict[str, dict[str, float]]:
        out = {}
        for kind, values in sorted(self.latencies.items()):
            ordered = sorted(values)
            out[kind] = {
                "n": len(ordered),
                "p50_ms": ordered[len(ordered) // 2],
                "p90_ms": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
                "max_ms": ordered[-1],
            }
        return out


def page_kind(path: str) -> str:
    if path.startswith("/story/"):
        return "story"
    if path.startswith("/search"):
        return "search"
    return "home"


# -- the background ingest -------------------------------------------------------------------


def ingest_worker(url: str, articles: int) -> None:
    """``--ingest-worker``: ingest the streams after the store's until SIGTERM, a line per run.

    Each line, ``PROGRESS {"t": wall time, "stored": articles so far}``, lets
    the parent compute articles/s over exactly its measurement.  A run that
    fails with a store error (a lock not obtained, say) is reported on one
    line and the next run goes on, as a periodic crawl would.
    """
    from newsloom.errors import NewsloomError
    from newsloom.settings import Settings
    from newsloom.store import open_store

    src = source(articles)
    store = open_store(url)
    pipeline = growth.TimedPipeline(store, Settings(), src.cached.featurizer())
    stopping = False

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    stored = 0
    print(f"PROGRESS {json.dumps({'t': time.time(), 'stored': 0})}", flush=True)
    try:
        for stream in later_streams(src, articles):
            for position in range(0, len(stream), INGEST_WINDOW):
                if stopping:
                    return
                pages = stream.pages(position, position + INGEST_WINDOW)
                try:
                    report, *_ = growth.ingest_window(pipeline, pages, None)
                except NewsloomError as exc:
                    print(f"{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                    continue
                stored += report.new
                print(f"PROGRESS {json.dumps({'t': time.time(), 'stored': stored})}", flush=True)
    finally:
        pipeline.close()
        store.close()


def ingest_rate(log: Path, start: float, end: float) -> tuple[float, int]:
    """Articles/s (and articles) between the first and the last progress line in [start, end]."""
    points = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("PROGRESS "):
            data = json.loads(line.removeprefix("PROGRESS "))
            points.append((float(data["t"]), int(data["stored"])))
    inside = [p for p in points if start <= p[0] <= end]
    if len(inside) < 2:
        return 0.0, 0
    (t0, n0), (t1, n1) = inside[0], inside[-1]
    return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0, n1 - n0


@contextlib.contextmanager
def background_ingest(url: str, articles: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    argv = [
        sys.executable, str(Path(__file__).resolve()), "--ingest-worker", url,
        "--articles", str(articles),
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        try:
            # Running once its first run has stored something (stream and features loaded).
            deadline = time.monotonic() + 300
            while log.read_text(errors="replace").count("PROGRESS ") < 2:
                if process.poll() is not None:
                    raise RuntimeError(f"the ingest exited with {process.returncode}: see {log}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the ingest stored nothing within 300 s: see {log}")
                time.sleep(0.5)
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


# -- one backend -----------------------------------------------------------------------------


@dataclass(slots=True)
class Result:
    backend: str
    store: str
    articles: int
    stories: int
    ingesting: bool = True
    requests: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    socket_errors: int = 0
    socket_detail: dict[str, int] = field(default_factory=dict)
    server_locks: int = 0
    ingest_locks: int = 0
    ingest_failed_runs: int = 0
    ingest_rate: float = 0.0
    ingested: int = 0
    ingest_alive: bool = True
    server_errors_logged: int = 0
    load_before: float = 0.0
    load_after: float = 0.0
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    probe_failed: int = 0
    # PostgreSQL only, from its log: lock waits over deadlock_timeout (1 s)
    # and statements over 1 s.
    pg_lock_waits: int | None = None
    pg_slow_statements: int | None = None
    # Requests the server itself took over SLOW_MS on, by kind, in the measured window.
    server_slow: dict[str, int] = field(default_factory=dict)
    server_slow_max_ms: float = 0.0
    # The second client (web.RAW_LOAD) right after wrk, same load and ingest.
    check: dict[str, Any] | None = None
    # TCP loss counters over wrk's measured window and over the second client's.
    tcp_wrk: dict[str, int] = field(default_factory=dict)
    tcp_check: dict[str, int] = field(default_factory=dict)

    def count(self, low: int, high: int) -> int:
        return sum(n for code, n in self.statuses.items() if low <= int(code) < high)

    @property
    def errors(self) -> int:
        """Socket errors and every non-2xx answer except 429 (counted apart)."""
        refused = self.statuses.get("429", 0)
        return self.socket_errors + self.requests - self.count(200, 300) - refused

    @property
    def locks(self) -> int:
        return self.server_locks + self.ingest_locks


def measure(
    backend: str,
    url: str,
    info: dict[str, Any],
    articles: int,
    args: argparse.Namespace,
    extra_log: Path | None = None,
) -> Result:
    result = Result(backend, url, info["articles"], info["stories"], ingesting=args.ingest)
    paths, counts = url_mix(url)
    print(f"{backend}: URL mix {counts}", file=sys.stderr)
    port = web.free_port()
    base = f"http://127.0.0.1:{port}"
    serve_log = OUT_DIR / f"load_{backend}_serve.log"
    ingest_log = OUT_DIR / f"load_{backend}_ingest.log"
    argv = [str(web.BIN / "newsloom"), "serve", "--store", url, "--port", str(port)]
    env = os.environ | SERVER_ENV
    with server_process(argv, base + "/stories.json", serve_log, env):
        sample = paths[:: max(1, len(paths) // 40)]
        web.check_pages(base, sample, backend)
        ingesting = (
            background_ingest(url, articles, ingest_log)
            if args.ingest
            else contextlib.nullcontext(None)
        )
        with (
            ingesting as ingest,
            tempfile.TemporaryDirectory(prefix="newsloom-load-") as folder,
        ):
            workdir = Path(folder)
            if args.warmup > 0:
                web.run_wrk(base, paths, args.warmup, args.connections, workdir, WRK_LUA)
            result.load_before = os.getloadavg()[0]
            began = time.time()
            log_from = serve_log.stat().st_size
            tcp = tcp_counters()
            with Probe(base, paths) as probe:
                raw = web.run_wrk(base, paths, args.duration, args.connections, workdir, WRK_LUA)
            ended = time.time()
            log_to = serve_log.stat().st_size
            result.tcp_wrk = counter_change(tcp, tcp := tcp_counters())
            if args.check_duration > 0:
                result.check = web.run_raw(
                    base, paths, args.check_duration, args.connections, workdir
                )
                result.tcp_check = counter_change(tcp, tcp_counters())
            result.load_after = os.getloadavg()[0]
            result.ingest_alive = ingest is not None and ingest.poll() is None
        result.by_kind = probe.summary()
        result.probe_failed = probe.failed
        if args.ingest:
            result.ingest_rate, result.ingested = ingest_rate(ingest_log, began, ended)
        else:
            ingest_log.write_text("no ingest in this run (--no-ingest)\n")
    result.requests = int(raw["requests"])
    result.seconds = raw["duration_us"] / 1e6
    result.rps = result.requests / result.seconds if result.seconds else 0.0
    for key in ("p50", "p90", "p99", "max"):
        setattr(result, f"{key}_ms", raw[f"{key}_us"] / 1000)
    result.statuses = {str(k): int(v) for k, v in raw["statuses"].items()}
    result.socket_detail = {k: int(raw[k]) for k in ("connect", "read", "write", "timeout")}
    result.socket_errors = sum(result.socket_detail.values())
    serve_text = serve_log.read_text(errors="replace")
    with serve_log.open("rb") as fh:
        fh.seek(log_from)
        measured_log = fh.read(log_to - log_from).decode("utf-8", "replace")
    result.server_slow, result.server_slow_max_ms = slow_requests(measured_log)
    ingest_text = ingest_log.read_text(errors="replace")
    result.server_locks = lock_events(serve_text)
    if extra_log is not None and extra_log.is_file():
        result.server_locks += lock_events(extra_log.read_text(errors="replace"))
    result.ingest_locks = lock_events(ingest_text)
    result.ingest_failed_runs = sum(
        1 for line in ingest_text.splitlines() if _EXCEPTION_LINE.match(line)
    )
    result.server_errors_logged = serve_text.count("error serving ")
    return result


# Loss on loopback shows as retransmissions: a segment dropped when a queue
# overflows is sent again after the retransmission timeout (200 ms at least,
# doubling), which is a latency tail that no server-side log can see.
TCP_COUNTERS = {
    "Tcp.RetransSegs": "retransmitted segments",
    "TcpExt.TCPTimeouts": "retransmission timeouts",
    "TcpExt.ListenOverflows": "accept queue overflows",
    "TcpExt.TCPBacklogDrop": "socket backlog drops",
}


def tcp_counters() -> dict[str, int]:
    """This network namespace's TCP loss counters (``/proc/net``), plus packets
    the kernel's per-CPU input queues dropped; empty where ``/proc`` lacks them."""
    values: dict[str, int] = {}
    for name in ("snmp", "netstat"):
        try:
            lines = Path("/proc/net", name).read_text().splitlines()
        except OSError:
            continue
        for head, row in zip(lines[::2], lines[1::2], strict=False):
            keys, numbers = head.split(), row.split()
            prefix = keys[0].rstrip(":")
            for key, number in zip(keys[1:], numbers[1:], strict=False):
                if f"{prefix}.{key}" in TCP_COUNTERS:
                    values[f"{prefix}.{key}"] = int(number)
    try:
        softnet = Path("/proc/net/softnet_stat").read_text().splitlines()
        values["softnet.dropped"] = sum(int(line.split()[1], 16) for line in softnet)
    except (OSError, IndexError, ValueError):
        pass
    return values


def counter_change(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {key: after[key] - before[key] for key in after if key in before}


def slow_requests(text: str) -> tuple[dict[str, int], float]:
    """Requests the server logged as slower than SLOW_MS, by page kind, and the slowest."""
    counts: collections.Counter[str] = collections.Counter()
    slowest = 0.0
    for match in _SLOW_LINE.finditer(text):
        counts[page_kind(match.group(1))] += 1
        slowest = max(slowest, float(match.group(3)))
    return dict(counts), slowest


@contextlib.contextmanager
def server_process(
    argv: list[str], ready_url: str, log: Path, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """``newsloom serve`` until the block ends (``web.server`` without the environment)."""
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            web.wait_ready(ready_url, process, timeout=180.0)
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def run_sqlite(args: argparse.Namespace, src: Source) -> Result:
    info = build_sqlite(args.articles, src, args.rebuild)
    work = OUT_DIR / "load_run.db"
    for stale in (work, Path(f"{work}-wal"), Path(f"{work}-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(sqlite_cache(args.articles), work)
    try:
        return measure("sqlite", f"sqlite:///{work}", info, args.articles, args)
    finally:
        for stale in (work, Path(f"{work}-wal"), Path(f"{work}-shm")):
            stale.unlink(missing_ok=True)


def log_waits(server: PostgresServer) -> None:
    """Have the server log lock waits over 1 s and statements over 1 s (diagnostics only)."""
    import psycopg

    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET log_lock_waits = on")
        conn.execute("ALTER SYSTEM SET log_min_duration_statement = 1000")
        conn.execute("SELECT pg_reload_conf()")


def run_postgres(args: argparse.Namespace, src: Source) -> Result:
    server = start_server()
    try:
        info = build_postgres(args.articles, src, server, args.rebuild)
        url = restore_postgres(server, args.articles)
        log_waits(server)
        result = measure(
            "postgres", url, info, args.articles, args, extra_log=server.root / "server.log"
        )
        text = (server.root / "server.log").read_text(errors="replace")
        result.pg_lock_waits = text.count("still waiting for")
        result.pg_slow_statements = len(re.findall(r"LOG:  duration: ", text))
        return result
    finally:
        log = server.root / "server.log"
        if log.is_file():
            shutil.copyfile(log, OUT_DIR / "load_postgres_server.log")
        server.stop()


# -- report ----------------------------------------------------------------------------------


def check_errors(raw: dict[str, Any]) -> int:
    """The second client's errors: answers other than 2xx and 429, and socket errors."""
    bad = sum(n for code, n in raw["statuses"].items() if not (200 <= int(code) < 300))
    refused = raw["statuses"].get("429", 0)
    return bad - refused + sum(int(raw[k]) for k in ("connect", "read", "write", "timeout"))


def _tcp_cell(change: dict[str, int]) -> str:
    keys = [*TCP_COUNTERS, "softnet.dropped"]
    return ", ".join(str(change[k]) if k in change else "?" for k in keys) if change else "-"


def report(results: list[Result], args: argparse.Namespace) -> None:
    headers = ["", *(r.backend for r in results)]

    def row(label: str, fmt: Any) -> list[str]:
        return [label, *(fmt(r) for r in results)]

    rows = [
        row("store", lambda r: f"{r.articles:,} articles, {r.stories:,} stories"),
        row("requests/s", lambda r: f"{r.rps:.1f}"),
        row("requests", lambda r: f"{r.requests:,} in {r.seconds:.0f} s"),
        row("p50 ms", lambda r: f"{r.p50_ms:.1f}"),
        row("p90 ms", lambda r: f"{r.p90_ms:.1f}"),
        row("p99 ms", lambda r: f"{r.p99_ms:.1f}"),
        row("max ms", lambda r: f"{r.max_ms:.0f}"),
        row("2xx", lambda r: f"{r.count(200, 300):,}"),
        row("429 (rate limit, not errors)", lambda r: str(r.statuses.get("429", 0))),
        row("4xx other", lambda r: str(r.count(400, 500) - r.statuses.get("429", 0))),
        row("5xx", lambda r: str(r.count(500, 600))),
        row(
            "socket errors (wrk: connect, read, write, timeout > 10 s)",
            lambda r: (
                f"{r.socket_errors}"
                + "".join(f", {k} {n}" for k, n in r.socket_detail.items() if n)
            ),
        ),
        row("server errors logged (500s, warm-up included)", lambda r: str(r.server_errors_logged)),
        row("lock events: server", lambda r: str(r.server_locks)),
        row("lock events: ingest", lambda r: str(r.ingest_locks)),
        row("ingest runs failed", lambda r: str(r.ingest_failed_runs) if r.ingesting else "-"),
        row(
            "ingest articles/s meanwhile",
            lambda r: (
                f"{r.ingest_rate:.1f} ({r.ingested:,} stored)" if r.ingesting else "no ingest"
            ),
        ),
        row(
            "ingest running at the end",
            lambda r: ("yes" if r.ingest_alive else "NO") if r.ingesting else "-",
        ),
        *(
            row(
                f"{kind} pages, one at a time beside the load: p50 / p90 / max ms",
                lambda r, kind=kind: (
                    "{p50_ms:.0f} / {p90_ms:.0f} / {max_ms:.0f} (n={n})".format(**r.by_kind[kind])
                    if kind in r.by_kind
                    else "-"
                ),
            )
            for kind in ("home", "story", "search")
        ),
        row(
            "second client (Python, after wrk): requests/s, p50 / p90 / p99 / max ms",
            lambda r: (
                "-"
                if r.check is None
                else "{:.1f}, {:.1f} / {:.1f} / {:.1f} / {:.0f}".format(
                    r.check["requests"] / (r.check["duration_us"] / 1e6),
                    *(r.check[f"{k}_us"] / 1000 for k in ("p50", "p90", "p99", "max")),
                )
            ),
        ),
        row(
            "second client: errors (non-2xx, connect, read, timeout)",
            lambda r: "-" if r.check is None else str(check_errors(r.check)),
        ),
        row(
            f"TCP during wrk / the second client: {', '.join(TCP_COUNTERS.values())}, "
            "input-queue drops",
            lambda r: f"{_tcp_cell(r.tcp_wrk)} / {_tcp_cell(r.tcp_check)}",
        ),
        row(
            f"requests the server took over {SLOW_MS} ms on: home / story / search (max ms)",
            lambda r: (
                " / ".join(str(r.server_slow.get(k, 0)) for k in ("home", "story", "search"))
                + f" ({r.server_slow_max_ms:.0f})"
            ),
        ),
        row(
            "PostgreSQL log: lock waits > 1 s, statements > 1 s",
            lambda r: (
                "-" if r.pg_lock_waits is None else f"{r.pg_lock_waits}, {r.pg_slow_statements}"
            ),
        ),
        row("load average before → after", lambda r: f"{r.load_before:.2f} → {r.load_after:.2f}"),
    ]
    print_table(headers, rows)
    for r in results:
        goals = [
            ("0 errors", r.errors == 0, f"{r.errors}"),
            ("0 lock errors", r.locks == 0, f"{r.locks}"),
            (
                f"p99 ≤ {GOAL_P99_MS:.0f} ms" + (" under ingest" if args.ingest else ""),
                r.p99_ms <= GOAL_P99_MS,
                f"{r.p99_ms:.1f} ms",
            ),
        ]
        if r.check is not None:
            p99 = r.check["p99_us"] / 1000
            goals += [
                (
                    "0 errors (second client)",
                    check_errors(r.check) == 0,
                    str(check_errors(r.check)),
                ),
                (
                    f"p99 ≤ {GOAL_P99_MS:.0f} ms (second client)",
                    p99 <= GOAL_P99_MS,
                    f"{p99:.1f} ms",
                ),
            ]
        if args.ingest:
            goals.append(
                (
                    "ingest kept running",
                    r.ingest_alive and r.ingested > 0,
                    f"{r.ingested:,} articles",
                )
            )
        for name, met, value in goals:
            print(f"{r.backend}: goal {name}: {value}: {'met' if met else 'NOT MET'}")
    print()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--articles", type=int, default=ARTICLES, help="articles in the store")
    parser.add_argument("--duration", type=float, default=300.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=10.0, help="unmeasured seconds first")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument(
        "--check-duration",
        type=float,
        default=120.0,
        help="seconds of the second client (Python, raw sockets) after wrk; 0: none",
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rebuild", action="store_true", help="build the cached stores again")
    parser.add_argument(
        "--ingest",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the background ingest (--no-ingest: the same load on a quiet store)",
    )
    parser.add_argument("--ingest-worker", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ingest_worker:
        ingest_worker(args.ingest_worker, args.articles)
        return

    if not web.have_wrk():
        sys.exit("bench/load.py needs wrk: apt-get install -y wrk")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    began = datetime.now(UTC)
    src = source(args.articles)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results: list[Result] = []
    for backend in backends:
        try:
            results.append((run_sqlite if backend == "sqlite" else run_postgres)(args, src))
        except ServerUnavailable as exc:
            print(f"postgres: skipped, no server: {exc}", file=sys.stderr)
    print(
        f"Load: wrk, {args.connections} connections, {args.warmup:.0f} s warm-up then "
        f"{args.duration:.0f} s per backend over {URLS:,} seeded URLs (home {MIX['home']}, "
        f"story {MIX['story']}, search {MIX['search']} in 10), "
        f"{'while an ingest writes' if args.ingest else 'no ingest (--no-ingest)'}; "
        f"newsloom serve as one uvicorn process; search rate limit raised for the bench "
        f"client; commit {web.commit()}, {began:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs "
        f"shared with other jobs."
    )
    print()
    if results:
        report(results, args)
    (OUT_DIR / "load.json").write_text(
        json.dumps(
            {
                "started": began.isoformat(),
                "commit": web.commit(),
                "args": {k: v for k, v in vars(args).items() if k not in ("ingest_worker",)},
                "results": [asdict(r) | {"errors": r.errors, "locks": r.locks} for r in results],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
