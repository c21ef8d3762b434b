"""PostgreSQL-only checks: the lock discipline between workers, opening and
migrating a database, and what a user reads when something is wrong."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import psycopg
import pytest

from newsloom.cluster import OnlineClusterer, cluster_stored, featurize
from newsloom.dedup import Deduplicator
from newsloom.errors import StoreError
from newsloom.store import Store, open_store
from newsloom.store import postgres as backend
from newsloom.store.migrations import Migration
from newsloom.store.postgres_stories import PostgresStoryIndex
from store_contract import make_article
from test_cluster import BRIDGE, FAKE

# -- lock discipline -----------------------------------------------------------


def _in_threads(*jobs) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(job) -> None:
        try:
            job()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_two_workers_place_one_event_in_one_story(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = BRIDGE[0], BRIDGE[1]
    with open_store(store_url) as store:
        store.put_articles([first, second])
    # Both workers compute features at the same moment, then each holds its
    # decision for a while before writing it: without the lock, the second
    # would look for candidates while the first story is still unwritten.
    ready = threading.Barrier(2, timeout=30)

    def entities(texts):
        ready.wait()
        return FAKE.entities(texts)

    slow_flush = PostgresStoryIndex.flush

    def flush(self) -> None:
        time.sleep(0.5)
        slow_flush(self)

    monkeypatch.setattr(PostgresStoryIndex, "flush", flush)
    featurizer = replace(FAKE, entities=entities)

    def place(article) -> None:
        with open_store(store_url) as store:
            cluster_stored(store, [article.id], featurizer=featurizer)

    assert _in_threads(lambda: place(first), lambda: place(second)) == []
    with open_store(store_url) as store:
        owners = store.stories_of([first.id, second.id])
        assert owners[first.id] == owners[second.id]
        assert store.count_stories() == 1
        members = store.story_members(owners[first.id])
        assert [m.reasons["new_story"] for m in members] == [True, False]


def test_two_workers_storing_copies_at_once_make_one_group(store_url: str) -> None:
    text = ["The harbour board approved the new ferry timetable on Monday evening."]
    copies = [make_article(f"copy{n:08d}", paragraphs=text) for n in range(2)]
    ready = threading.Barrier(2, timeout=30)

    def store_copy(article) -> None:
        with open_store(store_url) as store:
            ready.wait()
            with store.transaction():
                store.put_articles([article])
                Deduplicator(store).add([article])
                # Still uncommitted: without the lock the other worker would
                # look for copies now and miss this one.
                time.sleep(0.5)

    assert _in_threads(*(lambda a=a: store_copy(a) for a in copies)) == []
    with open_store(store_url) as store:
        infos = [store.duplicates_of(a.id) for a in copies]
        assert infos[0].group_id == infos[1].group_id
        assert sorted(i.match for i in infos) == ["exact", "none"]
        assert sorted(store.duplicate_group(infos[0].group_id)) == [a.id for a in copies]


def test_an_article_placed_meanwhile_by_another_worker_is_not_placed_twice(
    store_url: str,
) -> None:
    with open_store(store_url) as store, open_store(store_url) as other:
        store.put_articles(BRIDGE[:2])
        index = store.story_index()
        # This worker reads (taking the lock) after checking which articles
        # still need a story; another worker placed one of them in between.
        # (Simulated by writing the membership directly, as a worker that
        # committed just before the lock would have.)
        with other._transaction("test") as conn:
            conn.execute(
                "INSERT INTO story_members (article_id, story_id, seq, reasons)"
                " VALUES (%s, 'sother', 1, '{}')",
                (BRIDGE[0].id,),
            )

        clusterer = OnlineClusterer(index)
        [item] = featurize([BRIDGE[0]], index, FAKE)
        index.record(clusterer.add(item), None)
        with pytest.raises(StoreError, match="another worker placed"):
            index.flush()
        index.discard()
        assert store.stories_of([BRIDGE[0].id]) == {BRIDGE[0].id: "sother"}
        assert store.count_stories() == 0  # nothing of the refused batch was written
        store.put_articles([make_article("after0000001")])  # no transaction left open


# -- opening and migrating -------------------------------------------------------


def test_cannot_connect_names_the_server_without_the_password(pg_server) -> None:
    url = f"postgresql://newsloom:hunter2@127.0.0.1:{pg_server.port}/no_such_db"
    with pytest.raises(StoreError) as failed:
        open_store(url)
    message = str(failed.value)
    assert "hunter2" not in message
    assert "cannot connect to PostgreSQL at postgresql://newsloom:***@127.0.0.1" in message
    assert "no_such_db" in message and "does not exist" in message
    with pytest.raises(StoreError, match="cannot connect") as refused:
        open_store("postgres://someone:pw@127.0.0.1:1/x?password=pw2")
    assert "pw" not in str(refused.value).replace("postgres://", "")


def test_url_forms_open_the_same_database(store_url: str) -> None:
    rest = store_url.split("://", 1)[1]
    for scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        with open_store(f"{scheme}://{rest}") as store:
            assert type(store).__name__ == "PostgresStore"
            assert store.schema_version() == store.latest_schema_version()
            assert "***" not in store.url and store.url.endswith(rest.split("@")[1])


def test_a_database_holding_other_tables_is_refused(empty_url: str) -> None:
    with psycopg.connect(empty_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE contacts (name TEXT)")
    with pytest.raises(StoreError, match="not a newsloom database"):
        open_store(empty_url)
    with psycopg.connect(empty_url, autocommit=True) as conn:
        names = [
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
    assert names == ["contacts"]


def test_an_empty_database_is_migrated_once(empty_url: str) -> None:
    with open_store(empty_url) as store:
        store.put_articles([make_article()])
    with open_store(empty_url) as store:
        assert store.count_articles() == 1
    with psycopg.connect(empty_url, autocommit=True) as conn:
        steps = [r[0] for r in conn.execute("SELECT version FROM newsloom_migrations ORDER BY 1")]
    assert steps == list(range(1, backend.PostgresStore.latest_schema_version() + 1))


def test_new_and_failed_migration_steps(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_store(store_url) as store:
        store.put_articles([make_article()])
        start = store.schema_version()
    broken = Migration(start + 1, "half-broken step", ("CREATE TABLE half (x INT)", "NOT SQL"))
    monkeypatch.setattr(backend, "MIGRATIONS", (*backend.MIGRATIONS, broken))
    with pytest.raises(StoreError, match=f"migrating the schema to version {start + 1}"):
        open_store(store_url)
    extra = Migration(
        start + 1, "extra table", ("CREATE TABLE extra (x INT)", "INSERT INTO extra VALUES (42)")
    )
    monkeypatch.setattr(backend, "MIGRATIONS", (*backend.MIGRATIONS[:-1], extra))
    for _ in range(2):  # the second open must not run the step again
        with open_store(store_url) as store:
            assert store.schema_version() == start + 1
            with store._reading("test") as conn:
                assert conn.execute("SELECT x FROM extra").fetchall() == [(42,)]
                assert conn.execute("SELECT to_regclass('half')").fetchone()[0] is None
    monkeypatch.undo()
    with pytest.raises(StoreError, match="newer than this newsloom supports"):
        open_store(store_url)


def test_a_lost_connection_is_a_store_error(store_url: str, pg_server) -> None:
    with open_store(store_url) as store:
        store.put_articles([make_article()])
        with psycopg.connect(pg_server.url(), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (store_url.rsplit("/", 1)[1],),
            )
        with pytest.raises(StoreError, match="counting articles"):
            store.count_articles()


def test_a_failed_step_inside_a_transaction_commits_nothing(store_url: str) -> None:
    from newsloom.store.base import Fingerprint

    with open_store(store_url) as store:
        # Steps of a transaction share it without savepoints of their own, so
        # a step that failed (and was caught) leaves the transaction unable to
        # commit rather than half-written.
        refused = pytest.raises(StoreError, match="nothing of it was written")
        with refused, store.transaction():
            store.put_articles([make_article("kept00000001")])
            with pytest.raises(StoreError, match="no such article"):
                store.put_fingerprints([Fingerprint("missing00001", None, None, (), 0)])
        assert store.get_article("kept00000001") is None
        # An explicit nested transaction is a savepoint: its failure undoes only itself.
        with store.transaction():
            store.put_articles([make_article("kept00000002")])
            with pytest.raises(StoreError), store.transaction():
                store.put_fingerprints([Fingerprint("missing00001", None, None, (), 0)])
        assert store.get_article("kept00000002") is not None


def test_processes_opening_a_new_database_at_once_migrate_it_once(empty_url: str) -> None:
    ready = threading.Barrier(4, timeout=30)

    def open_and_write(n: int) -> None:
        ready.wait()
        with open_store(empty_url) as store:
            store.put_articles([make_article(f"first{n:07d}")])

    assert _in_threads(*(lambda n=n: open_and_write(n) for n in range(4))) == []
    with psycopg.connect(empty_url, autocommit=True) as conn:
        steps = [r[0] for r in conn.execute("SELECT version FROM newsloom_migrations ORDER BY 1")]
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 4
    assert steps == list(range(1, backend.PostgresStore.latest_schema_version() + 1))


def test_an_article_with_a_nul_character_is_refused_by_name(store: Store) -> None:
    nul = make_article("nul000000001", paragraphs=["A NUL \x00 inside."])
    with pytest.raises(StoreError, match=r"'nul000000001'.*NUL character"):
        store.put_articles([make_article("fine00000001"), nul])
    assert store.count_articles() == 0


def test_a_search_ranks_only_the_latest_matches(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The best match by rank is stored first, so it drops out once the cap binds.
    best = make_article(
        "light0000000", title="Lighthouse lighthouse lighthouse", paragraphs=["Lighthouse."]
    )
    others = [
        make_article(f"light000000{i}", title=f"Harbour note {i}", paragraphs=["A lighthouse."])
        for i in range(1, 4)
    ]
    store.put_articles([best, *others])
    assert store.search("lighthouse", limit=10)[0].article.id == best.id
    monkeypatch.setattr(backend, "SEARCH_CANDIDATES", 2)
    found = [hit.article.id for hit in store.search("lighthouse", limit=10)]
    assert sorted(found) == sorted(a.id for a in others[-2:])

    # A word the planner takes for common goes the other way (the newest keys
    # first) to the same matches, ranks and excerpts.
    queries = ("lighthouse", "harbour note", "harbour lig")
    both = [store.search(q, limit=10) for q in queries]
    monkeypatch.setattr(backend, "COMMON_MATCHES", 0)
    assert [store.search(q, limit=10) for q in queries] == both
    assert sorted(hit.article.id for hit in both[0]) == sorted(a.id for a in others[-2:])


def test_a_batch_refused_for_a_rival_placement_is_placed_again(store_url: str) -> None:
    with open_store(store_url) as store, open_store(store_url) as other:
        store.put_articles(BRIDGE)
        ids = [a.id for a in BRIDGE]
        checked = store.stories_of
        raced: list[str] = []

        def stories_of(article_ids):
            found = checked(article_ids)
            if not raced:  # another worker places one article right after this check
                raced.append(BRIDGE[0].id)
                cluster_stored(other, [BRIDGE[0].id], featurizer=FAKE)
            return found

        store.stories_of = stories_of  # type: ignore[method-assign]
        decisions = cluster_stored(store, ids, featurizer=FAKE)
        assert raced and BRIDGE[0].id not in {d.article_id for d in decisions}
        owners = checked(ids)
        assert set(owners) == set(ids)
        assert len(set(owners.values())) == 1 and store.count_stories() == 1
