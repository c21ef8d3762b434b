"""XML sitemaps, sitemap indexes and Google News sitemaps.

Every listed URL is fetched.  Indexes are followed to a depth of
``MAX_DEPTH`` and the whole walk stops after ``settings.max_sitemap_urls``
page URLs, so a hostile index cannot make the reader fetch without end.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lxml import etree

from newsloom.errors import InputError
from newsloom.read.compress import gunzip_bytes
from newsloom.read.outcome import as_document, failure, merge_meta
from newsloom.settings import Settings
from newsloom.types import Failure, Page

if TYPE_CHECKING:
    from newsloom.read.fetch import Fetcher

__all__ = ["MAX_DEPTH", "SitemapEntry", "pages_from_sitemap", "parse_sitemap"]

# The usual sitemap error: "&" in a URL query left unescaped.
_BARE_AMPERSAND = re.compile(rb"&(?!(?:#[0-9]+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);)")

#: How many levels of sitemap index may sit above a urlset.
MAX_DEPTH = 3


@dataclass(slots=True)
class SitemapEntry:
    """One ``<url>`` (with Google News fields in ``meta``) or one child sitemap."""

    loc: str
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Walk:
    settings: Settings
    fetcher: Fetcher | None
    remaining: int
    seen_urls: set[str] = field(default_factory=set)
    seen_sitemaps: set[str] = field(default_factory=set)
    capped: bool = False


def _parser(*, recover: bool) -> etree.XMLParser:
    # No entities, no DTD, no network, no huge-tree mode: a sitemap is data.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
        recover=recover,
    )


def parse_sitemap(body: bytes) -> tuple[str, list[SitemapEntry]]:
    """Return ("urlset" | "sitemapindex", entries); raises InputError if not a sitemap.

    Real sitemaps often carry small XML errors (a raw ``&``), so a document
    that fails strict parsing is re-read leniently and kept if it yields URLs.
    """
    try:
        root = etree.fromstring(body, _parser(recover=False))
    except etree.XMLSyntaxError as exc:
        error = f"malformed sitemap: {_one_line(exc)}"
        try:
            root = etree.fromstring(_BARE_AMPERSAND.sub(b"&amp;", body), _parser(recover=True))
        except etree.XMLSyntaxError:
            raise InputError(error) from None
        if root is None:
            raise InputError(error) from None
        kind, entries = _entries(root)
        if not entries:
            raise InputError(error) from None
        return kind, entries
    return _entries(root)


def _entries(root: etree._Element) -> tuple[str, list[SitemapEntry]]:
    kind = _local(root)
    if kind not in {"urlset", "sitemapindex"}:
        raise InputError(f"not a sitemap: root element is <{kind}>")
    child_name = "url" if kind == "urlset" else "sitemap"
    entries: list[SitemapEntry] = []
    for node in root:
        if not isinstance(node.tag, str) or _local(node) != child_name:
            continue
        fields = _fields(node)
        loc = fields.pop("loc", "")
        if loc:
            entries.append(SitemapEntry(loc, fields))
    return kind, entries


def _local(element: etree._Element) -> str:
    """An element's tag without namespace or prefix.

    Recovery mode keeps an undeclared prefix in the tag ("news:news"), which
    ``etree.QName`` refuses with a ValueError; the bare name is still right.
    """
    tag = element.tag if isinstance(element.tag, str) else ""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _one_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _fields(node: etree._Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for child in node.iter():
        if not isinstance(child.tag, str):
            continue
        name = _local(child)
        text = (child.text or "").strip()
        if not text:
            continue
        parent = child.getparent()
        parent_name = _local(parent) if parent is not None else ""
        if name == "loc" and parent is node:
            out["loc"] = text
        elif name == "lastmod" and parent is node:
            out["lastmod"] = text
        elif name == "publication_date":
            out["published"] = text
        elif name == "title" and parent_name == "news":
            out["title"] = text
        elif name == "name" and parent_name == "publication":
            out["site_name"] = text
        elif name == "language" and parent_name == "publication":
            out["language"] = text
    return out


def pages_from_sitemap(
    body: bytes,
    source: str,
    settings: Settings,
    fetcher: Fetcher | None,
) -> Iterator[Page | Failure]:
    """Fetch every page a sitemap (or sitemap index) lists."""
    walk = _Walk(settings, fetcher, settings.max_sitemap_urls)
    walk.seen_sitemaps.add(source)
    yield from _walk(body, source, 0, walk)


def _walk(body: bytes, source: str, depth: int, walk: _Walk) -> Iterator[Page | Failure]:
    try:
        if body.startswith(b"\x1f\x8b"):
            body = gunzip_bytes(body, walk.settings.max_decompressed_bytes)
        kind, entries = parse_sitemap(body)
    except InputError as exc:
        yield failure(source, exc)
        return
    if walk.fetcher is None:
        if entries:
            what = "sitemaps" if kind == "sitemapindex" else "URLs"
            yield Failure(
                source, f"sitemap lists {len(entries)} {what} but fetching is off", "InputError"
            )
        return
    if kind == "sitemapindex":
        yield from _children(entries, depth, walk, walk.fetcher)
        return
    for entry in entries:
        if walk.capped:
            return
        if entry.loc in walk.seen_urls:
            continue
        if walk.remaining <= 0:
            walk.capped = True
            yield Failure(
                source,
                f"sitemap URL limit of {walk.settings.max_sitemap_urls} reached; the rest skipped",
                "TooLargeError",
            )
            return
        walk.remaining -= 1
        walk.seen_urls.add(entry.loc)
        yield _fetch_page(entry, walk.fetcher)


def _children(
    entries: list[SitemapEntry], depth: int, walk: _Walk, fetcher: Fetcher
) -> Iterator[Page | Failure]:
    for entry in entries:
        if walk.capped:
            return
        if entry.loc in walk.seen_sitemaps:
            continue
        walk.seen_sitemaps.add(entry.loc)
        if depth + 1 > MAX_DEPTH:
            yield Failure(
                entry.loc,
                f"sitemap index nested deeper than {MAX_DEPTH} levels; not followed",
                "InputError",
            )
            continue
        try:
            child = fetcher.fetch(entry.loc)
        except InputError as exc:
            yield failure(entry.loc, exc)
            continue
        yield from _walk(child.body, entry.loc, depth + 1, walk)


def _fetch_page(entry: SitemapEntry, fetcher: Fetcher) -> Page | Failure:
    try:
        page = fetcher.fetch(entry.loc)
    except InputError as exc:
        return failure(entry.loc, exc)
    checked = as_document(page)
    return merge_meta(checked, entry.meta) if isinstance(checked, Page) else checked
