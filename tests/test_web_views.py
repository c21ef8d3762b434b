"""View counting under concurrent readers and a busy store (found by bench/load.py).

Two request threads flushing the same hot pages at once deadlocked on
PostgreSQL, and the page whose request ran the failed flush answered 500.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from newsloom.errors import StoreError
from newsloom.store import open_store
from newsloom.store.sqlite import SQLiteStore
from newsloom.web import create_app
from newsloom.web.app import ViewCounter
from web_helpers import build_store


class FakeStore:
    """Counts views in memory; can be made to fail, or to hold a flush open."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}
        self.fail: StoreError | None = None
        self.hold: threading.Event | None = None
        self.inside = threading.Event()
        self.writers = 0
        self.most_writers = 0
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            self.writers += 1
            self.most_writers = max(self.most_writers, self.writers)
        try:
            self.inside.set()
            if self.hold is not None:
                assert self.hold.wait(10)
            if self.fail is not None:
                raise self.fail
            yield
        finally:
            with self._lock:
                self.writers -= 1

    def count_views(self, counts: dict[tuple[str, str], int]) -> None:
        with self.transaction():
            for key, count in counts.items():
                self.counts[key] = self.counts.get(key, 0) + count

    def views(self, kind: str, item_id: str) -> int:
        return self.counts.get((kind, item_id), 0)


class FakePool:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def get(self) -> FakeStore:
        return self.store


def counter(store: FakeStore) -> ViewCounter:
    # seconds=0: every add is due for a flush, as on a busy server.
    return ViewCounter(FakePool(store), seconds=0.0)  # type: ignore[arg-type]


def test_a_failed_flush_does_not_fail_the_page_and_loses_no_view() -> None:
    store = FakeStore()
    store.fail = StoreError("news.db: writing: the database stayed locked by another writer")
    views = counter(store)
    for _ in range(3):
        views.add("story", "s1")  # would have raised into the request before
    assert store.counts == {}
    assert views.views("story", "s1") == 3  # readers still see every view
    store.fail = None
    views.add("story", "s1")
    assert store.counts == {("story", "s1"): 4}
    assert views.views("story", "s1") == 4


def test_one_flush_at_a_time_and_the_others_serve_their_page() -> None:
    store = FakeStore()
    store.hold = threading.Event()
    views = counter(store)
    first = threading.Thread(target=views.add, args=("story", "s1"))
    first.start()
    assert store.inside.wait(10)  # the first flush is writing, and held there
    others = [threading.Thread(target=views.add, args=("story", "s1")) for _ in range(8)]
    for thread in others:
        thread.start()
    for thread in others:
        thread.join(5)
    # None waited for the held flush, none wrote beside it.
    assert not any(thread.is_alive() for thread in others)
    assert store.most_writers == 1
    store.hold.set()
    first.join(10)
    views.flush()
    assert store.counts == {("story", "s1"): 9}
    assert store.most_writers == 1


def test_story_page_answers_while_view_counts_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'news.db'}"
    with open_store(url) as store:
        story = build_store(store)["bridge-original"]
    with TestClient(create_app(url)) as client:
        views = client.app.state.views  # type: ignore[attr-defined]
        views.seconds = 0.0  # every view is due for a flush, from the first
        views._next_flush = 0.0

        def locked(self: SQLiteStore, counts: object, **_: object) -> None:
            raise StoreError(f"{self.path}: counting views: the database stayed locked")

        with monkeypatch.context() as patch:
            patch.setattr(SQLiteStore, "count_views", locked)
            for _ in range(2):
                response = client.get(f"/story/{story}")
                assert response.status_code == 200
            assert client.get(f"/story/{story}.json").json()["views"] == 2
        views.flush()
    with open_store(url) as store:
        assert store.views("story", story) == 2
