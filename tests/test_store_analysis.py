"""Story analysis kept in the SQLite store: the queue, the rows, and their lifetime."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from newsloom.cluster import cluster_stored, recluster
from newsloom.store import open_store
from newsloom.store.sqlite import MIGRATIONS
from newsloom.types import Conflict, ConflictSide, Passage, Provenance
from test_cluster import BRIDGE, FAKE, FLOOD


def _store(tmp_path: Path):
    return open_store(f"sqlite:///{tmp_path / 'news.db'}")


def _edge(derived: str, source: str) -> Provenance:
    passage = Passage(0, 10, 5, 15, "shared bit", "shared bit", 0.97, "verbatim")
    return Provenance(derived, source, "near_copy", 0.9, True, [passage], True, {"coverage": 0.8})


def _conflict(a: str, b: str, story_id: str) -> Conflict:
    return Conflict(
        "number",
        ConflictSide(a, "About 120 people left.", 0, 22),
        ConflictSide(b, "Around 150 people left.", 40, 63),
        "120 against 150 people",
        0.8,
        story_id,
    )


def _clustered(store) -> str:
    store.put_articles([*BRIDGE, *FLOOD])
    decisions = cluster_stored(store, [a.id for a in [*BRIDGE, *FLOOD]], featurizer=FAKE)
    return decisions[0].story_id


def test_new_members_queue_their_story_and_saving_clears_it(tmp_path: Path) -> None:
    with _store(tmp_path) as store:
        bridge = _clustered(store)
        queued = store.stories_to_analyse()
        assert bridge in queued and len(queued) == 2
        store.put_story_analysis(
            bridge,
            [_edge(BRIDGE[1].id, BRIDGE[0].id)],
            [_conflict(BRIDGE[0].id, BRIDGE[1].id, bridge)],
            members=3,
        )
        assert bridge not in store.stories_to_analyse()
        (edge,) = store.story_provenance(bridge)
        assert (edge.derived_id, edge.source_id, edge.relation) == (
            BRIDGE[1].id,
            BRIDGE[0].id,
            "near_copy",
        )
        assert edge.attributed and edge.spans[0].a_text == "shared bit"
        assert edge.evidence == {"coverage": 0.8}
        (conflict,) = store.story_conflicts(bridge)
        assert conflict.a.sentence == "About 120 people left."
        assert (conflict.b.start, conflict.b.end) == (40, 63)
        assert store.story_analysed_at(bridge) is not None


def test_saving_again_replaces_the_previous_analysis(tmp_path: Path) -> None:
    with _store(tmp_path) as store:
        bridge = _clustered(store)
        store.put_story_analysis(
            bridge, [_edge(BRIDGE[1].id, BRIDGE[0].id)], [_conflict("x", "y", bridge)], members=3
        )
        store.put_story_analysis(bridge, [], [], members=3)
        assert store.story_provenance(bridge) == []
        assert store.story_conflicts(bridge) == []


def test_a_changed_article_requeues_its_story(tmp_path: Path) -> None:
    with _store(tmp_path) as store:
        bridge = _clustered(store)
        for story_id in store.stories_to_analyse():
            store.put_story_analysis(story_id, [], [], members=0)
        assert store.stories_to_analyse() == []
        changed = BRIDGE[1]
        changed.paragraphs = [*changed.paragraphs, "A correction was added later."]
        store.put_articles([changed])
        assert store.stories_to_analyse() == [bridge]


def test_recluster_drops_the_old_analysis_and_queues_the_new_stories(tmp_path: Path) -> None:
    with _store(tmp_path) as store:
        bridge = _clustered(store)
        store.put_story_analysis(bridge, [_edge(BRIDGE[1].id, BRIDGE[0].id)], [], members=3)
        recluster(store, featurizer=FAKE)
        survivors = {store.stories_of([BRIDGE[0].id])[BRIDGE[0].id]}
        assert set(store.stories_to_analyse()) >= survivors
        # The rebuild deletes every story, and each story's analysis with it.
        assert store.story_provenance(bridge) == []


def test_upgrading_a_version_4_store_queues_existing_stories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import newsloom.store.sqlite as backend

    path = tmp_path / "old.db"
    # A store as newsloom wrote it before story analysis existed (schema 4).
    monkeypatch.setattr(backend, "MIGRATIONS", MIGRATIONS[:4])
    with open_store(f"sqlite:///{path}") as store:
        store.put_articles([*BRIDGE, *FLOOD])
    conn = sqlite3.connect(path)
    for story, members in (("s-bridge", BRIDGE), ("s-flood", FLOOD), ("s-single", FLOOD[:1])):
        conn.execute(
            "INSERT INTO stories VALUES (?, 't', '2026-03-01', '2026-03-02', ?, x'', '{}',"
            " '{}', '[]', NULL)",
            (story, len(members)),
        )
    for seq, article in enumerate([*BRIDGE, *FLOOD], 1):
        story = "s-bridge" if article in BRIDGE else "s-flood"
        conn.execute(
            "INSERT INTO story_members VALUES (?, ?, ?, NULL, '{}')", (article.id, story, seq)
        )
    conn.commit()
    conn.close()
    monkeypatch.undo()
    with open_store(f"sqlite:///{path}") as store:
        assert store.schema_version() == MIGRATIONS[-1].version
        # Stories of two or more articles need their first analysis.
        assert sorted(store.stories_to_analyse()) == ["s-bridge", "s-flood"]


def test_a_story_summary_is_saved_with_its_analysis_and_replaced_by_the_next(
    tmp_path: Path,
) -> None:
    from newsloom.types import StorySummary, SummarySentence

    with _store(tmp_path) as store:
        bridge = _clustered(store)
        text = BRIDGE[0].text
        first = SummarySentence(text[:20], BRIDGE[0].id, 0, 20)
        summary = StorySummary(bridge, summary=[first], key_points=[first], timeline=[first])
        store.put_story_analysis(bridge, [], [], members=3, summary=summary)
        assert store.story_summary(bridge) == summary
        store.put_story_analysis(bridge, [], [], members=3)
        assert store.story_summary(bridge) is None
        store.put_story_analysis(bridge, [], [], members=3, summary=summary)
        recluster(store, featurizer=FAKE)
        assert store.story_summary(bridge) is None  # rebuilt stories are summarised afresh


def test_views_are_counted_per_page_without_anything_about_the_reader(tmp_path: Path) -> None:
    from datetime import date

    with _store(tmp_path) as store:
        for _ in range(3):
            store.count_view("article", "a1")
        store.count_view("article", "a1", day=date(2026, 3, 1))
        store.count_view("story", "a1")
        assert store.views("article", "a1") == 4
        assert store.views("story", "a1") == 1
        assert store.views("article", "unknown") == 0
    conn = sqlite3.connect(tmp_path / "news.db")
    columns = [r[1] for r in conn.execute("PRAGMA table_info(page_views)")]
    assert columns == ["kind", "item_id", "day", "count"]
