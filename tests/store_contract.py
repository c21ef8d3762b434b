"""The ``Store`` contract: what every backend must do, as a user notices it.

Backend-neutral test functions; a test module collects them with
``from store_contract import *`` and provides two fixtures:

* ``store_url``: the URL of a fresh, empty database for one test;
* ``store``: a store opened on ``store_url``.

``tests/test_store_contract.py`` runs them on SQLite (default offline run),
``tests/postgres/test_store_contract_postgres.py`` on PostgreSQL.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

import factories
from newsloom.cluster import cluster_stored, cluster_stream, recluster
from newsloom.errors import StoreError
from newsloom.pipeline import Pipeline
from newsloom.store import Store, open_store
from newsloom.types import (
    Article,
    Citation,
    Conflict,
    ConflictSide,
    Failure,
    Page,
    Passage,
    Provenance,
    Repair,
    StorySummary,
    SummarySentence,
)
from test_cluster import BRIDGE, CHAINING, FAKE, FLOOD, TWO_GROUPS, art, two_group_stream

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def make_article(
    article_id: str = "a1b2c3d4e5f6",
    *,
    title: str | None = "Council approves new bridge",
    paragraphs: list[str] | None = None,
    published: datetime | None = T0,
    **changes: object,
) -> Article:
    values: dict[str, object] = {
        "url": f"https://news.example/{article_id}",
        "canonical_url": f"https://news.example/c/{article_id}",
        "site_name": "Example News",
        "authors": ["Ada Writer"],
        "date_source": "meta",
    }
    values.update(changes)
    return factories.make_article(
        article_id, title=title, paragraphs=paragraphs, published=published, **values
    )


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


def test_a_failed_transaction_writes_nothing(store: Store) -> None:
    store.put_articles([make_article("keep00000001")])
    before = snapshot(store)
    with pytest.raises(RuntimeError), store.transaction():
        store.put_articles(
            [make_article("gone00000001"), replace(make_article("keep00000001"), title="x")]
        )
        store.record_failures([Failure("x.html", "no text")], run_id="r1")
        raise RuntimeError("crash before commit")
    assert snapshot(store) == before
    assert store.failures() == []
    assert store.search("x") == []
    # A failed nested step undoes only itself.
    with store.transaction():
        store.put_articles([make_article("outer0000001")])
        with pytest.raises(RuntimeError), store.transaction():
            store.put_articles([make_article("inner0000001")])
            raise RuntimeError("inner step fails")
    assert store.get_article("outer0000001") is not None
    assert store.get_article("inner0000001") is None


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


def test_get_articles_reads_many_by_full_id(store: Store) -> None:
    ids = [f"many{i:08d}" for i in range(1_203)]  # more than one query's worth
    store.put_articles([make_article(i, title=f"Title {i}") for i in ids])
    store.put_articles([make_article(ids[7], title="Changed title")])
    asked = [*reversed(ids), ids[3], "not-stored", "many0000"]  # a prefix is not an id
    found = store.get_articles(asked)
    assert set(found) == set(ids)
    assert found[ids[7]].title == "Changed title"  # the latest version
    assert found[ids[1_202]].title == f"Title {ids[1_202]}"
    assert store.get_articles([]) == {}


def test_iter_articles_orders_and_pages(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small pages, so that paging itself is exercised.
    monkeypatch.setattr(sys.modules[type(store).__module__], "PAGE_SIZE", 3)
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


def test_search_ranks_more_matches_higher_and_marks_every_matched_word(store: Store) -> None:
    store.put_articles(
        [
            make_article(
                "once00000001",
                title="Harbour news",
                paragraphs=["The ferry left on time; passengers were calm."],
            ),
            make_article(
                "often0000001",
                title="Harbour news",
                paragraphs=["The ferry was late. The ferry crew blamed the ferry engine."],
            ),
        ]
    )
    hits = store.search("ferry")
    assert [h.article.id for h in hits] == ["often0000001", "once00000001"]
    assert hits[0].snippet.count("[ferry]") >= 2
    both = store.search("ferry passengers")
    assert [h.article.id for h in both] == ["once00000001"]
    assert "[ferry]" in both[0].snippet and "[passengers]" in both[0].snippet


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
        "bridge or council",
        "bridge:*",
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
    # "or" and a leading "-" are words, not "either" and "without".
    assert store.search("tally or nothing") == []
    assert [h.article.id for h in store.search("-tally")] == ["plain0000001"]


# -- opening, schema -----------------------------------------------------------


def test_reopening_a_migrated_database_changes_nothing(store_url: str, store: Store) -> None:
    latest = type(store).latest_schema_version()
    assert store.schema_version() == latest
    store.put_articles([make_article()])
    for _ in range(2):
        with open_store(store_url) as again:
            assert again.schema_version() == latest
            assert again.get_article(make_article().id) == make_article()
            assert again.search("bridge")
            assert again.count_articles() == 1


def test_concurrent_openers_migrate_once(store_url: str, store: Store) -> None:
    errors: list[BaseException] = []

    def open_and_write(n: int) -> None:
        try:
            with open_store(store_url) as opened:
                opened.put_articles([make_article(f"open{n:08d}")])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_and_write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert store.count_articles() == 4
    assert store.schema_version() == type(store).latest_schema_version()


def test_closed_store_raises(store_url: str) -> None:
    store = open_store(store_url)
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(StoreError, match="closed"):
        store.count_articles()


# -- concurrency ---------------------------------------------------------------


def test_reader_sees_whole_batches_while_a_writer_writes(store_url: str, store: Store) -> None:
    batches, size = 25, 8
    errors: list[BaseException] = []
    seen: list[int] = []

    def write() -> None:
        try:
            with open_store(store_url) as writer:
                for b in range(batches):
                    writer.put_articles([make_article(f"w{b:04d}{i:07d}") for i in range(size)])
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    while thread.is_alive():
        seen.append(store.count_articles())
        store.search("bridge", limit=5)
        list(store.iter_articles(limit=20))
    thread.join()
    seen.append(store.count_articles())
    assert not errors
    assert all(n % size == 0 for n in seen)  # never half a batch
    assert seen == sorted(seen)
    assert seen[-1] == batches * size


def test_two_writers_putting_the_same_articles_store_each_once(
    store_url: str, store: Store
) -> None:
    errors: list[BaseException] = []
    shared = [make_article(f"same{i:08d}") for i in range(10)]

    def write(tag: str) -> None:
        try:
            with open_store(store_url) as writer:
                for b in range(10):
                    own = [make_article(f"{tag}{b:04d}{i:06d}") for i in range(5)]
                    # Both writers also put the shared articles, in opposite orders.
                    order = shared if tag == "aa" else shared[::-1]
                    writer.put_articles([*own, *order[b : b + 3]])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(tag,)) for tag in ("aa", "bb")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.count_articles() == 100 + len(shared)
    assert all(len(store.versions(a.id)) == 1 for a in shared)


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


# -- duplicates and stories through the pipeline --------------------------------


def _page(article: Article, url: str, extra: str = "") -> Page:
    published = article.published.isoformat() if article.published else None
    body = f"{article.title}\n\n{article.paragraphs[0]}{extra}\n".encode()
    meta = {"published": published} if published else {}
    return Page(source=url, body=body, url=url, kind="text", meta=meta)


def _pipeline(store: Store) -> Pipeline:
    return Pipeline(store, featurizer=FAKE, analyse=False)


def test_pipeline_groups_copies_and_places_stories(store: Store) -> None:
    pages = [_page(a, f"https://one.example/{a.id}") for a in [*BRIDGE, *FLOOD]]
    # A word-for-word copy on another site, and a copy with a line added.
    pages.append(_page(BRIDGE[0], "https://copy.example/b1"))
    pages.append(_page(FLOOD[0], "https://near.example/f1", " Updated at noon."))
    report = _pipeline(store).ingest_pages(pages)
    assert report.failures == []
    assert report.new == 7 and report.exact_duplicates == 1
    ids = report.article_ids
    assert store.count_articles() == 7
    copy = store.duplicates_of(ids[5])
    assert copy is not None and copy.match == "exact" and copy.group_id == ids[0]
    assert store.duplicate_group(ids[0]) == [ids[0], ids[5]]
    assert store.exact_matches(copy.exact_hash) == [ids[0], ids[5]]
    assert store.articles_without_fingerprints() == []

    owners = store.stories_of(ids)
    assert set(owners) == set(ids)  # every article has a story
    assert len({owners[i] for i in ids[:3]}) == 1  # the bridge articles are one story
    assert owners[ids[0]] != owners[ids[3]]  # the flood is another
    assert owners[ids[5]] == owners[ids[0]]
    assert store.articles_without_story() == []
    story = store.get_story(owners[ids[0]])
    assert story is not None and story.article_ids[:3] == ids[:3]
    members = store.story_members(story.id)
    assert members[0].reasons["new_story"] is True
    assert all(m.reasons["new_story"] is False for m in members[1:])
    assert store.get_story(story.id[:8]).id == story.id
    listed = {s.id: s for s in store.iter_stories(limit=10)}
    assert set(listed) == set(owners.values())
    assert listed[story.id] == story

    # Running the same input again adds nothing.
    again = _pipeline(store).ingest_pages(pages)
    assert (again.new, again.unchanged) == (0, 7)
    assert store.count_articles() == 7
    assert store.stories_of(ids) == owners


def test_stored_articles_get_stories_with_reasons(store: Store) -> None:
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
    assert store.get_story("s") is None  # a prefix of both stories
    assert store.get_story("no-such-story") is None


def test_a_replaced_fingerprint_leaves_its_group(store: Store) -> None:
    from newsloom.dedup import Deduplicator

    first = make_article("root00000001", paragraphs=["Same words in both copies here."])
    copies = [replace(first, id=f"copy0000000{n}") for n in (1, 2)]
    with store.transaction():
        store.put_articles([first, *copies])
        Deduplicator(store).add([first, *copies])
    assert store.duplicate_group(first.id) == [first.id, *(c.id for c in copies)]
    changed = replace(first, paragraphs=["Entirely different words now, nothing shared."])
    with store.transaction():
        store.put_articles([changed])
        Deduplicator(store).add([changed])
    # The next earliest member names the group from then on.
    assert store.duplicate_group(copies[0].id) == [c.id for c in copies]
    assert store.duplicates_of(first.id).group_id == first.id


def test_stored_candidates_match_the_in_memory_index(store: Store) -> None:
    undated = art("u1", BRIDGE[0].title, BRIDGE[0].paragraphs[0])
    undated.published = None

    def later(article: Article, ident: str, hours: float) -> Article:
        return art(ident, article.title, article.paragraphs[0], hours=hours)

    stream = [
        BRIDGE[0], FLOOD[0], BRIDGE[1], FLOOD[1], undated, BRIDGE[2],
        later(FLOOD[1], "f3", 50),  # a third day for the flood story
        later(BRIDGE[0], "b7", 24 * 30),  # the bridge story went quiet: a new story
        later(FLOOD[0], "f9", 24 * 30 + 2),
    ]  # fmt: skip
    expected = cluster_stream(stream, featurizer=FAKE, batch_size=2)
    store.put_articles(stream)
    for start in range(0, len(stream), 2):
        cluster_stored(store, [a.id for a in stream[start : start + 2]], featurizer=FAKE)
    got = store.stories_of([a.id for a in stream])
    assert [got[a.id] for a in stream] == expected
    assert expected[0] != expected[7]  # quiet for 30 days: not joined


def test_restart_continues_from_the_stored_index(store_url: str) -> None:
    with open_store(store_url) as store:
        store.put_articles([BRIDGE[0], FLOOD[0]])
        first = cluster_stored(store, [BRIDGE[0].id, FLOOD[0].id], featurizer=FAKE)
    with open_store(store_url) as store:  # a new process sees the same database
        store.put_articles([BRIDGE[1], FLOOD[1]])
        later = cluster_stored(store, [BRIDGE[1].id, FLOOD[1].id], featurizer=FAKE)
        assert later[0].story_id == first[0].story_id
        assert later[1].story_id == first[1].story_id
        # Already placed articles are not placed twice.
        assert cluster_stored(store, [BRIDGE[0].id], featurizer=FAKE) == []
        assert store.articles_without_story() == []


def test_recluster_gives_the_same_stories(store: Store) -> None:
    stream = [BRIDGE[0], FLOOD[0], BRIDGE[1], FLOOD[1], BRIDGE[2]]
    store.put_articles(stream)
    cluster_stored(store, [a.id for a in stream], featurizer=FAKE)
    before = store.stories_of([a.id for a in stream])
    recluster(store, featurizer=FAKE)
    assert store.stories_of([a.id for a in stream]) == before
    assert store.count_stories() == 2


def test_a_failed_batch_leaves_stories_untouched(store: Store) -> None:
    def broken_entities(texts):
        raise RuntimeError("model failed")

    broken = type(FAKE)(FAKE.embed, broken_entities, FAKE.tokens, FAKE.lead)
    store.put_articles(BRIDGE)
    cluster_stored(store, [BRIDGE[0].id], featurizer=FAKE)
    with pytest.raises(RuntimeError):
        cluster_stored(store, [BRIDGE[1].id, BRIDGE[2].id], featurizer=broken)
    first = store.stories_of([BRIDGE[0].id])[BRIDGE[0].id]
    assert store.stories_of([a.id for a in BRIDGE]) == {BRIDGE[0].id: first}
    assert sorted(store.articles_without_story()) == sorted([BRIDGE[1].id, BRIDGE[2].id])
    # The store is usable afterwards: the failed batch left no transaction open.
    cluster_stored(store, [BRIDGE[1].id, BRIDGE[2].id], featurizer=FAKE)
    assert set(store.stories_of([a.id for a in BRIDGE]).values()) == {first}


def test_merged_stories_lead_to_their_survivor(store: Store) -> None:
    from newsloom.cluster import ClusterParams

    # Two halves of one event start apart (a high bar to join), then an article
    # close to both merges them (a low bar to merge).
    params = ClusterParams(join_threshold=0.99, merge_threshold=0.1)
    left, right = BRIDGE[0], BRIDGE[1]
    store.put_articles([left, right])
    cluster_stored(store, [left.id, right.id], params, featurizer=FAKE)
    apart = store.stories_of([left.id, right.id])
    assert apart[left.id] != apart[right.id]
    bridging = art("mm", BRIDGE[0].title, BRIDGE[0].paragraphs[0] + " " + BRIDGE[1].paragraphs[0])
    store.put_articles([bridging])
    [decision] = cluster_stored(
        store, [bridging.id], replace(params, join_threshold=0.3), featurizer=FAKE
    )
    assert decision.merged
    survivor = decision.story_id
    absorbed = decision.merged[0]
    story = store.get_story(absorbed)
    assert story is not None and story.id == survivor and absorbed in story.merged_from
    assert set(story.article_ids) == {left.id, right.id, bridging.id}
    assert set(store.stories_of([left.id, right.id, bridging.id]).values()) == {survivor}
    assert store.iter_stories() == [story]  # listed with its members and merges
    assert store.stories_to_analyse() == [survivor]
    # A stamp is for a live story's exact id; the absorbed one has none.
    assert store.story_stamp(absorbed) is None
    stamp = store.story_stamp(survivor)
    assert stamp is not None and stamp.size == 3


@pytest.mark.parametrize("batch_size", [1, 4, 64])
def test_a_split_moves_members_and_is_recorded(store: Store, batch_size: int) -> None:
    # Batches of 1: every member read back from the table; 64: all still in
    # the batch when the story splits; 4: both.
    stream = two_group_stream()
    expected = cluster_stream(stream, CHAINING, featurizer=TWO_GROUPS)
    store.put_articles(stream)
    ids = [a.id for a in stream]
    decisions = cluster_stored(store, ids, CHAINING, featurizer=TWO_GROUPS, batch_size=batch_size)
    got = store.stories_of(ids)
    assert [got[i] for i in ids] == expected
    kept, part = expected[0], expected[3]
    assert decisions[-1].split == (part,)
    split_off, rest = store.get_story(part), store.get_story(kept)
    assert split_off.article_ids == [ids[3], ids[4]] and split_off.split_from == kept
    assert rest.article_ids == [ids[0], ids[1], ids[2], ids[5]] and rest.split_off == [part]
    assert {s.id: s for s in store.iter_stories()} == {part: split_off, kept: rest}
    assert store.count_stories() == 2
    assert set(store.stories_to_analyse()) == {kept, part}
    # The part is found by its keys and grows; the kept story is not offered it.
    later = art("g9", "beta 3", "", hours=9)
    store.put_articles([later])
    [decision] = cluster_stored(store, [later.id], CHAINING, featurizer=TWO_GROUPS)
    assert decision.story_id == part and not decision.new_story
    # A rebuild gives the same stories.
    recluster(store, CHAINING, featurizer=TWO_GROUPS)
    again = store.stories_of([*ids, later.id])
    assert [again[i] for i in ids] == expected and again[later.id] == part


def test_a_story_stamp_changes_with_what_its_page_shows(store: Store) -> None:
    stream = [BRIDGE[0], BRIDGE[1]]
    store.put_articles(stream)
    cluster_stored(store, [a.id for a in stream], featurizer=FAKE)
    story_id = store.stories_of([BRIDGE[0].id])[BRIDGE[0].id]
    story = store.get_story(story_id)
    first = store.story_stamp(story_id)
    assert first is not None and story is not None
    assert (first.id, first.title, first.updated) == (story.id, story.title, story.updated)
    assert (first.size, first.analysed_at, first.views) == (2, None, 0)
    assert store.story_stamp(story_id[:6]) is None  # a prefix is get_story's to resolve
    assert store.story_stamp("no-such-story") is None
    assert store.story_stamp(story_id) == first  # nothing changed, same stamp

    store.put_articles([BRIDGE[2]])
    cluster_stored(store, [BRIDGE[2].id], featurizer=FAKE)
    joined = store.story_stamp(story_id)
    assert joined is not None
    assert joined.size == 3 and joined.last_seq > first.last_seq

    store.put_story_analysis(story_id, [], [], members=3)
    analysed = store.story_stamp(story_id)
    assert analysed is not None and analysed.analysed_at == store.story_analysed_at(story_id)
    store.count_view("story", story_id)
    store.count_view("story", story_id, day=date(2026, 3, 1))
    viewed = store.story_stamp(story_id)
    assert viewed is not None and viewed.views == 2 == store.views("story", story_id)


# -- story analysis and views ----------------------------------------------------


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


def _clustered(store: Store) -> str:
    store.put_articles([*BRIDGE, *FLOOD])
    decisions = cluster_stored(store, [a.id for a in [*BRIDGE, *FLOOD]], featurizer=FAKE)
    return decisions[0].story_id


def test_new_members_queue_their_story_and_saving_clears_it(store: Store) -> None:
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


def test_saving_again_replaces_the_previous_analysis(store: Store) -> None:
    bridge = _clustered(store)
    store.put_story_analysis(
        bridge, [_edge(BRIDGE[1].id, BRIDGE[0].id)], [_conflict("x", "y", bridge)], members=3
    )
    store.put_story_analysis(bridge, [], [], members=3)
    assert store.story_provenance(bridge) == []
    assert store.story_conflicts(bridge) == []


def test_a_changed_article_requeues_its_story(store: Store) -> None:
    bridge = _clustered(store)
    for story_id in store.stories_to_analyse():
        store.put_story_analysis(story_id, [], [], members=0)
    assert store.stories_to_analyse() == []
    changed = replace(BRIDGE[1], paragraphs=[*BRIDGE[1].paragraphs, "A correction came later."])
    store.put_articles([changed])
    assert store.stories_to_analyse() == [bridge]


def test_recluster_drops_the_old_analysis_and_queues_the_new_stories(store: Store) -> None:
    bridge = _clustered(store)
    store.put_story_analysis(bridge, [_edge(BRIDGE[1].id, BRIDGE[0].id)], [], members=3)
    recluster(store, featurizer=FAKE)
    survivors = {store.stories_of([BRIDGE[0].id])[BRIDGE[0].id]}
    assert set(store.stories_to_analyse()) >= survivors
    # The rebuild deletes every story, and each story's analysis with it.
    assert store.story_provenance(bridge) == []


def test_a_story_summary_is_saved_with_its_analysis_and_replaced_by_the_next(
    store: Store,
) -> None:
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


def test_views_are_counted_per_page_and_day(store: Store) -> None:
    for _ in range(3):
        store.count_view("article", "a1")
    store.count_view("article", "a1", day=date(2026, 3, 1))
    store.count_view("story", "a1")
    assert store.views("article", "a1") == 4
    assert store.views("story", "a1") == 1
    assert store.views("article", "unknown") == 0


def test_many_views_are_counted_at_once(store: Store) -> None:
    store.count_view("story", "s1")
    store.count_views({("story", "s1"): 40, ("story", "s2"): 3, ("article", "a1"): 0})
    store.count_views({("story", "s2"): 2}, day=date(2026, 3, 1))
    store.count_views({})
    assert store.views("story", "s1") == 41
    assert store.views("story", "s2") == 5
    assert store.views("article", "a1") == 0


__all__ = [name for name in dir() if name.startswith("test_")]
