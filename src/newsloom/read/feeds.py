"""RSS, Atom and RDF feeds: full-text entries become pages, short ones are fetched.

feedparser only ever sees an in-memory stream: given a string or bytes it
would treat a URL-looking or path-looking body as something to open itself.
"""

from __future__ import annotations

import codecs
import html
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import feedparser

from newsloom.errors import InputError
from newsloom.read.outcome import as_document, failure, merge_meta
from newsloom.settings import Settings
from newsloom.types import Failure, Page

if TYPE_CHECKING:
    from newsloom.read.fetch import Fetcher

__all__ = ["MIN_INLINE_WORDS", "pages_from_feed", "word_count"]

#: Inline content at least this long is taken as the article itself.
MIN_INLINE_WORDS = 80

# A tag never holds a "<": with "[^>]*" every "<" of a long run that no ">"
# follows was retried to the end of the text, which was quadratic.
_TAG = re.compile(r"<[^<>]*>")
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})

# feedparser looks for an e-mail address in every author-like field with a
# regular expression that backtracks over each run of address characters, so
# its cost grows with the square of the field: a 175 kB name took 73 s
# (fuzz/run.py, seed 2, input 39136).  Real names and addresses are short, so
# such fields are cut before feedparser sees them, and runs of address
# characters in them to the longest part an address may have.
PERSON_BYTES = 256
_ADDRESS_PART = 64
_PERSON_OPEN = re.compile(
    rb"<(?:[A-Za-z_][\w.-]{0,40}:)?"
    rb"(?:author|creator|contributor|name|email|managingEditor|webMaster|owner|publisher)"
    rb"(?:\s[^<>]*)?>",
    re.IGNORECASE,
)
_ADDRESS_RUN = re.compile(rb"[A-Za-z0-9_.+\-]{%d,}" % (_ADDRESS_PART + 1))
# UTF-32 first: its little-endian mark starts with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_XML_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)["'][^"']*["']""")


def word_count(markup: str) -> int:
    """Words in an HTML fragment once tags and entities are removed."""
    return len(html.unescape(_TAG.sub(" ", markup)).split())


def pages_from_feed(
    body: bytes,
    source: str,
    settings: Settings,
    fetcher: Fetcher | None,
    *,
    fetched_at: datetime | None = None,
) -> Iterator[Page | Failure]:
    """Yield a Page per feed entry: inline when it holds the article, else fetched."""
    headers = {"content-location": source} if source.startswith(("http://", "https://")) else {}
    try:
        body = _cap_person_fields(_as_utf8(body))
        parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    except Exception as exc:  # feedparser raises assorted errors on hostile input
        # e.g. ValueError from chr() on a character reference past U+10FFFF.
        yield Failure(
            source, f"malformed feed: {_one_line(exc) or type(exc).__name__}", "InputError"
        )
        return
    entries = list(parsed.entries)
    if not entries:
        if parsed.bozo:
            detail = _one_line(parsed.get("bozo_exception")) or "not a feed"
            yield Failure(source, f"malformed feed: {detail}", "InputError")
        elif not parsed.get("version"):
            yield Failure(source, "not an RSS or Atom feed", "InputError")
        return
    site_name = _text(parsed.feed.get("title"))
    cap = settings.max_feed_entries
    seen: set[str] = set()
    for index, entry in enumerate(entries[:cap]):
        link = _text(entry.get("link"))
        if link:
            if link in seen:
                continue
            seen.add(link)
        meta = _entry_meta(entry, site_name)
        yield _entry_page(entry, index, link, meta, source, fetcher, fetched_at)
    if len(entries) > cap:
        yield Failure(
            source,
            f"feed has {len(entries)} entries; only the first {cap} were read",
            "TooLargeError",
        )


def _as_utf8(body: bytes) -> bytes:
    """A UTF-16 or UTF-32 feed as UTF-8 (declaration included), so the byte
    patterns below see its markup; any other body unchanged."""
    codec = next((name for bom, name in _BOMS if body.startswith(bom)), None)
    if codec is None:
        head = body[:4]
        if len(head) < 4 or b"\x00" not in head:
            return body
        # No byte-order mark: the zeros around "<" tell the width and order.
        codec = {
            b"<\x00\x00\x00": "utf-32-le",
            b"\x00\x00\x00<": "utf-32-be",
        }.get(head, "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be")
    text = body.decode(codec, errors="replace")
    return _XML_ENCODING.sub(r'\1"utf-8"', text, count=1).encode("utf-8")


