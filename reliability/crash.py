"""Crash-safety harness: SIGKILL ``newsloom ingest`` at random moments, resume, compare.

1. Build an input of N pages (``reliability/stream.py``) in a temporary folder.
2. Ingest it uninterrupted into a reference store R, with ``newsloom ingest``
   in a subprocess.
3. K rounds on store S: start ``newsloom ingest`` over the same input, SIGKILL
   it after a seeded random delay, and check what the kill left (a prefix of
   R's articles, none twice, each with its duplicate record, a sound database).
   Each round's run is the previous round's resume.
4. A last uninterrupted resume, then S must equal R: the same articles, none
   lost or doubled, every one with its duplicate record and its story, the
   same stories and duplicate groups, the same analysis and an empty analysis
   queue, the same failures reported, and the database's own checks clean.

Kill delays are drawn between half the reference run's start-up time (until
its first article was stored) and that start-up plus twice the reference's
remaining time divided by K, so the K kills together spread over a whole
ingest: start-up, batches, story placement and the final analysis.

R is a SQLite file unless ``--reference-url`` names another store.  The kill
delays follow R's pace, so R should be on S's kind of store: PostgreSQL
ingests more slowly than SQLite here, and delays timed on a SQLite R end
before S on PostgreSQL reaches its final analysis.  ``--postgres`` starts a
throwaway PostgreSQL server (``tests/postgres/server.py``) and puts both R
and S on it, each in a new database.

``--models light`` runs the same CLI with small stand-in models
(``reliability/light_models.py``) for a fast run; the default is the real ones.

Usage: ``.venv/bin/python reliability/crash.py [--pages N] [--kills K] [--seed S]
[--store-url URL [--reference-url URL] | --postgres] [--models real|light]
[--keep DIR]``.  Exit status 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from newsloom.store import SQLiteStore, open_store  # noqa: E402
from reliability.checks import (  # noqa: E402
    Snapshot,
    compare,
    integrity_problems,
    kill_time_problems,
    snapshot,
    sqlite_path,
)
from reliability.stream import InputFile, build_input  # noqa: E402

__all__ = ["Harness", "Outcome", "Round", "ingest_command", "main", "run_harness"]

LIGHT_MODELS = REPO_ROOT / "reliability" / "light_models.py"
POLL = 0.05


def ingest_command(models: str) -> list[str]:
    """The ``newsloom`` command line: the installed script, or the light-model wrapper."""
    if models == "light":
        return [sys.executable, str(LIGHT_MODELS)]
    script = Path(sys.executable).with_name("newsloom")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from newsloom.cli import main; main()"]


@dataclass(slots=True)
class Round:
    """One killed run (or one that finished before its kill came)."""

    number: int
    delay: float  # seconds after start when SIGKILL was sent
    killed: bool
    articles: int  # stored when the kill landed
    unplaced: int  # of those, without a story yet
    queued: int  # stories waiting for analysis
    problems: list[str] = field(default_factory=list)

    @property
    def result(self) -> str:
        if self.problems:
            return "FAIL: " + "; ".join(self.problems)
        return "ok" if self.killed else "ok (finished before the kill)"


@dataclass(slots=True)
class Outcome:
    pages: int
    reference_seconds: float
    reference_articles: int
    rounds: list[Round]
    final_seconds: float
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems and not any(r.problems for r in self.rounds)


def _count_sqlite(path: Path, sql: str) -> int:
    """One count over a plain read connection; 0 while the file or table is not there."""
    if not path.is_file():
        return 0
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return int(conn.execute(sql).fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def _report(process: subprocess.Popen[bytes], out: bytes, err: bytes) -> dict[str, object]:
    # Exit 1 means some inputs failed, which the input's bad lines make certain.
    if process.returncode not in (0, 1) or not out.strip():
        tail = err.decode(errors="replace")[-2000:]
        raise RuntimeError(f"newsloom ingest exited {process.returncode}: {tail}")
    return json.loads(out)


class Harness:
    """Runs ``newsloom ingest`` on one input against stores given by URL."""

    def __init__(self, source: InputFile, workdir: Path, models: str = "real") -> None:
        self.source = source
        self.workdir = workdir
        self.command = ingest_command(models)
        # No config file or NEWSLOOM_* setting of the caller may change the runs.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLOOM_")}

    def start(self, store_url: str) -> subprocess.Popen[bytes]:
        args = [*self.command, "ingest", str(self.source.path), "--store", store_url, "--json"]
        return subprocess.Popen(
            args,
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )

    def run(self, store_url: str) -> tuple[dict[str, object], float]:
        """One uninterrupted ingest; its JSON report and wall time."""
        started = time.perf_counter()
        process = self.start(store_url)
        out, err = process.communicate()
        seconds = time.perf_counter() - started
        return _report(process, out, err), seconds

    def run_timed(self, store_url: str) -> tuple[dict[str, object], float, float]:
        """Like ``run``, also timing the start-up: until the first article is stored."""
        path = sqlite_path(store_url)
        with contextlib.ExitStack() as stack:
            count: Callable[[], int]
            if path is not None:
                count = functools.partial(_count_sqlite, path, "SELECT count(*) FROM articles")
            else:
                # Through the Store API: the harness opened (and so migrated)
                # this store before, when it checked that it was empty.
                count = stack.enter_context(open_store(store_url)).count_articles
            started = time.perf_counter()
            process = self.start(store_url)
            first = None
            while process.poll() is None:
                if first is None and count():
                    first = time.perf_counter() - started
                time.sleep(POLL)
            out, err = process.communicate()
            seconds = time.perf_counter() - started
        return _report(process, out, err), seconds, first if first is not None else seconds

    def kill_after(self, store_url: str, delay: float) -> bool:
        """Start an ingest and SIGKILL it after ``delay`` s; False if it finished first."""
        process = self.start(store_url)
        deadline = time.perf_counter() + delay
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                break
            time.sleep(min(0.01, max(deadline - time.perf_counter(), 0)))
        finished = process.poll() is not None
        if not finished:
            # Our own child, in its own session: the group is just this ingest.
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        if finished and process.returncode not in (0, 1):
            raise RuntimeError(f"newsloom ingest exited {process.returncode} before its kill")
        return not finished


def _state_at_kill(store_url: str) -> tuple[Snapshot, int] | None:
    """The store as the kill left it; None if its schema was not complete yet.

    Opening a store migrates it, so a store killed before its migrations
    finished is left alone: the resume, not the harness, must finish them.
    """
    path = sqlite_path(store_url)
    if path is not None:
        version = _count_sqlite(path, "PRAGMA user_version")
        if version < SQLiteStore.latest_schema_version():
            return None
    with open_store(store_url) as store:
        return snapshot(store, analysis=False), len(store.stories_to_analyse(limit=10**6))


def run_harness(
    pages: int,
    kills: int,
    seed: int,
    workdir: Path,
    *,
    store_url: str | None = None,
    reference_url: str | None = None,
    models: str = "real",
    log: Callable[[str], None] = lambda _line: None,
) -> Outcome:
    """Build the input, run R, kill and resume S ``kills`` times, compare."""
    workdir.mkdir(parents=True, exist_ok=True)
    source = build_input(workdir / "input", pages, seed)
    log(
        f"input: {source.pages} pages, {source.repeats} repeated, {source.bad_lines} bad lines"
        f" in {source.path}"
    )
    harness = Harness(source, workdir, models)
    reference_url = reference_url or f"sqlite:///{workdir / 'reference.db'}"
    target_url = store_url or f"sqlite:///{workdir / 'resumed.db'}"
    if reference_url == target_url:
        raise RuntimeError("the reference store and the resumed store must differ")
    for url in (reference_url, target_url):
        path = sqlite_path(url)
        if path is not None:
            # Left for the first run to create, so a kill can land in its migrations.
            if path.exists():
                raise RuntimeError(f"{path} exists: the harness needs a new store")
        else:
            with open_store(url) as store:
                if store.count_articles():
                    raise RuntimeError(f"{url} is not empty: the harness needs a new store")

    reference_report, reference_seconds, startup = harness.run_timed(reference_url)
    with open_store(reference_url) as store:
        reference = snapshot(store)
        reference_failures = store.failures(run_id=str(reference_report["run_id"]))
    log(
        f"reference: {len(reference.article_ids)} articles, {len(reference.stories)} stories"
        f" in {reference_seconds:.1f} s (first article after {startup:.1f} s)"
    )

    rng = random.Random(seed)
    work = max(reference_seconds - startup, 0.1)
    rounds: list[Round] = []
    for number in range(1, kills + 1):
        delay = rng.uniform(startup / 2, startup + 2 * work / max(kills, 1))
        killed = harness.kill_after(target_url, delay)
        found = Round(number, delay, killed, articles=0, unplaced=0, queued=0)
        at_kill = _state_at_kill(target_url)
        if at_kill is not None:
            state, found.queued = at_kill
            found.articles = len(state.article_ids)
            found.unplaced = len(set(state.content) - set(state.story_of))
            found.problems = kill_time_problems(reference, state) + integrity_problems(target_url)
        rounds.append(found)
        log(
            f"round {number:>2}: kill at {delay:5.2f} s, {found.articles} articles stored,"
            f" {found.unplaced} without story, {found.queued} analyses queued: {found.result}"
        )

    final_report, final_seconds = harness.run(target_url)
    with open_store(target_url) as store:
        resumed = snapshot(store)
        final_failures = store.failures(run_id=str(final_report["run_id"]))
    problems = compare(reference, resumed)
    problems += integrity_problems(target_url)
    problems += [f"reference store: {p}" for p in integrity_problems(reference_url)]
    want = sorted((f.source, f.reason) for f in reference_failures)
    have = sorted((f.source, f.reason) for f in final_failures)
    if want != have:
        problems.append(f"the final run reported {len(have)} failures, the reference {len(want)}")
    story_failures = [f for f in final_failures if f.error in {"StoryError", "AnalysisError"}]
    if story_failures:
        problems.append(f"{len(story_failures)} story/analysis failures in the final run")
    return Outcome(
        pages=source.pages,
        reference_seconds=reference_seconds,
        reference_articles=len(reference.article_ids),
        rounds=rounds,
        final_seconds=final_seconds,
        problems=problems,
    )


def print_table(outcome: Outcome) -> None:
    print(f"{'round':>5}  {'kill at':>8}  {'stored':>7}  {'no story':>8}  {'queued':>6}  result")
    for r in outcome.rounds:
        print(
            f"{r.number:>5}  {r.delay:>7.2f}s  {r.articles:>7}  {r.unplaced:>8}  {r.queued:>6}"
            f"  {r.result}"
        )
    killed = sum(r.killed for r in outcome.rounds)
    print(
        f"\n{outcome.pages} pages, {outcome.reference_articles} articles;"
        f" reference run {outcome.reference_seconds:.1f} s;"
        f" {killed} of {len(outcome.rounds)} runs killed;"
        f" final resume {outcome.final_seconds:.1f} s"
    )
    if outcome.problems:
        print("FINAL CHECKS FAILED:")
        for problem in outcome.problems:
            print(f"  - {problem}")
    else:
        print(
            "final checks: 0 lost, 0 duplicated, integrity ok, every article with its duplicate"
            " record and story, stories, duplicate groups and analysis identical to the"
            " reference, no analysis queued"
        )


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[Any]:
    """A PostgreSQL server on loopback for the run, stopped and deleted after it."""
    tests = str(REPO_ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from postgres.server import ServerUnavailable, start_server  # the tests' server, as is

    try:
        server = start_server()
    except ServerUnavailable as exc:
        raise SystemExit(f"crash.py --postgres: {exc}") from exc
    try:
        yield server
    finally:
        server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--store-url", default=None, help="store S (default: a SQLite file in the temp folder)"
    )
    parser.add_argument(
        "--reference-url",
        default=None,
        help="store R, the uninterrupted run (default: a SQLite file in the temp folder)",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="R and S in two new databases of a throwaway PostgreSQL server",
    )
    parser.add_argument("--models", choices=("real", "light"), default="real")
    parser.add_argument("--keep", type=Path, default=None, help="work here and keep the files")
    args = parser.parse_args(argv)
    if args.pages < 1 or args.kills < 0:
        parser.error("--pages must be positive and --kills not negative")
    if args.postgres and (args.store_url or args.reference_url):
        parser.error("--postgres picks both stores: leave out --store-url and --reference-url")

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    # SIGTERM unwinds like Ctrl-C, so a throwaway server and folder are removed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        store_url, reference_url = args.store_url, args.reference_url
        if args.postgres:
            server = stack.enter_context(throwaway_postgres())
            reference_url = server.url(server.create_database("crash_reference"))
            store_url = server.url(server.create_database("crash_resumed"))
            log(f"PostgreSQL {server.bin_dir.parent.name} on port {server.port}: R and S there")
        if args.keep is not None:
            folder = args.keep
        else:
            folder = Path(tempfile.mkdtemp(prefix="newsloom-crash-"))
            stack.callback(shutil.rmtree, folder, ignore_errors=True)
        outcome = run_harness(
            args.pages, args.kills, args.seed, folder,
            store_url=store_url, reference_url=reference_url, models=args.models, log=log,
        )  # fmt: skip
    print_table(outcome)
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
