"""Story page throughput and latency: ``newsloom serve`` beside datasette on one SQLite file.

The store holds about 100k articles: the synthetic stream of ``bench/growth.py``
(re-dated, perturbed copies of the real articles in ``../shared/data``, with
cached model features) ingested through the real pipeline, built once and
cached as ``bench/out/web_100k.db``.  Ingest runs with ``analyse=False`` (as in
the growth benchmark), so a seeded sample of stories is then analysed for real
(provenance, cross-checks, cited summary, saved: ``newsloom.analyse.analyse_stored``),
and those are the stories whose pages are
requested: each page does its full work.

Both servers run as a user would run them, one at a time on a free loopback
port, against the same file:

- ``newsloom serve --store sqlite:///… --port P`` (uvicorn, one process: the
  default the README documents), ``GET /story/{id}``: the HTML story page
  (story, cited summary, key points, timeline, sources with provenance,
  conflicts, views).
- ``datasette -i FILE -m metadata.json --port P`` (read-only, immutable), a
  canned query ``story_page`` returning the story row joined with its member
  articles (the columns a story page's source list shows), rendered as
  datasette's HTML page: ``GET /web_100k/story_page?id={id}``.

Each side gets a warm-up, then ``wrk`` drives it with 50 connections over the
fixed list of story ids (a Lua script rotates the URLs) for a fixed duration.
wrk comes from Debian's packages; it is installed with apt-get when missing
and running as root, else an asyncio load generator on raw sockets in a
separate process (``RAW_LOAD``) stands in.

Usage: ``.venv/bin/python bench/web.py [--duration S] [--warmup S]
[--connections N] [--stories N] [--store PATH] [--rebuild] [--json]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import growth  # noqa: E402  (bench/growth.py: the stream, features and ingest loop)
from common import REPO_ROOT, print_table  # noqa: E402  (eval/common.py, put on the path by growth)

OUT_DIR = growth.OUT_DIR
DEFAULT_STORE = OUT_DIR / "web_100k.db"
ARTICLES = 100_000
WINDOW = 500
SEED = 20240607
BIN = Path(sys.executable).parent
GOAL_P99_MS = 100.0


# -- the store --------------------------------------------------------------------------


def sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def file_mb(path: Path) -> float:
    files = [path, path.with_name(path.name + "-wal")]
    return sum(f.stat().st_size for f in files if f.exists()) / 2**20


def checkpoint(path: Path) -> None:
    """Fold the WAL into the main file: datasette's immutable mode reads only that file."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def build_store(path: Path) -> dict[str, Any]:
    """Ingest the first ``ARTICLES`` pages of the growth stream into a new store at ``path``.

    Built under a temporary name and renamed when complete, so an interrupted
    build is never mistaken for a cached store.
    """
    began = time.perf_counter()
    bases = growth.load_bases()
    features = growth.base_features(bases)
    stream = growth.build_stream(bases, ARTICLES, growth.SEED)
    cached = growth.CachedFeaturizer(features, growth.SEED)
    partial = path.with_name(path.name + ".partial")
    for stale in (partial, partial.with_name(partial.name + "-wal")):
        stale.unlink(missing_ok=True)
    ingested = growth.feed(
        partial, stream, cached.featurizer(), stop=ARTICLES, window=WINDOW, marks=()
    )
    checkpoint(partial)
    partial.rename(path)
    return {
        "how": (
            f"bench/growth.py stream (seed {growth.SEED}): {ARTICLES:,} pages from "
            f"{len(bases):,} base articles, ingested with Pipeline(analyse=False) in "
            f"runs of {WINDOW}, cached model features"
        ),
        "articles": ingested.stored,
        "stories": ingested.stories,
        "build_seconds": round(time.perf_counter() - began, 1),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "analysed": [],
    }


