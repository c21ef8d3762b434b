"""A static copy of the web app: every page rendered in-process, links made relative.

The pages are the web app's own (``newsloom.web``), fetched through
``fastapi.testclient.TestClient`` so the site and the server can never
differ.  The app reads a snapshot of the store: rendering a page counts a view,
and an export must neither change the stored counts nor see a store that
changes half-way.

Each address becomes a file (``/`` → ``index.html``, ``/stories?page=2`` →
``stories-page-2.html``, ``/story/ID`` → ``story/ID.html``,
``/article/ID?hl=5-40`` → ``article/ID-hl-5-40.html``, ``/story/ID.json`` →
``story/ID.json``, ``/static/…`` as is)
and every internal link is rewritten to the file's relative path, so the site
works from ``file://``.  What a static site cannot do (search and its
results) links to ``base_url`` when one is given and is dropped otherwise.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import sqlite3
import uuid
from collections import deque
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from newsloom.errors import InputError, NewsloomError
from newsloom.export import iter_export_stories
from newsloom.store.base import Store

if TYPE_CHECKING:
    from collections.abc import Iterator

    from newsloom.export import ExportWriter

__all__ = ["export_site", "site_file"]

_ID = r"[A-Za-z0-9_-]{1,64}"
# Addresses the static site holds; anything else stays on the server.
_PAGES = re.compile(rf"/|/stories|/story/{_ID}|/article/{_ID}")
# Their .json twins ("/" has /index.json): a static site keeps them too.
_TWINS = re.compile(rf"/index|/stories|/story/{_ID}|/article/{_ID}")
_FEEDS = re.compile(rf"/feed\.atom|/story/({_ID})/feed\.atom")
_STATIC = re.compile(r"/static/[A-Za-z0-9_./-]+")
_KEPT_PARAMS = ("page", "hl")
_PARAM_VALUE = re.compile(r"[0-9]{1,8}(-[0-9]{1,8})?")
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(/[^'")\s]+)\1\s*\)""")


def _local_query(query: str) -> str | None:
    """The query the file name keeps ("" for none), or None if it is not ours."""
    params = parse_qsl(query, keep_blank_values=True)
    kept: list[tuple[str, str]] = []
    for key, value in params:
        if key not in _KEPT_PARAMS or not _PARAM_VALUE.fullmatch(value):
            return None
        if key == "page" and value == "1":
            continue  # page 1 is the page itself: one file, not two
        kept.append((key, value))
    return urlencode(sorted(kept))


def site_file(address: str) -> str | None:
    """The file (relative to the site root) that holds a local address, else None."""
    parts = urlsplit(address)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    path = parts.path
    if _STATIC.fullmatch(path) and ".." not in path.split("/"):
        return path.lstrip("/")
    if _FEEDS.fullmatch(path):
        return path.lstrip("/")
    if _PAGES.fullmatch(path):
        stem, ext = ("index" if path == "/" else path.lstrip("/")), ".html"
    elif path.endswith(".json") and _TWINS.fullmatch(path[: -len(".json")]):
        stem, ext = path[1 : -len(".json")], ".json"
    else:
        return None
    query = _local_query(parts.query)
    if query is None:
        return None
    suffix = "".join(f"-{k}-{v}" for k, v in parse_qsl(query))
    return f"{stem}{suffix}{ext}"


def _canonical(address: str) -> str:
    """The address without its fragment and with page 1 made implicit."""
    parts = urlsplit(address)
    query = _local_query(parts.query) or ""
    return parts.path + (f"?{query}" if query else "")


class _Site:
    """The crawl: which addresses are exported, and how a link from one file reads."""

    def __init__(
        self,
        story_ids: set[str] | None,
        article_ids: set[str] | None,
        base_url: str,
    ) -> None:
        self.story_ids = story_ids  # None: every story
        self.article_ids = article_ids
        self.base_url = base_url.rstrip("/")

    def exported(self, address: str) -> str | None:
        """The file of ``address`` if the export holds it."""
        target = site_file(address)
        if target is None:
            return None
        kind, _, rest = urlsplit(address).path.strip("/").partition("/")
        item = rest.split("/", 1)[0]
        if kind == "story" and self.story_ids is not None and item not in self.story_ids:
            return None
        if kind == "article" and self.article_ids is not None and item not in self.article_ids:
            return None
        return target

    def link(self, from_file: str, address: str) -> str | None:
        """``address`` as seen from ``from_file``: relative when exported, else
        on ``base_url``, else None (the link is dropped)."""
        if not address.startswith("/") or address.startswith("//"):
            return address  # external, fragment-only or relative: left as written
        target = self.exported(address)
        if target is None:
            return f"{self.base_url}{address}" if self.base_url else None
        fragment = urlsplit(address).fragment
        relative = posixpath.relpath(target, posixpath.dirname(from_file) or ".")
        return relative + (f"#{fragment}" if fragment else "")


