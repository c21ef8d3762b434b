"""Main text and metadata of an HTML page.

trafilatura finds the main content and htmldate the publication date; both
accept a parsed lxml tree, so the page is parsed once here and shared.
trafilatura runs in its fast mode (no readability/jusText comparison) without
reader comments: measured on the evaluation sets that is both more accurate
and quicker than its defaults, and the saved time pays for the metadata,
date and link passes (see docs/quality.md).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import ParamSpec, TypeVar

from htmldate import find_date
from lxml.etree import XPath
from lxml.html import HtmlElement
from trafilatura import bare_extraction
from trafilatura.metadata import (
    examine_meta,
    extract_meta_json,
    extract_sitename,
    extract_title,
)
from trafilatura.settings import Document
from trafilatura.utils import load_html
from trafilatura.xml import xmltotxt

from newsloom.errors import ExtractionError
from newsloom.extract.citations import parse_read_more, parse_summary_by
from newsloom.extract.draft import Draft, Link
from newsloom.extract.html_clean import Block, clean_blocks
from newsloom.extract.html_meta import (
    byline_author,
    canonical_url,
    declared_language,
    http_url,
    split_authors,
    structured_dates,
)
from newsloom.types import Citation

__all__ = ["extract_html"]

# Readers cap files at 10 MB; a decoded page beyond this is not an article.
MAX_HTML_CHARS = 25_000_000

_P = ParamSpec("_P")
_T = TypeVar("_T")
_LIST_MARKER = re.compile(r"^\s*-\s+")
_WORDS = re.compile(r"\w+")
_BLOCKS = frozenset(
    {
        "p",
        "li",
        "td",
        "th",
        "dd",
        "dt",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "figcaption",
        "div",
        "section",
        "article",
        "pre",
        "caption",
    }
)


def extract_html(html: str, *, url: str | None = None) -> Draft:
    """Main text and metadata of one decoded HTML page.

    Raises ``ExtractionError`` when the page has no main text (or is not HTML
    at all); any other failure inside the third-party extractors is reported
    the same way, since the input is untrusted web content.
    """
    if not isinstance(html, str):
        raise ExtractionError(f"expected decoded text, got {type(html).__name__}", source=url)
    if len(html) > MAX_HTML_CHARS:
        raise ExtractionError(f"page too large to extract ({len(html)} characters)", source=url)
    tree = _parse(html)
    if tree is None:
        raise ExtractionError("no HTML document found", source=url)

    meta = _metadata(tree)
    title = _clean_text(meta.title)
    blocks = _main_blocks(tree, url)
    canonical = _guarded(canonical_url, tree, url)
    base = _guarded(_link_base, tree, url) or canonical
    block_links = _guarded(_block_links, tree, blocks, base) or [[] for _ in blocks]
    keep, chrome, repairs = clean_blocks(blocks, titles=[title, *_headings(tree)])
    paragraphs = [b.text for b, kept in zip(blocks, keep, strict=True) if kept]
    if not paragraphs:
        raise ExtractionError("no main text found", source=url)
    citations = [
        cited
        for index, block in enumerate(blocks)
        if not keep[index] and (cited := _credit(block, block_links[index]))
    ]

    published, date_source = _publication_date(tree, url)
    return Draft(
        paragraphs=paragraphs,
        title=title,
        authors=_authors(tree, meta),
        published=published,
        date_source=date_source,
        site_name=_site_name(tree, meta),
        language=_guarded(declared_language, tree),
        canonical_url=canonical,
        description=_clean_text(meta.description),
        links=_unique(
            link for index, links in enumerate(block_links) if keep[index] for link in links
        ),
        chrome=chrome,
        repairs=repairs,
        citations=citations,
    )


def _guarded(func: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T | None:
    # Metadata helpers are best effort: a crash on odd markup must cost the
    # field, not the article.
    try:
        return func(*args, **kwargs)
    except Exception:
        return None


def _parse(html: str) -> HtmlElement | None:
    try:
        html.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates (from a bad decode upstream) make lxml drop whole text nodes.
        html = html.encode("utf-8", errors="replace").decode("utf-8")
    try:
        tree = load_html(html)
        if tree is None and html.strip():
            # trafilatura rejects bare fragments ("<p>text</p>"); a wrapper makes them a document.
            tree = load_html(f"<html><body>{html}</body></html>")
    except Exception:
        # libxml2 and trafilatura's repair steps fail in ways nobody enumerates on
        # hostile input; such a page simply has no document.
        return None
    return tree


def _clean_text(value: str | None) -> str | None:
    text = " ".join(value.split()) if value else ""
    return text or None


# trafilatura strips tags from JSON-LD and <meta content> with "<[^>]*>",
# which restarts at every "<" that no ">" follows: a long run of them after
# the last ">" made the metadata pass quadratic (10 s for 190 kB).
_METADATA_SOURCES = XPath(
    './/script[@type="application/ld+json" or @type="application/settings+json"]|.//meta[@content]'
)


def _without_unclosed_brackets(text: str) -> str:
    """``text`` without the "<"s after its last ">": none of them can open a tag."""
    last = text.rfind(">")
    tail = text[last + 1 :]
    return text[: last + 1] + tail.replace("<", "") if "<" in tail else text


# trafilatura cleans author names with "[^\w]+$", which backtracks over a run
# of non-word characters at every position of it when a letter follows: a
# 154 kB run of "!" before a name in JSON-LD took 156 s of CPU (fuzz/run.py,
# seed 2, input 63966).  Such runs are cut to their ends, which keeps any
# JSON punctuation at their edges; structured data never needs them whole.
_LONG_NONWORD_RUN = re.compile(r"[^\w\n]{257,}")
_RUN_EDGE = 128


def _cut_long_runs(text: str) -> str:
    return _LONG_NONWORD_RUN.sub(lambda run: run[0][:_RUN_EDGE] + run[0][-_RUN_EDGE:], text)


def _defuse(text: str) -> str:
    """``text`` without what makes trafilatura's metadata patterns super-linear."""
    if "<" in text:
        text = _without_unclosed_brackets(text)
    return _cut_long_runs(text) if len(text) > 2 * _RUN_EDGE else text


