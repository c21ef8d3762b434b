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

and prints pages per second and CPU seconds per page for each, and the ratios
against the goals: ``local[2]`` at least 1.7× ``local[1]``, and Spark's cost
per page within 1.3× of the single process's, judged on wall time at one core
(``local[1]``) and on CPU time.  Nothing is asserted.

Every run is a child process, and its CPU time is that of its whole process
tree (driver, JVM, Python workers), counted two ways, each of which can only
fall short: ``getrusage(RUSAGE_CHILDREN)`` after reaping every descendant
(this process becomes a Linux "child subreaper", so the JVM and workers that
outlive their parent are reparented here), which misses processes nobody
waited for (PySpark's Python workers); and the descendants' times sampled from
``/proc`` every quarter second, which misses each process's last fraction of
a sample.  The larger is reported; the run lines show both.

Usage: ``.venv/bin/python bench/spark.py [--pages N] [--seed N] [--keep DIR]``

A 20,000-page run takes hours on two cores.  With ``--keep DIR --resume``
each mode's figures are saved in ``DIR/runs.json`` as soon as it ends, with
the commit, the time and the load average, and a later run on the same
folder measures only what is missing (``--only single`` etc. picks modes);
the report says when the modes come from different commits.  ``--state
FILE`` keeps that record elsewhere (``bench/results/spark_20000.json`` in the
repository, so that sittings on fresh machines add up): the WARC is then
rebuilt where it is missing, and the runs stand if its pages are the same.
"""

from __future__ import annotations

import argparse
import ctypes
import io
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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


def build_warc(path: Path, pages: int, seed: int) -> str:
    """Write the WARC; returns a digest of its pages (addresses and bodies),
    the same whenever the same pages are built (record ids and gzip headers
    differ from build to build)."""
    import hashlib

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    digest = hashlib.sha256()

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
            digest.update(f"{url}\n{len(body)}\n".encode())
            digest.update(body)
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
    return digest.hexdigest()


_PR_SET_CHILD_SUBREAPER = 36
# How long to wait for a finished run's JVM and workers to exit.
_REAP_SECONDS = 120.0


def become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux), so their CPU time can be counted."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


@dataclass(slots=True)
class Measured:
    seconds: float  # wall time of the child process itself
    cpu: float  # user + system seconds of its process tree: the larger lower bound below
    reaped: float  # ... as getrusage(RUSAGE_CHILDREN) counted it
    sampled: float  # ... as sampled from /proc
    stdout: str
    complete: bool  # every adopted descendant exited


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _reap_descendants(deadline: float) -> bool:
    """Wait for adopted descendants (a JVM still shutting down); False on timeout."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_table() -> dict[int, tuple[int, str, float]]:
    """pid → (parent pid, start time, user + system seconds), from /proc (Linux)."""
    table: dict[int, tuple[int, str, float]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path("/proc", name, "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        # Fields after "(comm)": state ppid ... utime(12) stime(13) ... starttime(20).
        fields = stat[stat.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / _TICK
        table[int(name)] = (int(fields[1]), fields[19], cpu)
    return table


class TreeSampler:
    """Last seen CPU time of every descendant of this process, sampled from /proc.

    getrusage misses processes that nobody waited for: PySpark's Python
    workers end without their daemon reaping them, and their time (most of a
    batch's) then never reaches RUSAGE_CHILDREN.  Sampling sees them, but
    misses what each process spends after the last sample (at most
    ``interval``).
    """

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.seen: dict[tuple[int, str], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.available = Path("/proc/self/stat").exists()

    def __enter__(self) -> TreeSampler:
        if self.available:
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.available:
            self._stop.set()
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        table = _proc_table()
        children: dict[int, list[int]] = {}
        for pid, (parent, _start, _cpu) in table.items():
            children.setdefault(parent, []).append(pid)
        todo = list(children.get(os.getpid(), []))
        while todo:
            pid = todo.pop()
            _parent, start, cpu = table[pid]
            key = (pid, start)  # pids are reused; start times tell them apart
            self.seen[key] = max(cpu, self.seen.get(key, 0.0))
            todo.extend(children.get(pid, []))

    @property
    def total(self) -> float:
        return sum(self.seen.values())


def run_measured(command: list[str], what: str) -> Measured:
    """Run ``command`` to the end; its wall time and its process tree's CPU time."""
    before = _children_cpu()
    started = time.perf_counter()
    with TreeSampler() as sampler:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        complete = _reap_descendants(time.monotonic() + _REAP_SECONDS)
    if done.returncode != 0:
        sys.exit(f"{what} failed:\n{done.stderr[-3000:]}")
    reaped = _children_cpu() - before
    # Both figures can only fall short of the truth, so the larger is the closer.
    cpu = max(reaped, sampler.total)
    return Measured(seconds, cpu, reaped, sampler.total, done.stdout, complete)


def _cpu_note(m: Measured) -> str:
    return f"CPU {m.cpu:.1f} s (reaped {m.reaped:.1f}, sampled {m.sampled:.1f})"


def single_child(warc: Path, folder: Path) -> None:
    """The single-process run, inside the child that ``run_single`` starts."""
    from newsloom.pipeline import Pipeline
    from newsloom.store import open_store

    with open_store(f"sqlite:///{folder / 'single.db'}") as store:
        report = Pipeline(store).ingest([str(warc)])
    print(json.dumps({"articles": report.new, "failures": len(report.failures)}))


def run_single(warc: Path, folder: Path) -> Measured:
    """``Pipeline.ingest`` into a fresh SQLite store, in a fresh process."""
    command = [sys.executable, __file__, "--single-child", str(warc), str(folder)]
    measured = run_measured(command, "the single process")
    report = json.loads(measured.stdout)
    print(
        f"  single process: {report['articles']} articles, {report['failures']} failures, "
        f"{_cpu_note(measured)}",
        flush=True,
    )
    return measured


def out_dir(folder: Path, master: str) -> Path:
    return folder / ("out-" + re.sub(r"\W+", "", master))


def run_spark(warc: Path, folder: Path, master: str) -> Measured:
    """One ``newsloom batch`` run in a fresh process (a fresh JVM and Python workers)."""
    out = out_dir(folder, master)
    cli = "from newsloom.cli import main; main()"
    command = [
        sys.executable, "-c", cli, "batch", str(warc), "--out", str(out), "--master", master,
        "--json",
    ]  # fmt: skip
    measured = run_measured(command, f"newsloom batch on {master}")
    report = json.loads(measured.stdout)
    print(
        f"  spark {master}: {report['articles']} articles, {report['errors']} errors, "
        f"steps {json.dumps({k: round(v, 1) for k, v in report['timings'].items()})}, "
        f"{_cpu_note(measured)}",
        flush=True,
    )
    return measured


def _verdict(value: float, goal: float, at_least: bool) -> str:
    met = value >= goal if at_least else value <= goal
    return f"goal {'>=' if at_least else '<='} {goal}x: {'met' if met else 'NOT met'}"


def report(pages: int, runs: dict[str, Measured]) -> None:
    """The table and the goals, on wall time and on CPU time per page."""
    print_table(
        ["run", "seconds", "pages/s", "CPU s", "CPU s/page"],
        [
            [name, f"{m.seconds:.1f}", f"{pages / m.seconds:.1f}", f"{m.cpu:.1f}",
             f"{m.cpu / pages:.3f}"]
            for name, m in runs.items()
        ],
    )  # fmt: skip
    single, one, two = runs.values()
    if not all(m.complete for m in runs.values()):
        print("warning: some JVM or worker did not exit in time; its CPU time is missing")
    scaling = one.seconds / two.seconds
    print(f"local[2] / local[1] speed-up: {scaling:.2f}x ({_verdict(scaling, GOAL_SCALING, True)})")
    wall = one.seconds / single.seconds
    print(
        f"spark local[1] wall time per page / single process: {wall:.2f}x "
        f"({_verdict(wall, GOAL_OVERHEAD, False)})"
    )
    for name, m in (("local[1]", one), ("local[2]", two)):
        cost = m.cpu / single.cpu if single.cpu else float("inf")
        print(
            f"spark {name} CPU time per page / single process: {cost:.2f}x "
            f"({_verdict(cost, GOAL_OVERHEAD, False)})"
        )


MODES = {"single": "single process", "local1": "spark local[1]", "local2": "spark local[2]"}


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=Path(__file__).resolve().parent,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def load_state(path: Path, pages: int, seed: int) -> dict[str, Any]:
    """What was measured before on this WARC (``--resume``): ``runs`` by mode
    and the WARC's ``digest``."""
    if not path.is_file():
        return {"runs": {}, "digest": None}
    state = json.loads(path.read_text())
    if (state.get("pages"), state.get("seed")) != (pages, seed):
        sys.exit(f"{path} is for --pages {state.get('pages')} --seed {state.get('seed')}")
    return {"runs": dict(state.get("runs", {})), "digest": state.get("digest")}


def save_state(
    path: Path, pages: int, seed: int, digest: str | None, runs: dict[str, dict[str, object]]
) -> None:
    tmp = path.with_suffix(".tmp")
    record = {"pages": pages, "seed": seed, "digest": digest, "runs": runs}
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    tmp.replace(path)


def run_mode(mode: str, warc: Path, folder: Path) -> Measured:
    # Each run starts from nothing: an earlier, interrupted run's store or
    # output would turn the ingest into "already stored".
    if mode == "single":
        for name in ("single.db", "single.db-wal", "single.db-shm"):
            (folder / name).unlink(missing_ok=True)
        return run_single(warc, folder)
    master = f"local[{mode[-1]}]"
    shutil.rmtree(out_dir(folder, master), ignore_errors=True)
    return run_spark(warc, folder, master)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20_000, help="pages in the WARC")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep the WARC and outputs in this folder")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="with --keep: reuse its WARC and the modes already measured there "
        "(runs.json), and measure only the missing ones",
    )
    parser.add_argument(
        "--only",
        choices=sorted(MODES),
        action="append",
        help="measure only this mode (repeatable); with --keep --resume the "
        "three can be measured in separate sittings",
    )
    parser.add_argument(
        "--state",
        type=Path,
        help="where the measured runs are saved (default DIR/runs.json); a file "
        "kept elsewhere, e.g. in the repository, survives the folder: a rebuilt "
        "WARC with the same pages keeps the runs measured on the old one",
    )
    # Internal: the single-process run in its own child process.
    parser.add_argument("--single-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.single_child:
        single_child(*args.single_child)
        return
    if args.resume and args.keep is None and args.state is None:
        parser.error("--resume needs --keep DIR or --state FILE")
    if not become_subreaper():
        print("note: not Linux; CPU times may miss processes nobody waited for", flush=True)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="newsloom-bench-spark-"))
    folder.mkdir(parents=True, exist_ok=True)
    state_path = args.state or folder / "runs.json"
    state = load_state(state_path, args.pages, args.seed) if args.resume else {}
    done = state.get("runs", {})
    digest = state.get("digest")
    try:
        warc = folder / "bench.warc.gz"
        if args.resume and warc.is_file() and state_path.is_file() and digest:
            print(f"reusing the WARC of {args.pages} pages in {folder}", flush=True)
        else:
            print(f"building a WARC of {args.pages} pages in {folder} …", flush=True)
            built = build_warc(warc, args.pages, args.seed)
            if built != digest:
                if done:
                    print("  its pages differ from the measured runs' WARC: measuring anew")
                done = {}
            digest = built
            save_state(state_path, args.pages, args.seed, digest, done)
        for mode in args.only or list(MODES):
            if mode in done:
                print(f"  {MODES[mode]}: measured before (commit {done[mode]['commit']})")
                continue
            measured = run_mode(mode, warc, folder)
            done[mode] = {
                "seconds": measured.seconds,
                "cpu": measured.cpu,
                "reaped": measured.reaped,
                "sampled": measured.sampled,
                "complete": measured.complete,
                "commit": _commit(),
                "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                "load_average": os.getloadavg()[0],
            }
            if mode != "single":
                # The steps say where a run's time went; kept so a later
                # sitting's report can still show them.
                done[mode]["steps"] = json.loads(measured.stdout).get("timings", {})
            save_state(state_path, args.pages, args.seed, digest, done)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    missing = [MODES[m] for m in MODES if m not in done]
    if missing:
        again = f"--keep {folder}" + (f" --state {args.state}" if args.state else "")
        print(f"not measured yet: {', '.join(missing)} (rerun with {again} --resume)")
        return
    for m in MODES:
        print(
            f"{MODES[m]}: commit {done[m]['commit']}, finished {done[m]['finished']}, "
            f"load average at the end {float(done[m]['load_average']):.1f}"
        )
        if done[m].get("steps"):
            steps = {k: round(float(v), 1) for k, v in done[m]["steps"].items()}
            print(f"  steps (seconds): {json.dumps(steps)}")
    commits = {str(done[m]["commit"]) for m in MODES}
    if len(commits) > 1:
        print(
            "note: the modes were measured at different commits: "
            + ", ".join(f"{MODES[m]} {done[m]['commit']} ({done[m]['finished']})" for m in MODES)
        )
    runs = {
        MODES[m]: Measured(
            float(done[m]["seconds"]), float(done[m]["cpu"]), float(done[m]["reaped"]),
            float(done[m]["sampled"]), "", bool(done[m]["complete"]),
        )
        for m in MODES
    }  # fmt: skip
    report(args.pages, runs)


if __name__ == "__main__":
    main()
