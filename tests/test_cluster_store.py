"""SQLite-only story checks: key rows per day, upgrading a version 6 file, a lost placement race.

Placement, restart, rebuild and reasons are in store_contract.py.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from newsloom.cluster import cluster_stored, recluster
from newsloom.errors import PlacementConflictError
from newsloom.store import open_store
from newsloom.store.sqlite import MIGRATIONS
from newsloom.store.sqlite_stories import _day
from test_cluster import BRIDGE, FAKE, FLOOD, art
from test_lsh_levels import downgrade_lsh_to_version_7


def _store(tmp_path: Path):
    return open_store(f"sqlite:///{tmp_path / 'news.db'}")


def _later(article, ident: str, hours: float):
    """A same-story article ``hours`` after T0, with its own id."""
    return art(ident, article.title, article.paragraphs[0], hours=hours)


def _days_stream():
    undated = art("u1", BRIDGE[0].title, BRIDGE[0].paragraphs[0])
    undated.published = None
    return [
        BRIDGE[0], FLOOD[0], BRIDGE[1], FLOOD[1], undated, BRIDGE[2],
        _later(FLOOD[1], "f3", 50),  # a third day for the flood story
        _later(BRIDGE[0], "b7", 24 * 30),  # the bridge story went quiet: a new story
        _later(FLOOD[0], "f9", 24 * 30 + 2),
    ]  # fmt: skip


def test_story_keys_are_written_once_a_day(tmp_path: Path) -> None:
    with _store(tmp_path) as store:
        store.put_articles(FLOOD)
        cluster_stored(store, [FLOOD[0].id], featurizer=FAKE)
        cluster_stored(store, [FLOOD[1].id], featurizer=FAKE)  # same day, a later batch
        story_id = store.stories_of([FLOOD[0].id])[FLOOD[0].id]
        later = _later(FLOOD[1], "f3", 50)
        store.put_articles([later])
        cluster_stored(store, [later.id], featurizer=FAKE)
        assert store.stories_of([later.id])[later.id] == story_id
        with store._reading("test") as conn:
            keys = json.loads(
                conn.execute("SELECT keys FROM stories WHERE id = ?", (story_id,)).fetchone()[0]
            )
            rows = conn.execute(
                "SELECT day, COUNT(*) FROM story_key_days WHERE story_id = ? GROUP BY day"
                " ORDER BY day",
                (story_id,),
            ).fetchall()
    # Each key once per day the story was updated on; the latest day has all keys.
    assert [tuple(r) for r in rows][-1] == (_day(later.published), len(keys))
    assert len(rows) == 2 and rows[0][1] <= len(keys)


def test_upgrading_a_version_6_store_keeps_its_stories(tmp_path: Path) -> None:
    stream = _days_stream()
    half = 5
    with _store(tmp_path / "new") as store:  # the reference, on the current schema
        store.put_articles(stream)
        cluster_stored(store, [a.id for a in stream[:half]], featurizer=FAKE)
        cluster_stored(store, [a.id for a in stream[half:]], featurizer=FAKE)
        expected = store.stories_of([a.id for a in stream])
    with _store(tmp_path) as store:
        store.put_articles(stream)
        cluster_stored(store, [a.id for a in stream[:half]], featurizer=FAKE)
    # Turn the file into what version 6 wrote: keys under each story's exact update time.
    conn = sqlite3.connect(tmp_path / "news.db")
    conn.executescript(
        """
        DROP TABLE story_key_days;
        CREATE TABLE story_keys (
            key TEXT NOT NULL, updated TEXT NOT NULL, story_id TEXT NOT NULL,
            PRIMARY KEY (key, updated, story_id)
        ) WITHOUT ROWID;
        CREATE INDEX story_keys_story ON story_keys (story_id);
        INSERT INTO story_keys SELECT j.value, s.updated, s.id
            FROM stories AS s, json_each(s.keys) AS j WHERE s.merged_into IS NULL;
        """
    )
    downgrade_lsh_to_version_7(conn)
    old_rows = conn.execute("SELECT COUNT(*) FROM story_keys").fetchone()[0]
    conn.execute(f"PRAGMA user_version = {MIGRATIONS[5].version}")
    conn.commit()
    conn.close()
    assert old_rows > 0
    with _store(tmp_path) as store:
        assert store.schema_version() == MIGRATIONS[-1].version
        with store._reading("test") as conn:
            assert conn.execute("SELECT COUNT(*) FROM story_key_days").fetchone()[0] == old_rows
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "story_keys" not in names
        cluster_stored(store, [a.id for a in stream[half:]], featurizer=FAKE)
        assert store.stories_of([a.id for a in stream]) == expected
        before = store.stories_of([a.id for a in stream])
        recluster(store, featurizer=FAKE)
        assert store.stories_of([a.id for a in stream]) == before


class _RivalIndex:
    """A story index whose first commit finds that another worker placed one of
    its articles meanwhile, as the PostgreSQL store reports it."""

    def __init__(self, index, rival) -> None:
        self._index = index
        self._rival = rival

    def __getattr__(self, name: str):
        return getattr(self._index, name)

    def flush(self) -> None:
        if self._rival is None:
            return self._index.flush()
        rival, self._rival = self._rival, None
        self._index.discard()
        rival()
        raise PlacementConflictError("another worker placed an article of this batch")


def test_a_batch_refused_after_another_worker_placed_an_article_is_placed_again(
    tmp_path: Path, monkeypatch
) -> None:
    mine, other = _store(tmp_path), _store(tmp_path)
    articles = [*BRIDGE, *FLOOD]
    mine.put_articles(articles)
    taken = FLOOD[0].id

    def rival() -> None:  # the other worker places one of the batch's articles first
        cluster_stored(other, [taken], featurizer=FAKE)

    opened = mine.story_index
    monkeypatch.setattr(mine, "story_index", lambda: _RivalIndex(opened(), rival))
    decisions = cluster_stored(mine, [a.id for a in articles], featurizer=FAKE)

    # Every article has a story, the rival's article was not placed twice, and
    # the stories are the ones the two events make.
    assert {d.article_id for d in decisions} == {a.id for a in articles} - {taken}
    owners = mine.stories_of([a.id for a in articles])
    assert set(owners) == {a.id for a in articles}
    assert len({owners[a.id] for a in BRIDGE}) == 1
    assert len({owners[a.id] for a in FLOOD}) == 1
    assert owners[BRIDGE[0].id] != owners[FLOOD[0].id]
    assert mine.count_stories() == 2
    mine.close()
    other.close()


def test_a_worker_that_keeps_losing_the_race_gives_up_with_the_error(
    tmp_path: Path, monkeypatch
) -> None:
    store = _store(tmp_path)
    store.put_articles(BRIDGE)

    class Refusing(_RivalIndex):
        def flush(self) -> None:
            self._index.discard()
            raise PlacementConflictError("another worker placed an article of this batch")

    opened = store.story_index
    monkeypatch.setattr(store, "story_index", lambda: Refusing(opened(), None))
    with pytest.raises(PlacementConflictError):
        cluster_stored(store, [a.id for a in BRIDGE], featurizer=FAKE)
    assert store.stories_of([a.id for a in BRIDGE]) == {}
    store.close()