def analyse_sample(path: Path, info: dict[str, Any], count: int) -> list[str]:
    """Analyse a seeded sample of ``count`` stories (two or more articles) for real.

    The stories already analysed in an earlier run are kept; only the missing
    ones are added, each in its own transaction as ``analyse_pending`` does.
    """
    from newsloom.analyse import analyse_stored
    from newsloom.store import open_store

    done: list[str] = list(info.get("analysed", []))
    if len(done) >= count:
        return done[:count]
    conn = sqlite3.connect(path)
    try:
        candidates = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM stories WHERE merged_into IS NULL AND size >= 2 ORDER BY id"
            )
        ]
    finally:
        conn.close()
    wanted = random.Random(SEED).sample(candidates, min(count, len(candidates)))
    store = open_store(f"sqlite:///{path}")
    began = time.perf_counter()
    try:
        for number, story_id in enumerate(wanted, 1):
            if story_id in done:
                continue
            if analyse_stored(store, story_id) is None:
                continue
            done.append(story_id)
            if number % 10 == 0:
                elapsed = time.perf_counter() - began
                print(f"analysed {number}/{len(wanted)} stories, {elapsed:.0f} s", file=sys.stderr)
                # Save progress: an interrupted run resumes where it stopped.
                info["analysed"] = done
                sidecar(path).write_text(json.dumps(info, indent=1))
    finally:
        store.close()
    info["analysed"] = done
    info["analysis_seconds"] = round(
        info.get("analysis_seconds", 0.0) + time.perf_counter() - began, 1
    )
    sidecar(path).write_text(json.dumps(info, indent=1))
    checkpoint(path)
    return done[:count]


def prepare_store(path: Path, stories: int, rebuild: bool) -> tuple[dict[str, Any], list[str]]:
    meta = sidecar(path)
    if rebuild or not path.is_file() or not meta.is_file():
        print(f"building a {ARTICLES:,}-article store at {path} ...", file=sys.stderr)
        path.unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        info = build_store(path)
        meta.write_text(json.dumps(info, indent=1))
        info["reused"] = False
    else:
        info = json.loads(meta.read_text())
        info["reused"] = True
    ids = analyse_sample(path, info, stories)
    return info, ids


