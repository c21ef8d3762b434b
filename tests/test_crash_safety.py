"""Crash safety: ``newsloom ingest`` killed with SIGKILL and resumed loses nothing.

The short version of ``make reliability`` (reliability/crash.py): a few hundred
pages, three kills at seeded random moments, real subprocesses running the
real CLI with small stand-in models.  The checker itself is proven on stores
with planted faults: a lost article, a copied one, an id stored twice, an
article moved to another story, an orphan row and a re-queued analysis.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
from dataclasses import replace
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from reliability.checks import (  # noqa: E402
    Snapshot,
    compare,
    integrity_problems,
    kill_time_problems,
    read_snapshot,
)
from reliability.crash import Outcome, run_harness  # noqa: E402

from newsloom.store import open_store  # noqa: E402


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> tuple[Outcome, Path]:
    workdir = tmp_path_factory.mktemp("crash")
    outcome = run_harness(300, 3, seed=11, workdir=workdir, models="light")
    return outcome, workdir


@pytest.fixture(scope="module")
def reference(crashed: tuple[Outcome, Path]) -> Snapshot:
    return read_snapshot(f"sqlite:///{crashed[1] / 'reference.db'}")


def _copy_of_resumed(crashed: tuple[Outcome, Path], tmp_path: Path) -> str:
    target = tmp_path / "planted.db"
    for suffix in ("", "-wal"):  # the log too, should a checkpoint be pending
        source = crashed[1] / f"resumed.db{suffix}"
        if source.exists():
            shutil.copy(source, tmp_path / f"planted.db{suffix}")
    return f"sqlite:///{target}"


def test_killed_and_resumed_ingest_equals_the_uninterrupted_run(
    crashed: tuple[Outcome, Path],
) -> None:
    outcome, _ = crashed
    assert outcome.reference_articles >= 300
    assert len(outcome.rounds) == 3
    assert any(r.killed for r in outcome.rounds)
    for r in outcome.rounds:
        assert r.problems == [], f"round {r.number}"
    assert outcome.problems == []
    assert outcome.ok


def test_the_resumed_store_reads_as_the_reference(
    crashed: tuple[Outcome, Path], reference: Snapshot
) -> None:
    resumed = read_snapshot(f"sqlite:///{crashed[1] / 'resumed.db'}")
    assert compare(reference, resumed) == []
    assert resumed.story_partition() == reference.story_partition()
    assert len(reference.stories) > 10
    # Copies were found: some duplicate group has several articles.
    assert any(len(group) > 1 for group in reference.duplicate_partition())


def test_checker_finds_a_lost_article(
    crashed: tuple[Outcome, Path], reference: Snapshot, tmp_path: Path
) -> None:
    url = _copy_of_resumed(crashed, tmp_path)
    victim = reference.article_ids[len(reference.article_ids) // 2]
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    with conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("DELETE FROM articles WHERE id = ?", (victim,))
    conn.close()
    problems = compare(reference, read_snapshot(url))
    assert any("1 article(s) lost" in p and victim in p for p in problems)
    # Its story changed too.
    assert any("stories differ" in p for p in problems)


def test_checker_finds_a_duplicated_article(
    crashed: tuple[Outcome, Path], reference: Snapshot, tmp_path: Path
) -> None:
    url = _copy_of_resumed(crashed, tmp_path)
    with open_store(url) as store:
        original = store.get_article(reference.article_ids[0])
        assert original is not None
        store.put_articles([replace(original, id="f" * 16, url="https://copy.example/x")])
    found = read_snapshot(url)
    problems = compare(reference, found)
    assert any("1 duplicated article(s) by content" in p for p in problems)
    assert any("never stored" in p for p in problems)
    assert any("without a duplicate record" in p for p in problems)
    assert any("without a story" in p for p in problems)
    # The same holds for a store inspected right after a kill.
    assert any("duplicated" in p for p in kill_time_problems(reference, found))


def test_checker_finds_an_id_stored_twice(reference: Snapshot) -> None:
    doubled = replace(reference, article_ids=[*reference.article_ids, reference.article_ids[0]])
    assert any("stored twice" in p for p in compare(reference, doubled))


def test_checker_finds_an_article_in_another_story(
    crashed: tuple[Outcome, Path], reference: Snapshot, tmp_path: Path
) -> None:
    url = _copy_of_resumed(crashed, tmp_path)
    big = max(reference.stories.values(), key=len)
    mover = sorted(big)[0]
    other = next(s for s, members in sorted(reference.stories.items()) if mover not in members)
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    with conn:
        conn.execute("UPDATE story_members SET story_id = ? WHERE article_id = ?", (other, mover))
    conn.close()
    problems = compare(reference, read_snapshot(url))
    assert any("stories differ as partitions" in p for p in problems)


def test_checker_finds_a_broken_reference_and_pending_analysis(
    crashed: tuple[Outcome, Path], reference: Snapshot, tmp_path: Path
) -> None:
    url = _copy_of_resumed(crashed, tmp_path)
    assert integrity_problems(url) == []
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    with conn:
        # foreign_keys is off on this plain connection, so the orphan goes in.
        conn.execute(
            "INSERT INTO article_versions (article_id, version, content_sha256, stored_at, data)"
            " VALUES ('no-such-article', 1, '', '2026-01-01', '{}')"
        )
        story = sorted(s for s, members in reference.stories.items() if len(members) > 1)[0]
        conn.execute("INSERT INTO pending_analysis (story_id) VALUES (?)", (story,))
    conn.close()
    assert any("foreign_key_check" in p for p in integrity_problems(url))
    assert any("analyses still queued" in p for p in compare(reference, read_snapshot(url)))


def test_every_unplaced_article_gets_its_story_on_the_next_run(tmp_path: Path) -> None:
    """Runs whose clustering failed can leave more unplaced articles than the
    store hands out at once: the next ingest places them all, not one page."""
    from reliability.light_models import HashEmbedder, light_entities

    from factories import make_article
    from newsloom.cluster import Featurizer
    from newsloom.features.terms import tokenize
    from newsloom.pipeline import Pipeline

    featurizer = Featurizer(
        embed=HashEmbedder().embed,
        entities=light_entities,
        tokens=tokenize,
        lead=lambda a: " ".join([a.title or "", *a.paragraphs[:2]]),
    )
    topics = ["Harbour crane collapse", "Library reopening", "Tram strike talks"]
    articles = [
        make_article(
            f"{n:016x}",
            title=f"{topics[n % 3]} update {n}",
            paragraphs=[f"Report {n} on the {topics[n % 3].lower()} in Marrowby."],
        )
        for n in range(30)
    ]
    with open_store(f"sqlite:///{tmp_path / 'unplaced.db'}") as store:
        store.put_articles(articles)  # stored with no story, as after failed clustering
        page_size = 7
        fetch = store.articles_without_story
        store.articles_without_story = lambda limit=page_size: fetch(limit=limit)  # type: ignore[method-assign]
        assert len(store.articles_without_story()) == page_size

        report = Pipeline(store, featurizer=featurizer, analyse=False).ingest_pages([])

        assert report.failures == []
        assert fetch() == []
        placed = store.stories_of([a.id for a in articles])
        assert sorted(placed) == sorted(a.id for a in articles)
        assert report.stories_started + report.stories_joined == len(articles)
