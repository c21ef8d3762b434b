"""The SQLite store: round trips, versions, atomic batches, search, schema."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import factories
from newsloom.errors import StoreError
from newsloom.settings import Settings
from newsloom.store import SQLiteStore, Store, open_store
from newsloom.store import sqlite as sqlite_backend
from newsloom.store.migrations import Migration
from newsloom.types import Article, Citation, Failure, Repair

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def make_article(
    article_id: str = "a1b2c3d4e5f6",
    *,
    title: str | None = "Council approves new bridge",
    paragraphs: list[str] | None = None,
    published: datetime | None = T0,
    **changes: object,
) -> Article:
    fields: dict[str, object] = {
        "url": f"https://news.example/{article_id}",
        "canonical_url": f"https://news.example/c/{article_id}",
        "site_name": "Example News",
        "authors": ["Ada Writer"],
        "date_source": "meta",
    }
    fields.update(changes)
    return factories.make_article(
        article_id, title=title, paragraphs=paragraphs, published=published, **fields
    )


@pytest.fixture
def store(tmp_path: Path):
    with open_store(f"sqlite:///{tmp_path / 'news.db'}") as opened:
        yield opened


def snapshot(store: Store) -> tuple:
    articles = [a.to_dict() for a in store.iter_articles(order="stored", newest_first=False)]
    versions = {a["id"]: store.versions(a["id"]) for a in articles}
    return articles, versions


# -- records ---------------------------------------------------------------


def test_round_trip_keeps_every_field(store: Store) -> None:
    article = Article(
        id="f00dfeed0001",
        url="https://news.example/a?x=1",
        canonical_url="https://news.example/a",
        site_name="Example News",
        title="Ünïcode “title” — 東京",
        authors=["Ada Writer", "Bo Reporter"],
        published=datetime(2024, 5, 1, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2))),
        date_source="json-ld",
        language="de",
        paragraphs=["First paragraph.", "Zweiter Absatz mit Umlauten: äöü."],
        word_count=7,
        read_minutes=1,
        stated_read_minutes=4,
        stated_views=1234,
        citations=[
            Citation(kind="link", name="Wire", url="https://wire.example/x", text="Wire"),
            Citation(
                kind="reference",
                name="Wire",
                text="Doe, J. (2024). Bridge. Wire.",
                authors=["Doe, J."],
                date="2024",
                title="Bridge",
                publisher="Wire",
            ),
        ],
        repairs=[Repair(kind="encoding", detail="cp874 mojibake", count=3)],
        fetched_at=datetime(2024, 5, 2, 8, 0, tzinfo=UTC),
        raw_sha256="ab" * 32,
        source="/data/page.html",
        description="A short description.",
    )
    [result] = store.put_articles([article])
    assert result.status == "new" and result.version == 1
    loaded = store.get_article(article.id)
    assert loaded == article
    assert loaded.to_dict() == article.to_dict()
    assert loaded.published.utcoffset() == timedelta(hours=2)
    assert store.count_articles() == 1
    assert isinstance(store, Store)


def test_same_article_twice_is_stored_once(store: Store) -> None:
    article = make_article()
    assert store.put_articles([article])[0].status == "new"
    again = replace(article, fetched_at=T0 + timedelta(days=1), raw_sha256="ff" * 32)
    assert store.put_articles([again]) == [store.put_articles([article])[0]]
    assert store.put_articles([again])[0].status == "unchanged"
    assert store.count_articles() == 1
    assert len(store.versions(article.id)) == 1


def test_changed_content_makes_a_new_version(store: Store) -> None:
    first = make_article()
    second = replace(first, paragraphs=[*first.paragraphs, "Update: the vote was 7 to 2."])
    store.put_articles([first])
    [result] = store.put_articles([second])
    assert result.status == "updated" and result.version == 2
    assert store.count_articles() == 1
    assert store.get_article(first.id) == second
    versions = store.versions(first.id)
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].content_sha256 != versions[1].content_sha256
    assert versions[0].stored_at <= versions[1].stored_at
    assert versions[0].stored_at.tzinfo is not None
    # Title, authors and the date count as content too.
    for change in ({"title": "New title"}, {"authors": ["Other"]}, {"published": None}):
        assert store.put_articles([replace(second, **change)])[0].status == "updated"
    assert len(store.versions(first.id)) == 5


def test_duplicate_ids_in_one_batch_last_wins(store: Store) -> None:
    a = make_article("aaaaaa000001")
    b = make_article("bbbbbb000001")
    a2 = replace(a, title="Second take")
    results = store.put_articles([a, b, a2])
    assert [(r.article_id, r.status, r.version) for r in results] == [
        (a.id, "new", 1),
        (b.id, "new", 1),
    ]
    assert store.get_article(a.id).title == "Second take"
    assert len(store.versions(a.id)) == 1
    assert store.put_articles([]) == []


# -- atomicity ---------------------------------------------------------------


class ExplodingArticle(Article):
    __slots__ = ()

    def to_dict(self) -> dict:
        raise RuntimeError("cannot serialise")


def test_unserialisable_article_mid_batch_writes_nothing(store: Store) -> None:
    store.put_articles([make_article("keep00000001")])
    before = snapshot(store)
    bad = make_article("bad000000001", authors=[object()])
    batch = [make_article("new000000001"), bad, make_article("new000000002")]
    with pytest.raises(StoreError, match="nothing from this batch"):
        store.put_articles(batch)
    assert snapshot(store) == before

    base = make_article("boom00000001")
    exploding = ExplodingArticle(**{f.name: getattr(base, f.name) for f in fields(Article)})
    with pytest.raises(StoreError):
        store.put_articles([make_article("new000000003"), exploding])
    with pytest.raises(StoreError):
        store.put_articles([make_article("new000000004"), make_article("", title="no id")])
    assert snapshot(store) == before


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


# -- lookup and listing -------------------------------------------------------


def test_id_prefix_lookup(store: Store) -> None:
    store.put_articles([make_article("abc123def456"), make_article("abc123ff0000")])
    assert store.get_article("abc123d").id == "abc123def456"
    assert store.get_article("abc123def456").id == "abc123def456"
    assert [v.article_id for v in store.versions("abc123f")] == ["abc123ff0000"]
    assert store.get_article("abc12") is None  # too short for a prefix
    assert store.get_article("zzzzzzzz") is None
    assert store.get_article("") is None
    assert store.versions("nothing-here") == []
    with pytest.raises(StoreError, match="ambiguous"):
        store.get_article("abc123")


def test_iter_articles_orders_and_pages(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_backend, "PAGE_SIZE", 3)
    articles = [
        make_article(f"id{n:010d}", published=None if n % 4 == 0 else T0 + timedelta(days=n))
        for n in range(10)
    ]
    for article in articles:  # one batch each so stored_at grows
        store.put_articles([article])
    ids = [a.id for a in articles]

    assert [a.id for a in store.iter_articles(newest_first=False)] == ids
    assert [a.id for a in store.iter_articles()] == ids[::-1]
    assert [a.id for a in store.iter_articles(limit=4, offset=2)] == ids[::-1][2:6]
    assert list(store.iter_articles(limit=0)) == []

    dated = sorted((a for a in articles if a.published), key=lambda a: a.published)
    undated = [a.id for a in articles if a.published is None]
    newest = [a.id for a in store.iter_articles(order="published")]
    assert newest[: len(dated)] == [a.id for a in reversed(dated)]
    assert sorted(newest[len(dated) :]) == sorted(undated)
    oldest = [a.id for a in store.iter_articles(order="published", newest_first=False)]
    assert oldest[: len(dated)] == [a.id for a in dated]

    with pytest.raises(StoreError):
        store.iter_articles(order="random")  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        store.iter_articles(offset=-1)


def test_failures_are_recorded_per_run(store: Store) -> None:
    store.record_failures(
        [Failure("a.html", "no text"), Failure("b", "404", "FetchError")], run_id="r1"
    )
    store.record_failures([Failure("c.warc", "truncated")], run_id="r2")
    store.record_failures([], run_id="r3")
    assert store.failures(run_id="r1") == [
        Failure("a.html", "no text"),
        Failure("b", "404", "FetchError"),
    ]
    assert [f.source for f in store.failures()] == ["a.html", "b", "c.warc"]
    assert store.failures(run_id="nope") == []
    with pytest.raises(StoreError):
        store.record_failures([Failure("x", "y")], run_id="")


# -- search ------------------------------------------------------------------


def test_search_by_title_and_body(store: Store) -> None:
    store.put_articles(
        [
            make_article("bridge000001", title="Bridge vote passes"),
            make_article(
                "weather00001",
                title="Storm warning",
                paragraphs=["Heavy rain expected; the bridge may close for a day."],
            ),
            make_article("sports000001", title="Local team wins", paragraphs=["A 3-1 win."]),
        ]
    )
    hits = store.search("bridge")
    assert [h.article.id for h in hits] == ["bridge000001", "weather00001"]
    assert hits[0].score > hits[1].score  # a title match outranks a body match
    assert "[bridge]" in hits[1].snippet and "<" not in hits[1].snippet
    assert "\n" not in hits[0].snippet

    assert [h.article.id for h in store.search("heavy RAIN")] == ["weather00001"]
    assert store.search("rain team") == []  # every word must match
    assert [h.article.id for h in store.search("stor")] == ["weather00001"]  # typing prefix
    assert store.search("stor ") == []  # a finished word is matched whole
    assert [h.article.id for h in store.search("bridge", limit=1, offset=1)] == ["weather00001"]
    assert store.search("bridge", limit=0) == []


def test_search_follows_updates(store: Store) -> None:
    article = make_article(title="Original headline")
    store.put_articles([article])
    store.put_articles([replace(article, title="Corrected headline")])
    assert store.search("original") == []
    assert [h.article.title for h in store.search("corrected")] == ["Corrected headline"]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        '"',
        '""',
        "'",
        "AND OR NOT",
        "NOT",
        "*",
        "bridge*",
        "title:x",
        "text:bridge",
        "(((",
        ")))",
        "NEAR(bridge council)",
        "bridge NEAR council",
        "^bridge",
        "-bridge",
        "bridge OR",
        "{title}: bridge",
        "\x00",
        "‿_‿",
        "x" * 100_000,
        "bridge " * 5_000,
        "!@#$%^&*()[]{};:,./<>?\\|`~",
        "ünïcödé 東京 مرحبا",
    ],
)
def test_search_survives_hostile_queries(store: Store, query: str) -> None:
    store.put_articles([make_article()])
    hits = store.search(query)
    assert isinstance(hits, list)
    if query.strip(" !@#$%^&*()[]{};:,./<>?\\|`~'\"\x00‿_") == "":
        assert hits == []


def test_search_treats_operators_as_words(store: Store) -> None:
    store.put_articles(
        [
            make_article("ops000000001", title="Why NOT vote AND win"),
            make_article("plain0000001", title="Vote tally"),
        ]
    )
    assert [h.article.id for h in store.search("NOT vote")] == ["ops000000001"]
    assert [h.article.id for h in store.search("title:tally")] == []  # "title" is a word too
    assert {h.article.id for h in store.search("vote")} == {"ops000000001", "plain0000001"}


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

    with pytest.raises(StoreError, match="PostgreSQL support arrives in a later release"):
        open_store("postgresql://user@localhost/news")
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


def test_closed_store_raises(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "news.db"))
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(StoreError, match="closed"):
        store.count_articles()


# -- concurrency ---------------------------------------------------------------


def test_reader_sees_whole_batches_while_a_writer_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'news.db'}"
    batches, size = 25, 8
    errors: list[BaseException] = []
    seen: list[int] = []

    def write() -> None:
        try:
            with open_store(url) as writer:
                for b in range(batches):
                    writer.put_articles([make_article(f"w{b:04d}{i:07d}") for i in range(size)])
        except BaseException as exc:
            errors.append(exc)

    with open_store(url) as reader:
        thread = threading.Thread(target=write)
        thread.start()
        while thread.is_alive():
            seen.append(reader.count_articles())
            reader.search("bridge", limit=5)
            list(reader.iter_articles(limit=20))
        thread.join()
        seen.append(reader.count_articles())
    assert not errors
    assert all(n % size == 0 for n in seen)  # never half a batch
    assert seen == sorted(seen)
    assert seen[-1] == batches * size


def test_two_writers_wait_for_each_other(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'news.db'}"
    open_store(url).close()  # migrate once up front
    errors: list[BaseException] = []

    def write(tag: str) -> None:
        try:
            with open_store(url) as writer:
                for b in range(20):
                    writer.put_articles([make_article(f"{tag}{b:04d}{i:06d}") for i in range(5)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(tag,)) for tag in ("aa", "bb")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with open_store(url) as store:
        assert store.count_articles() == 200


def test_one_store_shared_between_threads(store: Store) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for b in range(10):
                store.put_articles([make_article(f"t{n}{b:04d}xxxxxx")])
                store.search("council")
                store.count_articles()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.count_articles() == 40