def story_sizes(path: Path, ids: Sequence[str]) -> list[int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [
            conn.execute("SELECT size FROM stories WHERE id = ?", (i,)).fetchone()[0] for i in ids
        ]
    finally:
        conn.close()


# -- servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=5.0).status_code < 500:
                return
        time.sleep(0.25)
    raise RuntimeError(f"no answer from {url} within {timeout:.0f} s")


@contextlib.contextmanager
def server(
    name: str, argv: list[str], ready_url: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` until the block ends; SIGINT stops it cleanly, a kill if it is stuck."""
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_ready(ready_url, process, timeout=180.0)
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    print(f"{name}: stopped (log {log.relative_to(REPO_ROOT)})", file=sys.stderr)


def datasette_metadata(db_name: str) -> dict[str, Any]:
    """A canned query: the story row and its member articles, as the source list shows them.

    One query (the story's columns repeated on each member row) is the fairest
    single datasette page for "a story and its articles": a table page with
    ``_where`` would show one table only.  The article columns are those of a
    newsloom source card (title, outlet, URL, published, words).
    """
    sql = (
        "SELECT s.id AS story_id, s.title AS story_title, s.first_seen, s.updated, s.size,"
        " a.id AS article_id, a.title, a.site_name, a.url, a.published, a.word_count"
        " FROM stories AS s"
        " JOIN story_members AS m ON m.story_id = s.id"
        " JOIN articles AS a ON a.id = m.article_id"
        " WHERE s.id = :id ORDER BY m.seq"
    )
    return {"databases": {db_name: {"queries": {"story_page": {"sql": sql}}}}}


# -- load -------------------------------------------------------------------------------

# Rotates over the URL list (one per line, file named by the first script
# argument) and prints the summary as one JSON line for the parent to read.
WRK_LUA = r"""
local paths = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  i = math.random(#paths)
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d,' ..
    ' "p99_us": %d, "max_us": %d, "mean_us": %f, "connect": %d, "read": %d, "write": %d,' ..
    ' "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass(slots=True)
class LoadResult:
    name: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # socket errors, timeouts and non-2xx/3xx answers
    kb_per_response: float
    load_before: float
    load_after: float
    tool: str


def have_wrk() -> bool:
    """wrk on the PATH, installed from Debian's packages first when missing and root."""
    if shutil.which("wrk"):
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk with apt-get ...", file=sys.stderr)
        install = ["apt-get", "install", "-y", "wrk"]
        if subprocess.run(install, check=False, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update"], check=False, capture_output=True)
            subprocess.run(install, check=False, capture_output=True)
    return shutil.which("wrk") is not None


def run_wrk(
    base: str,
    paths: Sequence[str],
    seconds: float,
    connections: int,
    workdir: Path,
    lua: str = WRK_LUA,
) -> dict[str, Any]:
    """wrk over ``paths`` with a Lua script that prints a ``WRKJSON`` summary line."""
    script = workdir / "rotate.lua"
    script.write_text(lua)
    urls = workdir / "paths.txt"
    urls.write_text("\n".join(paths) + "\n")
    # Two threads: the machine has two cores, shared with the server under test.
    argv = [
        "wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
        "-s", str(script), base, "--", str(urls),
    ]  # fmt: skip
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("WRKJSON "):
            return dict(json.loads(line.removeprefix("WRKJSON ")))
    raise RuntimeError(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")


# A closed-loop HTTP/1.1 client on raw sockets (keep-alive, one request at a
# time per connection), timing each request from the write to the last byte
# of its body.  It stands in for wrk when wrk is missing, and bench/load.py
# runs it after wrk as a second opinion: under PostgreSQL's load on two cores
# wrk reported a p99 twenty times this client's at the same request rate,
# while the server's own log of slow requests agreed with this client.
RAW_LOAD = r"""
import asyncio, collections, json, sys, time

async def request(reader, writer, path):
    writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: bench\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length)
    return status, len(head) + len(body)

async def main(base, paths, seconds, connections):
    host, port = base.split("//", 1)[1].rsplit(":", 1)
    latencies, statuses, size = [], collections.Counter(), 0
    errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    stop = time.perf_counter() + seconds

    async def worker(offset):
        nonlocal size
        i, conn = offset, None
        while time.perf_counter() < stop:
            if conn is None:
                try:
                    conn = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 10)
                except (OSError, asyncio.TimeoutError):
                    errors["connect"] += 1
                    await asyncio.sleep(0.1)
                    continue
            i = (i + 1) % len(paths)
            began = time.perf_counter()
            try:
                status, got = await asyncio.wait_for(request(*conn, paths[i]), 10)
            except asyncio.TimeoutError:
                errors["timeout"] += 1
                conn[1].close()
                conn = None
                continue
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                errors["read"] += 1
                conn[1].close()
                conn = None
                continue
            latencies.append(time.perf_counter() - began)
            statuses[str(status)] += 1
            size += got
        if conn is not None:
            conn[1].close()

    began = time.perf_counter()
    await asyncio.gather(*(worker(k * 7) for k in range(connections)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e6
    print(json.dumps({
        "requests": len(latencies), "duration_us": elapsed * 1e6, "bytes": size,
        "p50_us": pick(0.5), "p90_us": pick(0.9), "p99_us": pick(0.99),
        "max_us": latencies[-1] * 1e6, "mean_us": sum(latencies) / len(latencies) * 1e6,
        "status": sum(n for code, n in statuses.items() if int(code) >= 400),
        "statuses": dict(statuses), **errors}))

paths = [line.encode() for line in open(sys.argv[2]).read().splitlines() if line]
try:
    import uvloop
    uvloop.install()
except ImportError:
    pass
asyncio.run(main(sys.argv[1], paths, float(sys.argv[3]), int(sys.argv[4])))
"""


def run_raw(
    base: str, paths: Sequence[str], seconds: float, connections: int, workdir: Path
) -> dict[str, Any]:
    """``RAW_LOAD`` in its own process (so it shares no GIL with the bench), wrk's summary keys."""
    script = workdir / "load.py"
    script.write_text(RAW_LOAD)
    urls = workdir / "paths.txt"
    urls.write_text("\n".join(paths) + "\n")
    argv = [sys.executable, str(script), base, str(urls), str(seconds), str(connections)]
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def drive(
    name: str,
    base: str,
    paths: Sequence[str],
    *,
    seconds: float,
    warmup: float,
    connections: int,
    use_wrk: bool,
) -> LoadResult:
    with tempfile.TemporaryDirectory(prefix="newsloom-web-bench-") as folder:
        workdir = Path(folder)
        run = run_wrk if use_wrk else run_raw
        if warmup > 0:
            run(base, paths, warmup, connections, workdir)
        load_before = os.getloadavg()[0]
        raw = run(base, paths, seconds, connections, workdir)
        load_after = os.getloadavg()[0]
    requests = int(raw["requests"])
    duration = raw["duration_us"] / 1e6
    errors = sum(int(raw[k]) for k in ("connect", "read", "write", "status", "timeout"))
    return LoadResult(
        name=name,
        requests=requests,
        seconds=round(duration, 2),
        rps=requests / duration if duration else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        errors=errors,
        kb_per_response=raw["bytes"] / max(requests, 1) / 1024,
        load_before=load_before,
        load_after=load_after,
        tool="wrk" if use_wrk else "python",
    )


def check_pages(base: str, paths: Sequence[str], name: str) -> None:
    """Every URL answers 200 with a body before any load: a benchmark of 404s says nothing."""
    import httpx

    with httpx.Client(base_url=base, timeout=30.0) as client:
        for path in paths:
            response = client.get(path)
            if response.status_code != 200 or not response.content:
                raise RuntimeError(f"{name}: {path} answered {response.status_code}")


# -- main -------------------------------------------------------------------------------


@dataclass(slots=True)
class Side:
    name: str
    argv: list[str]
    ready: str  # path answered once the server is up
    paths: list[str]


def sides(
    store: Path, ids: Sequence[str], port: int, metadata: Path, json_twins: bool
) -> list[Side]:
    db = store.stem
    newsloom = [
        str(BIN / "newsloom"),
        "serve",
        "--store",
        f"sqlite:///{store}",
        "--port",
        str(port),
    ]
    datasette = [
        str(BIN / "datasette"), "serve", "-i", str(store), "-m", str(metadata),
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    out = [
        Side("datasette", datasette, "/-/versions.json", [f"/{db}/story_page?id={i}" for i in ids]),
        Side("newsloom", newsloom, "/stories.json", [f"/story/{i}" for i in ids]),
    ]
    if json_twins:
        out += [
            Side(
                "datasette .json",
                datasette,
                "/-/versions.json",
                [f"/{db}/story_page.json?id={i}&_shape=array" for i in ids],
            ),
            Side("newsloom .json", newsloom, "/stories.json", [f"/story/{i}.json" for i in ids]),
        ]
    return out


def commit() -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds per side")
    parser.add_argument("--warmup", type=float, default=10.0, help="unmeasured seconds first")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--stories", type=int, default=200, help="story pages requested")
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--rebuild", action="store_true", help="build the store again")
    parser.add_argument(
        "--json", action="store_true", help="also measure the .json twins (both sides)"
    )
    parser.add_argument("--only", choices=("newsloom", "datasette"), help="measure one side")
    parser.add_argument(
        "--python-client", action="store_true", help="use the Python load generator, not wrk"
    )
    args = parser.parse_args(argv)

    store = args.store.resolve()
    info, ids = prepare_store(store, args.stories, args.rebuild)
    sizes = story_sizes(store, ids)
    use_wrk = not args.python_client and have_wrk()
    began = datetime.now(UTC)
    print(
        f"Store: {store.relative_to(REPO_ROOT) if store.is_relative_to(REPO_ROOT) else store} "
        f"({'reused' if info['reused'] else 'built now'}), {file_mb(store):.0f} MB, "
        f"{info['articles']:,} articles in {info['stories']:,} live stories; {info['how']} "
        f"(built in {info['build_seconds'] / 60:.1f} min on {info['built_at'][:10]})."
    )
    print(
        f"Pages: {len(ids)} stories of 2+ articles, a seeded sample, analysed for real "
        f"(provenance, cross-checks, cited summary; {info.get('analysis_seconds', 0):.0f} s in "
        f"all); their sizes: median {statistics.median(sizes):.0f}, max {max(sizes)} articles."
    )
    tool = (
        "wrk"
        if use_wrk
        else "Python (asyncio on raw sockets, own process; one Python process may "
        "saturate before a server does, so its numbers are lower bounds)"
    )
    print(
        f"Load: {tool}, "
        f"{args.connections} connections, {args.warmup:.0f} s warm-up then "
        f"{args.duration:.0f} s per side, URLs rotated over the {len(ids)} stories; "
        f"commit {commit()}, {began:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs."
    )
    print()

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    metadata = OUT_DIR / "web_datasette.json"
    metadata.write_text(json.dumps(datasette_metadata(store.stem), indent=1))
    results: list[LoadResult] = []
    for side in sides(store, ids, free_port(), metadata, args.json):
        if args.only and not side.name.startswith(args.only):
            continue
        log = OUT_DIR / f"web_{side.name.replace(' ', '').replace('.', '_')}.log"
        base = f"http://127.0.0.1:{side.argv[side.argv.index('--port') + 1]}"
        print(f"{side.name}: starting {' '.join(side.argv[:2])} ...", file=sys.stderr)
        with server(side.name, side.argv, base + side.ready, log):
            check_pages(base, side.paths, side.name)
            result = drive(
                side.name,
                base,
                side.paths,
                seconds=args.duration,
                warmup=args.warmup,
                connections=args.connections,
                use_wrk=use_wrk,
            )
        results.append(result)
        print(
            f"{side.name}: {result.rps:.1f} req/s, p50 {result.p50_ms:.1f} ms, "
            f"p99 {result.p99_ms:.1f} ms, {result.errors} errors",
            file=sys.stderr,
        )
        # newsloom writes its view counts at shutdown: fold them into the main
        # file before datasette (immutable, main file only) reads it.
        checkpoint(store)

    headers = [
        "server", "page", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors",
        "KB/response", "load before → after",
    ]  # fmt: skip
    # The URL pattern of each side, with the story id as {id}.
    pages_of = {
        s.name: s.paths[0].replace(ids[0], "{id}") for s in sides(store, ids, 0, metadata, True)
    }
    print_table(
        headers,
        [
            [
                r.name,
                pages_of.get(r.name, ""),
                f"{r.requests:,}",
                f"{r.rps:.1f}",
                f"{r.p50_ms:.1f}",
                f"{r.p90_ms:.1f}",
                f"{r.p99_ms:.1f}",
                f"{r.max_ms:.0f}",
                r.errors,
                f"{r.kb_per_response:.1f}",
                f"{r.load_before:.2f} → {r.load_after:.2f}",
            ]
            for r in results
        ],
    )
    by_name = {r.name: r for r in results}
    for suffix in ("", " .json"):
        ours, theirs = by_name.get("newsloom" + suffix), by_name.get("datasette" + suffix)
        if ours is None:
            continue
        ratio = f"{ours.rps / theirs.rps:.2f}×" if theirs and theirs.rps else "-"
        met = (theirs is None or ours.rps >= theirs.rps) and ours.p99_ms <= GOAL_P99_MS
        print(
            f"newsloom{suffix} / datasette{suffix} throughput: {ratio}; newsloom{suffix} p99 "
            f"{ours.p99_ms:.1f} ms (goal: at least datasette's req/s and p99 ≤ "
            f"{GOAL_P99_MS:.0f} ms: {'met' if met else 'not met'})."
        )
    (OUT_DIR / "web.json").write_text(
        json.dumps(
            {
                "started": began.isoformat(),
                "commit": commit(),
                "results": [asdict(r) for r in results],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
