"""Route an in-memory body to the reader its content calls for.

Shared by local files and fetched URLs: a feed or sitemap found by content is
followed, JSON and JSONL become articles, HTML and text are pages as they are.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from newsloom.errors import InputError, UnsupportedInputError
from newsloom.read.compress import gunzip_bytes
from newsloom.read.feeds import pages_from_feed
from newsloom.read.jsonl import pages_from_json, pages_from_jsonl
from newsloom.read.outcome import failure
from newsloom.read.sitemaps import pages_from_sitemap
from newsloom.read.sniff import sniff
from newsloom.read.warc import pages_from_warc
from newsloom.settings import Settings
from newsloom.types import Failure, Page, PageKind

if TYPE_CHECKING:
    from newsloom.read.fetch import Fetcher

__all__ = ["pages_from_body", "strip_gzip_suffix"]

_GZIP_SUFFIXES = (".gz", ".gzip")


def pages_from_body(
    page: Page,
    settings: Settings,
    fetcher: Fetcher | None,
    *,
    name: str = "",
    kind: str | None = None,
    empty: str = "empty file",
) -> Iterator[Page | Failure]:
    """Yield what ``page.body`` holds: itself, its feed's or sitemap's pages, or articles.

    ``kind`` skips sniffing when the caller already knows the format (a
    ``--feed`` flag); ``empty`` is the reason given for a blank body.
    """
    forced = kind
    sniffed = sniff(page.body, name)
    # Compression, junk and emptiness outrank a caller's claim about the format.
    if sniffed in {"gzip", "binary", "empty"} or kind is None:
        kind = sniffed
    if kind == "gzip":
        try:
            body = gunzip_bytes(page.body, settings.max_decompressed_bytes)
        except InputError as exc:
            yield failure(page.source, exc)
            return
        inner_name = strip_gzip_suffix(name)
        if sniff(body, inner_name) == "gzip":
            yield Failure(page.source, "gzip inside gzip is not read", "UnsupportedInputError")
            return
        yield from pages_from_body(
            replace(page, body=body), settings, fetcher, name=inner_name, kind=forced, empty=empty
        )
        return
    location = page.url or page.source
    if kind in {"html", "text"}:
        page_kind: PageKind = "html" if kind == "html" else "text"
        yield page if page.kind else replace(page, kind=page_kind)
    elif kind == "feed":
        yield from pages_from_feed(
            page.body, location, settings, fetcher, fetched_at=page.fetched_at
        )
    elif kind == "sitemap":
        yield from pages_from_sitemap(page.body, location, settings, fetcher)
    elif kind == "json":
        yield from pages_from_json(page.body, page.source, fetched_at=page.fetched_at)
    elif kind == "jsonl":
        yield from pages_from_jsonl(
            io.BytesIO(page.body), page.source, settings, fetched_at=page.fetched_at
        )
    elif kind == "warc":
        yield from pages_from_warc(io.BytesIO(page.body), page.source, settings)
    elif kind == "empty":
        yield failure(page.source, UnsupportedInputError(empty))
    else:
        yield failure(page.source, UnsupportedInputError("binary data, not a page"))


def strip_gzip_suffix(name: str) -> str:
    """``a.html.gz`` -> ``a.html``, so the inner name can guide sniffing."""
    lower = name.lower()
    for suffix in _GZIP_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name
