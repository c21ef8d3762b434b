"""Routes: every HTML page and its ``.json`` twin render one dict from ``pages``.

Handlers are plain (sync) functions: the store is synchronous, and FastAPI
runs them on its thread pool, where each thread reads through its own store
connection (``StorePool``) so that readers do not queue behind one lock.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from anyio import to_thread
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from newsloom.errors import ConfigError, NewsloomError
from newsloom.settings import Settings
from newsloom.store import open_store
from newsloom.store.base import Store
from newsloom.types import StoryStamp
from newsloom.web import pages
from newsloom.web.render import env, error_page, render
from newsloom.web.security import HEAD_FLAG, Guard, RateLimiter
from newsloom.web.stamps import KeptStamp, StampCache

__all__ = ["PageCache", "StorePool", "ViewCounter", "build_app"]

STATIC = Path(__file__).resolve().parent / "static"
# Ids are short hex-like tokens; anything else is not worth a database query.
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SPAN = re.compile(r"(\d{1,8})-(\d{1,8})")
DONT_MISS_SECONDS = 30.0
# A story page is kept while its story and analysis are unchanged, but at most
# this long: an article corrected in place changes neither.
STORY_PAGE_SECONDS = 60.0
# 1,024 were too few for bench/load.py's 1,178 stories read evenly: a tenth
# of the story pages were computed again.  A page is 13 KB (a 22-article story
# not analysed yet) to about 100 KB (analysed, with its summary and
# provenance), so their text is bounded too.
STORY_PAGES_KEPT = 2048
STORY_PAGES_CHARS = 64 * 1024 * 1024
# Stamps of stories read lately (a stamp is a few hundred bytes).
STAMPS_KEPT = 16_384
# Threads that compute expired pages again, shared by the page caches.
RENEWAL_THREADS = 2
# How long a reader waits for another's computation of the page it wants.
COMPUTE_WAIT_SECONDS = 30.0
# Home and story-list pages: a few are read by almost every reader.
LIST_PAGES_KEPT = 64
# Search result pages (HTML or JSON), by query and page: about 30 KB each.
SEARCH_PAGES_KEPT = 512
# A view count no page can have: rendered once, it marks where the count goes.
_VIEWS_MARK = -7_305_219

log = logging.getLogger("newsloom.web")

PageNo = Annotated[int, Query(ge=1, le=pages.MAX_PAGE)]
SearchText = Annotated[str, Query(max_length=pages.MAX_QUERY_CHARS)]


class StorePool:
    """One store per thread for a file store; one shared store for ``:memory:``.

    SQLite in WAL mode lets many readers run at once, but only on separate
    connections; an in-memory database exists only on its own connection.
    """

    def __init__(self, url: str, settings: Settings | None = None) -> None:
        self.url = url
        self.settings = settings
        self._local = threading.local()
        self._all: list[Store] = []
        self._lock = threading.Lock()
        self._shared: Store | None = None
        first = open_store(url, settings=settings)  # fail now, not on the first request
        self._all.append(first)
        if ":memory:" in url:
            self._shared = first
        else:
            self._local.store = first

    def get(self) -> Store:
        if self._shared is not None:
            return self._shared
        store = getattr(self._local, "store", None)
        if store is None:
            store = open_store(self.url, settings=self.settings)
            self._local.store = store
            with self._lock:
                self._all.append(store)
        return store

    def close(self) -> None:
        with self._lock:
            for store in self._all:
                store.close()
            self._all.clear()


class TimedCache:
    """A value recomputed at most every ``seconds`` (the home page's "don't miss")."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._value: Any = None
        self._expires = 0.0

    def get(self, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if time.monotonic() >= self._expires:
                self._value = compute()
                self._expires = time.monotonic() + self.seconds
            return self._value


def _chars(page: Any) -> int:
    chars = getattr(page, "chars", None)
    if isinstance(chars, int):
        return chars
    return len(page) if isinstance(page, str | bytes) else 0


class PageCache:
    """Computed pages by key, least recently used dropped first, each fresh ``seconds``.

    A page not kept yet is computed by the first reader that asks for it,
    while the others asking for it wait for that one instead of computing
    their own.  An expired page is served as it is while a background thread
    (``renewer``, shared by the app's caches) computes the new one, so no
    reader waits for a page that is only getting old: under load on
    PostgreSQL, readers that renewed a search themselves waited seconds for
    it (bench/load.py).  At most ``renewers`` pages of a cache are being
    renewed at once; a page whose renewal fails is served as it was and tried
    again by the next reader.  ``seconds`` of 0 keeps nothing: every call
    computes.
    """

    def __init__(
        self,
        size: int,
        seconds: float,
        renewers: int = 2,
        renewer: ThreadPoolExecutor | None = None,
        max_chars: int | None = None,
    ) -> None:
        self.size = size
        self.seconds = seconds
        # Pages are also dropped while their text passes this many characters
        # (a page's weight is its len(), or its ``chars`` attribute).
        self.max_chars = max_chars
        self._chars = 0
        self._lock = threading.Lock()
        # key -> (expires, version, page)
        self._items: OrderedDict[Hashable, tuple[float, Hashable, Any]] = OrderedDict()
        self._computing: dict[Hashable, threading.Event] = {}
        self._renewing = threading.BoundedSemaphore(renewers)
        self._own_renewer = renewer is None
        self._renewer = renewer or ThreadPoolExecutor(renewers, thread_name_prefix="page-renewal")

    def get(self, key: Hashable, compute: Callable[[], Any], version: Hashable = None) -> Any:
        """The page kept for ``key``; a page kept for another ``version`` of
        what it shows is served like an expired one, while the new one is computed."""
        if self.seconds <= 0:
            return compute()
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                if found[0] <= time.monotonic() or found[1] != version:
                    self._renew_later(key, compute, version)
                return found[2]
            running = self._computing.get(key)
            if running is None:
                self._computing[key] = threading.Event()
        if running is not None:
            return self._wait_for(key, running, compute, version)
        return self._compute(key, compute, version)

    def _renew_later(self, key: Hashable, compute: Callable[[], Any], version: Hashable) -> None:
        # Called with the lock held.
        if key in self._computing or not self._renewing.acquire(blocking=False):
            return
        self._computing[key] = threading.Event()
        try:
            self._renewer.submit(self._renew, key, compute, version)
        except RuntimeError:  # shut down: the app is stopping
            self._computing.pop(key).set()
            self._renewing.release()

    def _renew(self, key: Hashable, compute: Callable[[], Any], version: Hashable) -> None:
        try:
            self._compute(key, compute, version)
        except Exception:
            log.warning("renewing a kept page failed; it is served as it was", exc_info=True)
        finally:
            self._renewing.release()

    def _compute(self, key: Hashable, compute: Callable[[], Any], version: Hashable) -> Any:
        try:
            value = compute()
            with self._lock:
                replaced = self._items.pop(key, None)
                if replaced is not None:
                    self._chars -= _chars(replaced[2])
                self._items[key] = (time.monotonic() + self.seconds, version, value)
                self._chars += _chars(value)
                while len(self._items) > self.size or (
                    self.max_chars is not None
                    and self._chars > self.max_chars
                    and len(self._items) > 1
                ):
                    self._chars -= _chars(self._items.popitem(last=False)[1][2])
        finally:
            with self._lock:
                self._computing.pop(key).set()
        return value

    def _wait_for(
        self, key: Hashable, running: threading.Event, compute: Callable[[], Any], version: Hashable
    ) -> Any:
        if not running.wait(COMPUTE_WAIT_SECONDS):
            return compute()  # the first reader is stuck: do not queue behind it
        with self._lock:
            found = self._items.get(key)
        # None: the first reader failed, so this one tries (and keeps its page).
        return found[2] if found is not None else self.get(key, compute, version)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._chars = 0

    @property
    def chars(self) -> int:
        """Characters of text kept."""
        return self._chars

    def close(self) -> None:
        """Stop renewing (renewals under way finish); pages are still served."""
        if self._own_renewer:
            self._renewer.shutdown(wait=True, cancel_futures=True)


@dataclass(slots=True, frozen=True)
class StoryEntry:
    """One story page as HTML or JSON text, split where the view count goes.

    Only strings are kept: cached dicts gave the garbage collector thousands of
    objects per page to walk, and its full collections paused the server for
    100-300 ms at a time under load (bench/web.py).  Each format is kept on
    its own, computed when first asked for: rendering both for every page
    doubled the cost of a page not yet kept.  ``data`` is kept only when the
    marker count was not found exactly once; the page is then rendered per
    request.
    """

    parts: tuple[str, str] | None
    data: dict[str, Any] | None

    @property
    def chars(self) -> int:
        """Characters kept (a page kept as data counts as a large page)."""
        return len(self.parts[0]) + len(self.parts[1]) if self.parts else 100_000

    @classmethod
    def of(cls, data: dict[str, Any], path: str, kind: str) -> StoryEntry:
        marked = data | {"views": _VIEWS_MARK}
        if kind == "html":
            text = render("story.html", **marked, page_path=path)
            parts = text.split(env.filters["plural"](_VIEWS_MARK, "view"))
        else:
            parts = json_text(marked).split(str(_VIEWS_MARK))
        if len(parts) == 2:
            return cls((parts[0], parts[1]), None)
        return cls(None, data)

    def text(self, count_text: str) -> str | None:
        """The page with ``count_text`` in place, if it is kept as text."""
        return None if self.parts is None else self.parts[0] + count_text + self.parts[1]


class ViewCounter:
    """Page views added up in memory and written in one transaction every few seconds.

    A write per request would make every reader queue for SQLite's one
    writer; a reader still sees the exact count (stored + not yet written).
    Only the page and the day are kept, nothing about the reader.

    One flush runs at a time, and rows are written in key order: two flushes
    writing the same hot pages in different orders deadlocked on PostgreSQL
    under load (bench/load.py), and so would two server processes.  A flush
    that fails (the store busy or locked) keeps its counts for the next one
    and never fails the page that triggered it.
    """

    def __init__(
        self,
        pool: StorePool,
        seconds: float = 2.0,
        on_written: Callable[[Mapping[tuple[str, str], int]], None] | None = None,
    ) -> None:
        self.pool = pool
        self.seconds = seconds
        # Told what each flush wrote, before the flush counts as finished.
        self.on_written = on_written
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._pending: dict[tuple[str, str], int] = {}
        self._next_flush = time.monotonic() + seconds
        # Goes up whenever pending counts are taken to be written, so a reader
        # that read a stored count before can tell that it may be short...
        self.flushes = 0
        # ...and this when that flush is over, written or not.
        self.finished = 0

    def flush_counts(self) -> tuple[int, int]:
        """Flushes begun and flushes over: equal when none is under way."""
        with self._lock:
            return self.flushes, self.finished

    def add(self, kind: str, item_id: str) -> None:
        with self._lock:
            key = (kind, item_id)
            self._pending[key] = self._pending.get(key, 0) + 1
            due = time.monotonic() >= self._next_flush
        # Another thread flushing already writes what is due; this one serves its page.
        if due and self._flushing.acquire(blocking=False):
            try:
                self._flush()
            except NewsloomError as exc:
                log.warning("page views not written yet, kept for the next try: %s", exc)
            finally:
                self._flushing.release()

    def views(self, kind: str, item_id: str) -> int:
        return self.pool.get().views(kind, item_id) + self.pending(kind, item_id)

    def pending(self, kind: str, item_id: str) -> int:
        """Views counted here and not written yet."""
        with self._lock:
            return self._pending.get((kind, item_id), 0)

    def flush(self) -> None:
        """Write the pending counts now (after any flush under way); raises ``StoreError``."""
        with self._flushing:
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            self._next_flush = time.monotonic() + self.seconds
            self.flushes += 1
        try:
            if not pending:
                return
            try:
                self.pool.get().count_views(pending)
            except Exception:
                with self._lock:  # keep the counts for the next try
                    for key, count in pending.items():
                        self._pending[key] = self._pending.get(key, 0) + count
                raise
            if self.on_written is not None:
                self.on_written(pending)
        finally:
            with self._lock:
                self.finished += 1


def json_text(data: Any) -> str:
    """``data`` as JSON text, exactly as ``JSONResponse`` writes it."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _json(text: str) -> Response:
    return Response(text, media_type="application/json")


def _html(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(render(template, **context), status_code=status)


def _error(request: Request, status: int, message: str) -> Response:
    body, content_type = error_page(request.url.path, status, message)
    return Response(body, status_code=status, media_type=content_type.split(";")[0])


def _span(value: str | None) -> tuple[int, int] | None:
    match = _SPAN.fullmatch(value or "")
    if not match:
        return None
    start, end = int(match.group(1)), int(match.group(2))
    return (start, end) if end > start else None


_MESSAGES = {
    404: "There is no page at this address.",
    405: "This address only answers GET requests.",
}


def build_app(pool: StorePool) -> FastAPI:
    """The FastAPI app over ``pool``'s store."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        # Handlers run on this many threads, each with its own store connection.
        # anyio's default of 40 gave PostgreSQL 40 busy backends on 2 cores,
        # each slowing the others (bench/load.py).
        to_thread.current_default_thread_limiter().total_tokens = settings.web_threads
        yield
        app.state.renewer.shutdown(wait=True, cancel_futures=True)
        app.state.views.flush()
        pool.close()

    app = FastAPI(
        title="newsloom",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.pool = pool
    app.state.dont_miss = TimedCache(DONT_MISS_SECONDS)
    settings = pool.settings or Settings()
    app.state.stamps = StampCache(STAMPS_KEPT, settings.story_check_seconds)
    stamps: StampCache = app.state.stamps
    app.state.views = ViewCounter(
        pool, on_written=lambda written: stamps.add_views("story", written)
    )
    # Expired pages are computed again on these threads (each with its own
    # store connection), never by the reader that finds them expired.
    renewer = ThreadPoolExecutor(RENEWAL_THREADS, thread_name_prefix="page-renewal")
    app.state.renewer = renewer
    app.state.story_pages = PageCache(
        STORY_PAGES_KEPT, STORY_PAGE_SECONDS, renewer=renewer, max_chars=STORY_PAGES_CHARS
    )
    if settings.web_threads < 1:
        raise ConfigError(f"setting web_threads: {settings.web_threads} (at least 1)")
    # Pages that change only when stories do: computed once per interval and
    # kept as text, so a busy home page or a popular search costs one render
    # per interval instead of one per reader (bench/load.py).
    app.state.list_pages = PageCache(LIST_PAGES_KEPT, settings.page_cache_seconds, renewer=renewer)
    app.state.search_pages = PageCache(
        SEARCH_PAGES_KEPT, settings.search_cache_seconds, renewer=renewer
    )
    lists: PageCache = app.state.list_pages
    searches: PageCache = app.state.search_pages
    app.state.search_limiter = RateLimiter(settings.search_burst, settings.search_per_minute)
    views = app.state.views
    app.add_middleware(
        Guard,
        error_page=error_page,
        limiter=app.state.search_limiter,
        slow_ms=settings.slow_request_ms,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if exc.status_code == 404 and exc.detail != "Not Found" else None
        return _error(
            request, exc.status_code, message or _MESSAGES.get(exc.status_code, "Request refused.")
        )

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, _exc: RequestValidationError) -> Response:
        # FastAPI's default echoes its validation internals; a reader needs one line.
        return _error(
            request,
            400,
            f"This address has a parameter this site cannot read (page is 1 to "
            f"{pages.MAX_PAGE}, a search at most {pages.MAX_QUERY_CHARS} characters).",
        )

    def store() -> Store:
        return pool.get()

    def not_found(what: str) -> StarletteHTTPException:
        return StarletteHTTPException(404, f"No {what} has this id.")

    # -- home and story lists --------------------------------------------------

    def home_data(page: int) -> dict[str, Any]:
        data = pages.stories_page(store(), page)
        data["dont_miss"] = app.state.dont_miss.get(lambda: pages.dont_miss(store()))
        return data

    @app.get("/index.json")
    def home_json(page: PageNo = 1) -> Response:
        return _json(lists.get(("/index.json", page), lambda: json_text(home_data(page))))

    @app.get("/", response_class=HTMLResponse)
    def home(page: PageNo = 1) -> HTMLResponse:
        return HTMLResponse(
            lists.get(("/", page), lambda: render("home.html", **home_data(page), page_path="/"))
        )

    @app.get("/stories.json")
    def stories_json(page: PageNo = 1) -> Response:
        return _json(
            lists.get(("/stories.json", page), lambda: json_text(pages.stories_page(store(), page)))
        )

    @app.get("/stories", response_class=HTMLResponse)
    def stories(page: PageNo = 1) -> HTMLResponse:
        def make() -> str:
            return render("stories.html", **pages.stories_page(store(), page), page_path="/stories")

        return HTMLResponse(lists.get(("/stories", page), make))

    # -- one story ------------------------------------------------------------

    def find_story(story_id: str) -> Any:
        story = store().get_story(story_id) if _ID.fullmatch(story_id) else None
        if story is None:
            raise not_found("story")
        return story

    def story_views(kept: KeptStamp) -> int:
        # The stamp's stored count plus the ones not written yet, unless the
        # stamp was read while some were being written: then the store is asked.
        if not kept.views_exact:
            return views.views("story", kept.stamp.id)
        return kept.stamp.views + views.pending("story", kept.stamp.id)

    def story_stamp(story_id: str) -> KeptStamp | str:
        """The story's stamp, or for a prefix or a merged-away id the id to redirect to."""
        kept = (
            stamps.get(story_id, lambda i: store().story_stamp(i), views.flush_counts)
            if _ID.fullmatch(story_id)
            else None
        )
        if kept is not None:
            return kept
        story = find_story(story_id)  # a prefix, a merged-away id, or none (404)
        if story.id != story_id:  # one address per story
            return story.id
        raise not_found("story")  # it went away between the two reads

    def story_entry(stamp: StoryStamp, page: int, kind: str) -> StoryEntry:
        # A story page reads every article it names and renders a large
        # template: about 10 ms of CPU on a 100k-article store (bench/web.py).
        # What it shows changes only with the story (members, title, times) or
        # its analysis (analysed_at), which its stamp covers, so it is
        # computed once per version of the stamp; a changed story is served
        # as it was until its new page is ready, so neither the first reader
        # after an ingest nor the readers behind it wait.
        version = (
            stamp.title, stamp.size, stamp.last_seq, stamp.updated, stamp.analysed_at,
        )  # fmt: skip

        def compute() -> StoryEntry:
            story = find_story(stamp.id)
            data = pages.story_page(store(), story, page, 0)
            return StoryEntry.of(data, pages.story_path(story.id), kind)

        # Rendered once with a marker count; the real count is put in per request.
        return app.state.story_pages.get((stamp.id, page, kind), compute, version)

    @app.get("/story/{story_id}.json")
    def story_json(story_id: str, page: PageNo = 1) -> Response:
        kept = story_stamp(story_id)
        if isinstance(kept, str):
            return RedirectResponse(f"{pages.story_path(kept)}.json?page={page}", 308)
        count = story_views(kept)
        entry = story_entry(kept.stamp, page, "json")
        text = entry.text(str(count))
        if text is None:
            return JSONResponse((entry.data or {}) | {"views": count})
        return _json(text)

    @app.get("/story/{story_id}/feed.atom")
    def story_atom(story_id: str, request: Request) -> Response:
        from newsloom.feeds import story_feed

        story = find_story(story_id)
        base = str(request.base_url).rstrip("/")
        return Response(story_feed(store(), story.id, base), media_type="application/atom+xml")

    @app.get("/story/{story_id}", response_class=HTMLResponse)
    def story_html(story_id: str, request: Request, page: PageNo = 1) -> Response:
        kept = story_stamp(story_id)
        if isinstance(kept, str):
            return RedirectResponse(f"{pages.story_path(kept)}?page={page}", 308)
        # Counted by page alone: no cookie, no address, nothing about the reader.
        if not request.scope.get(HEAD_FLAG):
            views.add("story", kept.stamp.id)
        count = story_views(kept)
        entry = story_entry(kept.stamp, page, "html")
        text = entry.text(env.filters["plural"](count, "view"))
        if text is None:
            data = (entry.data or {}) | {"views": count}
            return _html("story.html", **data, page_path=pages.story_path(kept.stamp.id))
        return HTMLResponse(text)

    @app.get("/feed.atom")
    def site_atom(request: Request) -> Response:
        from newsloom.feeds import site_feed

        base = str(request.base_url).rstrip("/")
        return Response(site_feed(store(), base), media_type="application/atom+xml")

    # -- one article ----------------------------------------------------------

    def find_article(article_id: str) -> Any:
        article = store().get_article(article_id) if _ID.fullmatch(article_id) else None
        if article is None:
            raise not_found("article")
        return article

    @app.get("/article/{article_id}.json")
    def article_json(article_id: str) -> Response:
        article = find_article(article_id)
        if article.id != article_id:
            return RedirectResponse(f"{pages.article_path(article.id)}.json", 308)
        count = views.views("article", article.id)
        return JSONResponse(pages.article_page(store(), article, count))

    @app.get("/article/{article_id}", response_class=HTMLResponse)
    def article_html(
        article_id: str, request: Request, hl: Annotated[str | None, Query()] = None
    ) -> Response:
        article = find_article(article_id)
        span = _span(hl)
        if article.id != article_id:
            return RedirectResponse(pages.article_path(article.id, span), 308)
        if not request.scope.get(HEAD_FLAG):
            views.add("article", article.id)
        data = pages.article_page(store(), article, views.views("article", article.id))
        return _html(
            "article.html", **data, highlight=span, page_path=pages.article_path(article.id)
        )

    # -- search ---------------------------------------------------------------

    def search_key(route: str, q: str, page: int) -> tuple[str, str, int]:
        # The same words, however spaced, are one search (as search_page reads them).
        return (route, " ".join(q.split())[: pages.MAX_QUERY_CHARS], page)

    @app.get("/search.json")
    def search_json(q: SearchText = "", page: PageNo = 1) -> Response:
        return _json(
            searches.get(
                search_key("/search.json", q, page),
                lambda: json_text(pages.search_page(store(), q, page)),
            )
        )

    @app.get("/search", response_class=HTMLResponse)
    def search(q: SearchText = "", page: PageNo = 1) -> HTMLResponse:
        def make() -> str:
            return render("search.html", **pages.search_page(store(), q, page), page_path="/search")

        return HTMLResponse(searches.get(search_key("/search", q, page), make))

    return app
