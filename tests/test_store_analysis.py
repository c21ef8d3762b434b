"""SQLite-only analysis checks: upgrading an old file, the view table's columns.

The queue, the rows and their lifetime are in store_contract.py.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from newsloom.store import open_store
from newsloom.store.sqlite import MIGRATIONS
from test_cluster import BRIDGE, FLOOD


def _store(tmp_path: Path):
    return open_store(f"sqlite:///{tmp_path / 'news.db'}")


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


def test_view_table_keeps_nothing_about_the_reader(tmp_path: Path) -> None:
    with _store(tmp_path) as store:
        store.count_view("article", "a1")
    conn = sqlite3.connect(tmp_path / "news.db")
    columns = [r[1] for r in conn.execute("PRAGMA table_info(page_views)")]
    assert columns == ["kind", "item_id", "day", "count"]
