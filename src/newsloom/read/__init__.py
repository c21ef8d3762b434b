"""Readers: turn paths and URLs into ``Page`` records (or ``Failure`` records).

``read_sources`` is the one entry point.  Each source is a local file or
folder, or an http(s) URL; a source that cannot be read becomes a ``Failure``
and the batch goes on.

Fetching happens for URL sources, and for the entries of a local feed or
sitemap only when a ``fetcher`` is passed or ``feed``/``sitemap`` is set: a
folder of saved pages never reaches out to the network on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

from newsloom.errors import BlockedURLError, InputError
from newsloom.read.fetch import Fetcher
from newsloom.read.files import read_path
from newsloom.read.outcome import failure
from newsloom.read.route import pages_from_body
from newsloom.settings import Settings
from newsloom.types import Failure, Page

__all__ = ["Fetcher", "read_sources"]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


class _LazyFetcher:
    """Creates the default Fetcher on first use and closes only what it created."""

    def __init__(self, settings: Settings, given: Fetcher | None) -> None:
        self._settings = settings
        self._given = given
        self._own: Fetcher | None = None

    @property
    def given(self) -> Fetcher | None:
        return self._given

    def get(self) -> Fetcher:
        if self._given is not None:
            return self._given
        if self._own is None:
            self._own = Fetcher(self._settings)
        return self._own

    def close(self) -> None:
        if self._own is not None:
            self._own.close()
            self._own = None


def read_sources(
    sources: Iterable[str],
    settings: Settings,
    *,
    feed: bool = False,
    sitemap: bool = False,
    fetcher: Fetcher | None = None,
) -> Iterator[Page | Failure]:
    """Yield a Page for every document the sources hold, or a Failure per bad input.

    ``feed``/``sitemap`` force every source to be read as a feed or sitemap.
    """
    fetchers = _LazyFetcher(settings, fetcher)
    forced = "feed" if feed else "sitemap" if sitemap else None
    try:
        for source in sources:
            yield from _read_one(str(source), settings, fetchers, forced)
    finally:
        fetchers.close()


def _read_one(
    source: str, settings: Settings, fetchers: _LazyFetcher, forced: str | None
) -> Iterator[Page | Failure]:
    if not source.strip():
        yield Failure(source, "empty source name", "InputError")
        return
    scheme = _url_scheme(source)
    if scheme in {"http", "https"}:
        yield from _read_url(source, settings, fetchers.get(), forced)
    elif scheme is not None:
        yield failure(
            source, BlockedURLError(f"scheme {scheme!r} refused: only http and https are fetched")
        )
    else:
        # Naming a local file as a feed or sitemap is consent to fetch its entries.
        local_fetcher = fetchers.given if forced is None else fetchers.get()
        yield from read_path(source, settings, local_fetcher)


def _url_scheme(source: str) -> str | None:
    match = _SCHEME.match(source)
    return match.group(1).lower() if match else None


def _read_url(
    url: str, settings: Settings, fetcher: Fetcher, forced: str | None
) -> Iterator[Page | Failure]:
    try:
        page = fetcher.fetch(url)
    except InputError as exc:
        yield failure(url, exc)
        return
    name = urlsplit(page.url or url).path.rsplit("/", 1)[-1]
    yield from pages_from_body(
        page, settings, fetcher, name=name, kind=forced, empty="empty response"
    )
