"""Stories kept in the SQLite store: placement, restart, rebuild, reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsloom.cluster import cluster_stored, recluster
from newsloom.store import open_store
from test_cluster import BRIDGE, FAKE, FLOOD


def _store(tmp_path: Path):
    return open_store(f"sqlite:///{tmp_path / 'news.db'}")


def test_stored_articles_get_stories_with_reasons(tmp_path: Path) -> None:
    with _store(tmp_path) as store:
        store.put_articles([*BRIDGE, *FLOOD])
        decisions = cluster_stored(store, [a.id for a in [*BRIDGE, *FLOOD]], featurizer=FAKE)
        assert len(decisions) == 5
        assert store.count_stories() == 2
        bridge_story = store.get_story(decisions[0].story_id)
        assert bridge_story is not None
        assert bridge_story.article_ids == [a.id for a in BRIDGE]
        members = store.story_members(bridge_story.id)
        assert members[0].reasons["new_story"] is True
        assert members[1].reasons["score"] >= 0.4 and members[1].reasons["shared_entities"]
        assert store.get_story(bridge_story.id[:8]).id == bridge_story.id


def test_restart_continues_from_the_stored_index(tmp_path: Path) -> None:
    with _store(tmp_path) as store:
        store.put_articles([BRIDGE[0], FLOOD[0]])
        first = cluster_stored(store, [BRIDGE[0].id, FLOOD[0].id], featurizer=FAKE)
    with _store(tmp_path) as store:  # a new process would see the same files
        store.put_articles([BRIDGE[1], FLOOD[1]])
        later = cluster_stored(store, [BRIDGE[1].id, FLOOD[1].id], featurizer=FAKE)
        assert later[0].story_id == first[0].story_id
        assert later[1].story_id == first[1].story_id
        # Already placed articles are not placed twice.
        assert cluster_stored(store, [BRIDGE[0].id], featurizer=FAKE) == []
        assert store.articles_without_story() == []


def test_recluster_gives_the_same_stories(tmp_path: Path) -> None:
    stream = [BRIDGE[0], FLOOD[0], BRIDGE[1], FLOOD[1], BRIDGE[2]]
    with _store(tmp_path) as store:
        store.put_articles(stream)
        cluster_stored(store, [a.id for a in stream], featurizer=FAKE)
        before = store.stories_of([a.id for a in stream])
        recluster(store, featurizer=FAKE)
        assert store.stories_of([a.id for a in stream]) == before
        assert store.count_stories() == 2


def test_a_failed_batch_leaves_stories_untouched(tmp_path: Path) -> None:
    def broken_entities(texts):
        raise RuntimeError("model failed")

    broken = type(FAKE)(FAKE.embed, broken_entities, FAKE.tokens, FAKE.lead)
    with _store(tmp_path) as store:
        store.put_articles(BRIDGE)
        cluster_stored(store, [BRIDGE[0].id], featurizer=FAKE)
        with pytest.raises(RuntimeError):
            cluster_stored(store, [BRIDGE[1].id, BRIDGE[2].id], featurizer=broken)
        assert store.stories_of([a.id for a in BRIDGE]) == {
            BRIDGE[0].id: store.stories_of([BRIDGE[0].id])[BRIDGE[0].id]
        }
        assert sorted(store.articles_without_story()) == sorted([BRIDGE[1].id, BRIDGE[2].id])