def _cap_person_fields(body: bytes) -> bytes:
    """``body`` with the text of author-like elements cut to ``PERSON_BYTES``.

    Linear: each field's text ends at the next ``<`` (or a CDATA section's
    end), and the pattern that finds the fields stops at the next ``<`` too.
    """
    pieces: list[bytes] = []
    done = 0
    for match in _PERSON_OPEN.finditer(body):
        start = match.end()
        if start < done:
            continue
        cdata = body.startswith(b"<![CDATA[", start)
        end = body.find(b"]]>", start) if cdata else body.find(b"<", start)
        end = len(body) if end == -1 else end
        if end - start <= PERSON_BYTES and not _ADDRESS_RUN.search(body, start, end):
            continue
        short = _ADDRESS_RUN.sub(
            lambda run: run.group(0)[:_ADDRESS_PART], _cut(body[start:end], PERSON_BYTES)
        )
        pieces += [body[done:start], short]
        done = end
    if not pieces:
        return body
    pieces.append(body[done:])
    return b"".join(pieces)


def _cut(text: bytes, size: int) -> bytes:
    """The first ``size`` bytes of ``text``, not ending inside a UTF-8
    character or an entity reference."""
    if len(text) <= size:
        return text
    cut = size
    while cut > 0 and text[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte
        cut -= 1
    amp = text.rfind(b"&", max(0, cut - 12), cut)
    if amp != -1 and b";" not in text[amp:cut]:
        cut = amp
    return text[:cut]


def _entry_page(
    entry: Any,
    index: int,
    link: str,
    meta: dict[str, str],
    source: str,
    fetcher: Fetcher | None,
    fetched_at: datetime | None,
) -> Page | Failure:
    content, is_html = _inline_content(entry)
    words = word_count(content) if is_html else len(content.split())
    where = f"{source}#entry-{index + 1}"
    if words >= MIN_INLINE_WORDS:
        return Page(
            source=where,
            body=content.encode("utf-8"),
            url=link or None,
            kind="html" if is_html else "text",
            fetched_at=fetched_at,
            encoding="utf-8",
            meta=meta,
        )
    if not link:
        return Failure(where, f"entry has only {words} words inline and no link", "InputError")
    if fetcher is None:
        return Failure(
            link,
            f"entry has only {words} words inline and fetching is off",
            "InputError",
        )
    try:
        page = fetcher.fetch(link)
    except InputError as exc:
        return failure(link, exc)
    checked = as_document(page)
    return merge_meta(checked, meta) if isinstance(checked, Page) else checked


def _inline_content(entry: Any) -> tuple[str, bool]:
    """The richest inline text of an entry and whether it is HTML."""
    best, best_html = "", True
    for item in entry.get("content") or []:
        value = _text(item.get("value"))
        if len(value) > len(best):
            best, best_html = value, _text(item.get("type")).lower() in _HTML_TYPES
    if best:
        return best, best_html
    summary = _text(entry.get("summary"))
    detail = entry.get("summary_detail") or {}
    return summary, _text(detail.get("type") or "text/html").lower() in _HTML_TYPES


def _entry_meta(entry: Any, site_name: str) -> dict[str, str]:
    meta = {
        "title": _text(entry.get("title")),
        "published": _published(entry),
        "author": _text(entry.get("author")),
        "site_name": site_name,
    }
    return {key: value for key, value in meta.items() if value}


def _published(entry: Any) -> str:
    for key in ("published", "updated", "created"):
        parsed = entry.get(f"{key}_parsed")
        if parsed:
            try:
                return datetime(*parsed[:6], tzinfo=UTC).isoformat()
            except (TypeError, ValueError):
                continue
    # A date feedparser could not parse is still worth passing on verbatim.
    return _text(entry.get("published") or entry.get("updated"))


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _one_line(value: Any) -> str:
    text = str(value or "").strip()
    return text.splitlines()[0] if text else ""