def _rewrite_html(body: bytes, from_file: str, site: _Site) -> tuple[str, list[str]]:
    """The page with relative links, and the local addresses it links to."""
    import lxml.html

    doc = lxml.html.document_fromstring(body)
    found: list[str] = []
    for form in list(doc.iter("form")):
        action = form.get("action") or ""
        target = site.link(from_file, action) if action else None
        if target is None:
            form.drop_tree()  # search needs the server
        else:
            form.set("action", target)
    for _el, _attr, link, _pos in doc.iterlinks():
        if site.exported(link.strip()) is not None:
            found.append(link.strip())

    def rewrite(link: str) -> str | None:
        return site.link(from_file, link)

    doc.rewrite_links(rewrite, resolve_base_href=False)
    html = lxml.html.tostring(doc, doctype="<!DOCTYPE html>", encoding="unicode", method="html")
    return html, found


def _rewrite_css(text: str, from_file: str, site: _Site) -> str:
    def one(match: re.Match[str]) -> str:
        target = site.link(from_file, match.group(2))
        return f"url({match.group(1)}{target or 'about:invalid'}{match.group(1)})"

    return _CSS_URL.sub(one, text)


@contextmanager
def _snapshot(store: Store, beside: Path) -> Iterator[str]:
    """A copy of a file store for the app to read (and count views in)."""
    path = getattr(store, "path", None)
    if not isinstance(path, Path):
        raise InputError(f"the html export renders pages from a store in a file, not {store.url!r}")
    copy = beside / f".snapshot-{uuid.uuid4().hex[:8]}.db"
    source = sqlite3.connect(path)
    try:
        target = sqlite3.connect(copy)
        try:
            source.backup(target)  # consistent even while an ingest writes
        finally:
            target.close()
    finally:
        source.close()
    try:
        yield f"sqlite:///{copy.absolute()}"
    finally:
        for leftover in beside.glob(copy.name + "*"):  # -wal, -shm
            leftover.unlink(missing_ok=True)


def _static_addresses() -> list[str]:
    try:
        from newsloom.web.app import STATIC
    except ImportError:
        return []
    if not STATIC.is_dir():
        return []
    return sorted(
        "/static/" + p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*") if p.is_file()
    )


def export_site(
    store: Store,
    writer: ExportWriter,
    since: datetime | None,
    on_item: Callable[[str], None],
    base_url: str,
) -> None:
    """Render the site into ``writer``'s directory; see the module docstring."""
    try:
        from fastapi.testclient import TestClient

        from newsloom.web import create_app
    except ImportError as exc:  # the web app is an optional part of an install
        raise NewsloomError(f"the html export needs newsloom.web and fastapi: {exc}") from exc
    from newsloom.feeds import site_feed, story_feed

    report = writer.report
    stories = list(iter_export_stories(store, since))
    story_ids = {s.id for s in stories}
    article_ids = {a for s in stories for a in s.article_ids}
    site = _Site(
        story_ids if since is not None else None,
        article_ids if since is not None else None,
        base_url,
    )
    queue: deque[str] = deque(["/", "/stories"])
    queue += [f"/story/{s.id}" for s in stories]
    queue += [f"/article/{a}" for a in sorted(article_ids)]
    queue += _static_addresses()
    seen: set[str] = set()
    scratch = writer.root.parent / f".site-{uuid.uuid4().hex[:8]}"
    scratch.mkdir()
    try:
        with _snapshot(store, scratch) as url, TestClient(create_app(url)) as client:
            while queue:
                address = _canonical(queue.popleft())
                if address in seen:
                    continue
                seen.add(address)
                target = site.exported(address)
                if target is None:
                    continue
                found = _render(client, address, target, writer, site)
                if found is None:
                    report.missing.append(address)
                    continue
                report.pages.append(address)
                queue += found
                # Count each story and article once: by its page, not its twin or variants.
                kind, _, item = address.strip("/").partition("/")
                if target != f"{kind}/{item}.html":
                    continue
                if kind == "story":
                    report.stories += 1
                    on_item(item)
                elif kind == "article":
                    report.articles += 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    # Feeds come from newsloom.feeds directly: the app would write its test
    # host into their links.
    writer.text("feed.atom", site_feed(store, base_url, limit=max(len(stories), 1)))
    for story in stories:
        writer.text(f"story/{story.id}/feed.atom", story_feed(store, story.id, base_url))


def _render(
    client: Any, address: str, target: str, writer: ExportWriter, site: _Site
) -> list[str] | None:
    """Fetch one address and write its file; the local links it holds, or None if missing."""
    if _FEEDS.fullmatch(urlsplit(address).path):
        return []  # written from newsloom.feeds afterwards
    response = client.get(address, follow_redirects=False)
    if response.status_code != 200:
        return None
    content_type = response.headers.get("content-type", "")
    if content_type.startswith("text/html"):
        html, found = _rewrite_html(response.content, target, site)
        writer.text(target, html)
        return found
    if content_type.startswith("application/json"):
        writer.text(target, response.text)
        return []
    if content_type.startswith("text/css"):
        writer.text(target, _rewrite_css(response.text, target, site))
        return []
    writer.binary(target, response.content)
    return []
