"""SQLite-only store checks: file URLs, PRAGMAs, migrations of a file, foreign files.

What every backend must do is in store_contract.py (run by test_store_contract.py).
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from newsloom.errors import StoreError
from newsloom.settings import Settings
from newsloom.store import SQLiteStore, open_store
from newsloom.store import sqlite as sqlite_backend
from newsloom.store.migrations import Migration
from store_contract import make_article, snapshot


@pytest.fixture
def store(tmp_path: Path):
    with open_store(f"sqlite:///{tmp_path / 'news.db'}") as opened:
        yield opened


# -- atomicity ---------------------------------------------------------------


def test_database_failure_mid_batch_rolls_back(store: SQLiteStore) -> None:
    kept = make_article("keep00000001")
    store.put_articles([kept])
    before = snapshot(store)
    # A temporary trigger makes the third write fail inside the transaction,
    # after the first two rows (one update, one insert) were already written.
    store._conn.execute(
        "CREATE TEMP TRIGGER fail_on_boom BEFORE INSERT ON articles "
        "WHEN new.id = 'boom00000001' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
    )
    batch = [
        replace(kept, title="Changed title"),
        make_article("new000000001"),
        make_article("boom00000001"),
    ]
    with pytest.raises(StoreError, match="disk on fire"):
        store.put_articles(batch)
    assert snapshot(store) == before
    assert store.search("Changed") == []
    store._conn.execute("DROP TRIGGER temp.fail_on_boom")
    assert [r.status for r in store.put_articles(batch)] == ["updated", "new", "new"]


# -- opening, schema, files ----------------------------------------------------


def test_open_store_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///rel/dir/news.db") as s:
        s.put_articles([make_article()])
    assert (tmp_path / "rel" / "dir" / "news.db").is_file()

    absolute = tmp_path / "abs" / "x.db"
    with open_store(f"sqlite:///{absolute}") as s:  # "sqlite:////tmp/…" after formatting
        assert s.url.startswith("sqlite:////")
    assert absolute.is_file()
    with open_store(str(tmp_path / "bare.db")) as s, open_store(tmp_path / "bare.db") as t:
        s.put_articles([make_article()])
        assert t.count_articles() == 1

    with open_store("sqlite://:memory:") as s:
        s.put_articles([make_article()])
        assert s.count_articles() == 1
    with open_store(":memory:") as s:
        assert s.count_articles() == 0

    with open_store(settings=Settings(store="sqlite:///from-settings.db")) as s:
        assert s.schema_version() >= 1
    assert (tmp_path / "from-settings.db").is_file()
    monkeypatch.setenv("NEWSLOOM_STORE", "sqlite:///from-env.db")
    with open_store():
        pass
    assert (tmp_path / "from-env.db").is_file()

    # A PostgreSQL URL goes to the PostgreSQL backend (tests/postgres); with
    # nothing listening the error names the server, never the password.
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL") as refused:
        open_store("postgresql://user:secret@127.0.0.1:1/news")
    assert "secret" not in str(refused.value) and "user:***@127.0.0.1:1" in str(refused.value)
    with pytest.raises(StoreError, match="scheme"):
        open_store("mysql://localhost/news")
    with pytest.raises(StoreError):
        open_store("sqlite://relative.db")
    with pytest.raises(StoreError):
        open_store("")
    with pytest.raises(StoreError, match="folder"):
        open_store(str(tmp_path))


def test_sqlite_settings_are_applied(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    with open_store(str(path)) as store:
        conn = store._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    # WAL is a property of the file, seen by any other client too.
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()


def test_fresh_database_is_migrated_and_reopens(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    path.touch()  # an empty file is an empty SQLite database
    latest = SQLiteStore.latest_schema_version()
    with open_store(str(path)) as store:
        assert store.schema_version() == latest
        store.put_articles([make_article()])
    with open_store(str(path)) as store:
        assert store.schema_version() == latest
        assert store.get_article(make_article().id) == make_article()
        assert store.search("bridge")


def test_new_migration_step_is_applied_once_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "news.db"
    with open_store(str(path)) as store:
        store.put_articles([make_article()])
        start = store.schema_version()
    extra = Migration(
        version=start + 1,
        description="test table",
        statements=("CREATE TABLE extra (x INTEGER)", "INSERT INTO extra VALUES (42)"),
    )
    monkeypatch.setattr(sqlite_backend, "MIGRATIONS", (*sqlite_backend.MIGRATIONS, extra))
    for _ in range(2):  # the second open must not re-run the step
        with open_store(str(path)) as store:
            assert store.schema_version() == start + 1
            assert [r[0] for r in store._conn.execute("SELECT x FROM extra")] == [42]
            assert store.count_articles() == 1


def test_failed_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "news.db"
    with open_store(str(path)) as store:
        store.put_articles([make_article()])
        start = store.schema_version()
    broken = Migration(
        version=start + 1,
        description="half-broken step",
        statements=("CREATE TABLE half (x INTEGER)", "THIS IS NOT SQL"),
    )
    monkeypatch.setattr(sqlite_backend, "MIGRATIONS", (*sqlite_backend.MIGRATIONS, broken))
    with pytest.raises(StoreError, match="migrating"):
        open_store(str(path))
    monkeypatch.undo()
    with open_store(str(path)) as store:
        assert store.schema_version() == start
        assert store.count_articles() == 1
        assert (
            store._conn.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchall()
            == []
        )


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    with open_store(str(path)) as store:
        store.put_articles([make_article()])
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 999")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="newer than this newsloom supports"):
        open_store(str(path))


def test_not_a_database_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(StoreError, match="not a newsloom/SQLite database"):
        open_store(str(text))
    assert text.read_text().startswith("these are my notes")

    foreign = tmp_path / "other-app.db"
    raw = sqlite3.connect(foreign)
    raw.execute("CREATE TABLE contacts (name TEXT)")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="not a newsloom database"):
        open_store(str(foreign))