def _defuse_tag_stripping(tree: HtmlElement) -> None:
    for element in _METADATA_SOURCES(tree):
        if element.tag == "meta":
            content = element.get("content") or ""
            safe = _defuse(content)
            if safe != content:
                element.set("content", safe)
        elif element.text:
            safe = _defuse(element.text)
            if safe != element.text:
                element.text = safe


def _metadata(tree: HtmlElement) -> Document:
    _guarded(_defuse_tag_stripping, tree)
    meta = _guarded(examine_meta, tree) or Document()
    # JSON-LD is the publisher's own structured statement: it overrides the meta tags.
    meta = _guarded(extract_meta_json, tree, meta) or meta
    if not _clean_text(meta.title):
        meta.title = _guarded(extract_title, tree)
    return meta


def _main_blocks(tree: HtmlElement, url: str | None) -> list[Block]:
    """The main text as lines, marked as headings and list items where trafilatura says so."""
    try:
        document = bare_extraction(
            tree,
            url=url,
            fast=True,
            include_comments=False,
            include_tables=True,
            with_metadata=False,
        )
        if document is None:
            return []
        body = document.body
        text = xmltotxt(body, False)
        headings = {" ".join(xmltotxt(head, False).split()) for head in body.iter("head")}
    except Exception as exc:
        # trafilatura raises whatever its helpers raise on pathological trees
        # (RecursionError on deep nesting, lxml errors on control characters).
        raise ExtractionError(f"main-text extraction failed: {exc!r}") from None
    blocks = []
    for line in text.splitlines():
        marker = _LIST_MARKER.match(line)
        clean = " ".join((line[marker.end() :] if marker else line).split())
        if clean:
            kind = "head" if clean in headings else "item" if marker else "p"
            blocks.append(Block(clean, kind))
    return blocks


def _headings(tree: HtmlElement) -> list[str]:
    return [" ".join(h1.text_content().split()) for h1 in tree.iter("h1")][:3]


