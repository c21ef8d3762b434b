"""Two real ``newsloom ingest`` processes on one PostgreSQL store, and
``newsloom serve`` answering while they write.

The demo corpus is split into two overlapping inputs, each holding articles
of every documented event: both workers store, deduplicate and place articles
of the same events at the same time.  Afterwards the store must hold each
article once, lose none, keep the corpus's one exact copy in one duplicate
group, and give each event exactly one story, as a single-process ingest does
(test_demo_stories.py checks the single process against the same ground truth).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from newsloom.demo import corpus_path, load_ground_truth
from newsloom.store import open_store

TRUTH = load_ground_truth()
INGEST_TIMEOUT = 240


def _newsloom() -> list[str]:
    script = Path(sys.executable).parent / "newsloom"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from newsloom.cli import main; main()"]


def _env(**settings: str) -> dict[str, str]:
    # No NEWSLOOM_* setting of the caller may change the runs.
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLOOM_")}
    return env | settings


# The test polls search from one address more often than a reader would: the
# rate limiter stays on but does not refuse it.
SEARCH_LIMITS = {"NEWSLOOM_SEARCH_BURST": "100000", "NEWSLOOM_SEARCH_PER_MINUTE": "100000"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, timeout: float = 30) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@dataclass(slots=True)
class Run:
    store_url: str
    reports: list[dict] = field(default_factory=list)
    # (path, status, how many ingest workers were still running)
    requests: list[tuple[str, int, int]] = field(default_factory=list)
    server_port: int = 0
    server_log: str = ""


def _inputs(tmp: Path) -> tuple[list[str], list[str]]:
    """Two overlapping inputs covering the corpus; the shared part is a copy,
    so the same pages come from different files."""
    corpus = corpus_path()
    copy = tmp / "corpus-copy"
    shutil.copytree(corpus, copy)
    first = [str(corpus / "html"), str(corpus / "text")]
    second = [str(copy / "feeds"), str(copy / "jsonl"), str(copy / "archive"), str(copy / "text")]
    return first, second


@pytest.fixture(scope="module")
def run(pg_server, tmp_path_factory: pytest.TempPathFactory) -> Run:
    from postgres.conftest import TEMPLATE

    tmp = tmp_path_factory.mktemp("concurrent")
    name = pg_server.create_database(template=TEMPLATE)
    result = Run(store_url=pg_server.url(name))
    first, second = _inputs(tmp)
    port = _free_port()
    result.server_port = port
    log_path = tmp / "serve.log"
    log = log_path.open("w")
    serve = subprocess.Popen(
        [*_newsloom(), "serve", "--port", str(port), "--store", result.store_url],
        cwd=tmp, env=_env(**SEARCH_LIMITS), stdout=subprocess.DEVNULL, stderr=log, text=True,
    )  # fmt: skip
    workers: list[subprocess.Popen[str]] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"http://127.0.0.1:{port}/", timeout=5) == 200:
                    break
            except OSError:
                pass
            if serve.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"newsloom serve did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.3)
        start = time.monotonic()
        for sources in (first, second):
            command = [*_newsloom(), "ingest", *sources, "--store", result.store_url, "--json"]
            workers.append(
                subprocess.Popen(
                    command,
                    cwd=tmp,
                    env=_env(),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        # Read pages while the workers write: the home page, a search and,
        # once one exists, a story page.
        story_id: str | None = None
        while any(w.poll() is None for w in workers):
            if time.monotonic() - start > INGEST_TIMEOUT:
                pytest.fail("the ingest workers did not finish in time")
            running = sum(w.poll() is None for w in workers)
            paths = ["/", "/search?q=bridge"]
            if story_id is None:
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/stories.json", timeout=30
                    ) as response:
                        listed = json.loads(response.read())
                    stories = listed.get("stories", listed) if isinstance(listed, dict) else listed
                    if stories:
                        story_id = stories[0]["id"]
                except (OSError, ValueError, KeyError, TypeError):
                    pass
            if story_id:
                paths.append(f"/story/{story_id}")
            for path in paths:
                status = _get(f"http://127.0.0.1:{port}{path}")
                result.requests.append((path, status, running))
            time.sleep(0.5)
        for worker in workers:
            out, err = worker.communicate(timeout=30)
            assert worker.returncode == 0, f"ingest failed: {err[-3000:]}"
            result.reports.append(json.loads(out))
    finally:
        for process in (*workers, serve):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        log.close()
        result.server_log = log_path.read_text(errors="replace")
    return result


def _document_of(article) -> str | None:
    """The ground-truth document an article came from (by address, or by file)."""
    source = (article.source or "").split("#")[0]
    for key, doc in TRUTH["documents"].items():
        if doc["url"] in {article.url, article.canonical_url} or source.endswith(key):
            return key
    return None


def test_no_article_is_lost_or_stored_twice(run: Run) -> None:
    with open_store(run.store_url) as store:
        articles = list(store.iter_articles(limit=None))
        ids = [a.id for a in articles]
        assert len(ids) == len(set(ids))
        assert store.count_articles() == len(TRUTH["documents"])
        # Each document became exactly one article, whichever worker stored it.
        assert sorted(_document_of(a) or "?" for a in articles) == sorted(TRUTH["documents"])
        assert all(len(store.versions(i)) == 1 for i in ids)
        assert store.articles_without_fingerprints() == []
        assert store.articles_without_story() == []
    stored = sum(r["new"] for r in run.reports)
    assert stored == len(TRUTH["documents"])  # a page new to one worker was unchanged to the other
    assert all(r["failures"] == [] for r in run.reports)


# What a single-process ingest of the corpus groups as copies: a word-for-word
# copy of the Harbour Gazette's bridge article, and a near copy summarising it.
COPIES = {
    "html/harbourgazette.example/kestrel-bridge-to-close-corroded-bearings.html",
    "html/northshorewire.example/kestrel-bridge-to-close-for-at-least-ten-weeks.html",
    "text/brieflane.example/kestrel-bridge-summary.txt",
}


def test_copies_found_by_either_worker_share_one_group(run: Run) -> None:
    with open_store(run.store_url) as store:
        articles = {a.id: a for a in store.iter_articles(limit=None)}
        infos = [store.duplicates_of(i) for i in articles]
        groups = {info.group_id for info in infos if info is not None}
        members = [store.duplicate_group(g) for g in groups]
    copied = [m for m in members if len(m) > 1]
    assert len(copied) == 1
    assert {_document_of(articles[i]) for i in copied[0]} == COPIES
    assert sorted(i.match for i in infos if i.article_id in copied[0]) == ["exact", "near", "none"]
    assert sum(r["exact_duplicates"] for r in run.reports) == 1
    assert sum(r["near_duplicates"] for r in run.reports) == 1


def test_each_event_has_exactly_one_story(run: Run) -> None:
    with open_store(run.store_url) as store:
        articles = list(store.iter_articles(limit=None))
        owners = store.stories_of([a.id for a in articles])
        live = store.iter_stories(limit=100)
    placed: dict[str, set[str]] = {}
    for article in articles:
        key = _document_of(article)
        assert key is not None and article.id in owners, f"{article.id} has no story"
        placed.setdefault(TRUTH["documents"][key]["story"], set()).add(owners[article.id])
    for event, stories in placed.items():
        assert len(stories) == 1, f"{event} split over {len(stories)} stories"
    assert len({next(iter(s)) for s in placed.values()}) == len(TRUTH["stories"])
    assert len(live) == len(TRUTH["stories"])
    assert sum(r["stories_started"] for r in run.reports) == len(TRUTH["stories"])


def test_pages_answer_while_ingest_writes(run: Run) -> None:
    during = [(path, status) for path, status, running in run.requests if running]
    assert during, "no request was made while the workers ran"
    failed = [(path, status) for path, status in during if status != 200]
    errors = [line for line in run.server_log.splitlines() if "Error" in line][-5:]
    assert not failed, f"{failed[:5]}; server errors: {errors}"
    assert any(running == 2 for _, _, running in run.requests)
    # A story page was read while stories were still being written.
    assert any(path.startswith("/story/") for path, _ in during)