def _publication_date(tree: HtmlElement, url: str | None) -> tuple[datetime | None, str | None]:
    """The publication timestamp and where it came from.

    htmldate (original date) decides the day: on its evaluation set it beats
    any single structured field, which publishers fill with UTC instants,
    template defaults or modification dates.  When a structured field agrees
    on that day, its full timestamp (time and offset) is kept instead of a
    bare day.  htmldate's extensive search is left off: it hands free text to
    dateparser, whose first calls in a process cost seconds, and as a
    fallback it found the right day on only 6 more of 240 evaluation pages.
    """
    structured = _guarded(structured_dates, tree) or []
    found = _guarded(find_date, tree, original_date=True, extensive_search=False, url=url)
    day = None
    if found:
        try:
            day = datetime.strptime(found, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            day = None
    if day is None:
        return structured[0] if structured else (None, None)
    for stamp, origin in structured:
        if stamp.date() == day.date():
            return stamp, origin
    return day, "htmldate:original"


def _credit(block: Block, links: list[Link]) -> Citation | None:
    """A source named by a line set aside as furniture: "Summary by X", "Read more: … (X)"."""
    cited = parse_summary_by(block.text) or parse_read_more(block.text)
    if cited is not None and cited.url is None and links:
        cited.url = links[0].href
    return cited


def _authors(tree: HtmlElement, meta: Document) -> list[str]:
    # The byline search walks the whole tree, so it runs only when no meta tag names the author.
    return split_authors(meta.author or _guarded(byline_author, tree))


_URLISH = re.compile(r"^(?:https?://|www\.)", re.I)


def _site_name(tree: HtmlElement, meta: Document) -> str | None:
    name = _clean_text(meta.sitename)
    # article:publisher often holds the outlet's Facebook page, not its name.
    if name and _URLISH.match(name):
        name = None
    return name or _clean_text(_guarded(extract_sitename, tree))


def _link_base(tree: HtmlElement, url: str | None) -> str | None:
    """What relative links resolve against: ``<base href>``, else the page's own URL."""
    base = tree.find(".//base[@href]")
    if base is not None:
        return http_url(base.get("href"), url)
    return http_url(url, None)


def _tokens(text: str) -> str:
    return " ".join(_WORDS.findall(text))


def _block_links(tree: HtmlElement, blocks: list[Block], base: str | None) -> list[list[Link]]:
    """The hyperlinks of each block, and each block's share of link text (set on the block).

    trafilatura's own link output changes what it extracts (link density
    feeds its boilerplate decisions), so anchors are read from the parsed
    tree and matched to a block through the text of the element around them.
    """
    locate = _BlockLocator(blocks)
    linked = [0] * len(blocks)
    links: list[list[Link]] = [[] for _ in blocks]
    spans: dict[HtmlElement, tuple[int, int] | None] = {}
    for anchor in tree.iter("a"):
        text = " ".join(anchor.text_content().split())
        # Cheap test first: most links on a page (menus, footers) are not in the text at all.
        if not text or text not in locate.text:
            continue
        container = next((a for a in anchor.iterancestors() if a.tag in _BLOCKS), anchor)
        if container in spans:
            span = spans[container]
        else:
            span = spans[container] = locate.span(_tokens(container.text_content()))
        words = _tokens(text)
        if span is None:
            # The container holds text trafilatura dropped (a big <div> with loose
            # text and <br>s); the words right around the link still place it.
            span = locate.span(_tokens(_around(anchor, text)))
            if span is None or span[0] != span[1]:
                continue
        home = locate.within(span, words)
        if home is None:
            continue
        linked[home] += len(words)
        href = http_url(anchor.get("href"), base)
        if href:
            links[home].append(Link(text=text, href=href))
    for block, count, words in zip(blocks, linked, locate.words, strict=True):
        block.link_density = min(1.0, count / len(words)) if words else 0.0
    return links


def _around(anchor: HtmlElement, text: str) -> str:
    """The link text with the loose text just before and after it."""
    previous = anchor.getprevious()
    parent = anchor.getparent()
    before = previous.tail if previous is not None else parent.text if parent is not None else ""
    return f"{before or ''} {text} {anchor.tail or ''}"


class _BlockLocator:
    """Places an element's text among the blocks: the run of blocks it covers."""

    # Containers that are not a whole block need a search through the whole
    # text; past this many the rest are ignored, so a page with thousands of
    # odd containers cannot turn link matching quadratic.
    SEARCH_BUDGET = 400

    def __init__(self, blocks: list[Block]) -> None:
        self.words = [_tokens(b.text) for b in blocks]
        self.first: dict[str, int] = {}
        self.starts: list[int] = []
        offset = 0
        for index, text in enumerate(self.words):
            self.first.setdefault(text, index)
            self.starts.append(offset)
            offset += len(text) + 1
        # Padded with spaces so a search matches whole words only.
        self.joined = f" {' '.join(self.words)} "
        self.text = "\n".join(b.text for b in blocks)
        self.budget = self.SEARCH_BUDGET

    def span(self, container: str) -> tuple[int, int] | None:
        """First and last block of the container's text, if it is all in the main text."""
        if not container:
            return None
        if container in self.first:
            index = self.first[container]
            return index, index
        # A short container ("Home") may occur anywhere by chance; a longer one is specific.
        if len(container.split()) < 4 or self.budget <= 0:
            return None
        self.budget -= 1
        # The match starts at the space before the container: the padding offsets it back.
        position = self.joined.find(f" {container} ")
        if position < 0:
            return None
        first = bisect_right(self.starts, position) - 1
        last = bisect_right(self.starts, position + len(container) - 1) - 1
        return first, last

    def within(self, span: tuple[int, int], words: str) -> int | None:
        """The block of the span that holds an anchor's words (a container may cover several)."""
        first, last = span
        if first == last:
            return first
        if not words:
            return None
        return next(
            (i for i in range(first, last + 1) if f" {words} " in f" {self.words[i]} "), None
        )


def _unique(links: Iterable[Link]) -> list[Link]:
    seen: set[tuple[str, str]] = set()
    out = []
    for link in links:
        if (link.text, link.href) not in seen:
            seen.add((link.text, link.href))
            out.append(link)
    return out
