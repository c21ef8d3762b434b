"""Atom 1.0 feeds: the latest stories, and the articles of one story.

Titles and text come from the open web, so the XML is built as a tree with
lxml (which escapes ``<`` and ``&``) and every string first loses the
characters XML 1.0 forbids (NUL and other C0 controls, lone surrogates), which
would otherwise make lxml refuse the document or a reader reject it.

Ids are stable URNs (``urn:newsloom:story:<id>``, ``urn:newsloom:article:<id>``)
that do not depend on where the site is served, and ``updated`` comes from the
stored dates, never from the clock: the same store gives the same feed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from lxml import etree

from newsloom.analyse import provenance_tree
from newsloom.sentences import split_sentences
from newsloom.store.base import Store
from newsloom.types import Article, Provenance, Story, StorySummary, SummarySentence

__all__ = [
    "ATOM_NS",
    "lead_sentences",
    "site_feed",
    "story_feed",
    "story_sentences",
    "web_url",
    "xml_text",
]

ATOM_NS = "http://www.w3.org/2005/Atom"
_A = f"{{{ATOM_NS}}}"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Everything outside XML 1.0's Char production, plus DEL and the C1 controls
# it only discourages: no reader shows them and some choke on them.
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SPACES = re.compile(r"\s+")
_GENERATOR = "newsloom"
_AUTHOR_ARTICLES = 20  # outlets named per story entry


def xml_text(value: str | None) -> str:
    """``value`` without the characters XML 1.0 cannot carry ('' for None)."""
    return _NOT_XML.sub("", value or "")


def web_url(url: str | None) -> str | None:
    """``url`` if it is an http(s) address, else None.

    A stored URL came from the page; ``javascript:`` or ``data:`` ones must
    not become links a reader's client follows.
    """
    if not url:
        return None
    url = xml_text(url).strip()
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    return url if scheme in {"http", "https"} and not _SPACES.search(url) else None


def _line(value: str | None) -> str:
    # Titles and names are one line in every reader.
    return _SPACES.sub(" ", xml_text(value)).strip()


def _when(value: datetime | None) -> str:
    """RFC 3339 in UTC; a naive time is taken as UTC, a missing one as the epoch."""
    if value is None:
        value = _EPOCH
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _base(base_url: str) -> str:
    return base_url.rstrip("/")


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, _A + tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def _author(parent: etree._Element, name: str, uri: str | None = None) -> None:
    author = _sub(parent, "author")
    _sub(author, "name", _line(name) or "unknown")
    if uri:
        _sub(author, "uri", uri)


def _feed(
    feed_id: str, title: str, updated: datetime | None, self_href: str, alternate: str
) -> etree._Element:
    root = etree.Element(_A + "feed", nsmap={None: ATOM_NS})
    _sub(root, "id", feed_id)
    _sub(root, "title", _line(title))
    _sub(root, "updated", _when(updated))
    _sub(root, "link", rel="self", type="application/atom+xml", href=self_href)
    _sub(root, "link", rel="alternate", type="text/html", href=alternate)
    # A feed-level author covers entries whose sources are unknown (Atom requires one).
    _author(root, "newsloom")
    _sub(root, "generator", _GENERATOR)
    return root


def _serialise(root: etree._Element) -> str:
    body = etree.tostring(root, encoding="unicode", pretty_print=True)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body


# -- what a story says in one paragraph -----------------------------------


def lead_sentences(article: Article, count: int = 2) -> list[SummarySentence]:
    """The first ``count`` sentences of an article, cited to it with their spans."""
    return [
        SummarySentence(s.text, article.id, s.start, s.end)
        for s in split_sentences(article.text)[:count]
    ]


def _first_original(
    story: Story, articles: Sequence[Article], edges: Sequence[Provenance]
) -> Article | None:
    """The earliest-published article nothing in the story was found to copy from."""
    roots = {node["article_id"] for node in provenance_tree(story.article_ids, edges)}
    late = datetime.max.replace(tzinfo=UTC)

    def order(article: Article) -> tuple[bool, datetime, str]:
        published = article.published
        if published is not None and published.tzinfo is None:
            published = published.replace(tzinfo=UTC)
        return (article.id not in roots, published or late, article.id)

    with_text = [a for a in articles if a.paragraphs]
    return min(with_text, key=order) if with_text else None


def story_sentences(
    store: Store,
    story: Story,
    summary: StorySummary | None = None,
    *,
    articles: Sequence[Article] | None = None,
    lead: int = 2,
) -> tuple[list[SummarySentence], bool]:
    """What the story says: its cited summary, else the lead of its first original.

    Returns the sentences and whether they are the story summary (``True``)
    or an article's lead sentences standing in for a summary not made yet.
    """
    if summary is not None and summary.summary:
        return list(summary.summary), True
    if articles is None:
        articles = [a for i in story.article_ids if (a := store.get_article(i))]
    first = _first_original(story, articles, store.story_provenance(story.id))
    return (lead_sentences(first, lead) if first else []), False


def _joined(sentences: Iterable[SummarySentence]) -> str:
    return " ".join(_SPACES.sub(" ", s.text).strip() for s in sentences)


def _outlets(articles: Iterable[Article]) -> list[str]:
    """Distinct outlet names in article order (site name, else the URL's host)."""
    from newsloom.extract.citations import registered_host

    names: dict[str, None] = {}
    for article in articles:
        name = _line(article.site_name) or registered_host(article.url) or ""
        if name:
            names.setdefault(name, None)
    return list(names)


# -- the feeds -------------------------------------------------------------


def site_feed(store: Store, base_url: str, *, limit: int = 50) -> str:
    """Atom feed of the ``limit`` most recently updated stories.

    Each entry links to ``{base_url}/story/{id}``, names the story's outlets as
    authors and carries the story summary as its text (the first original's
    lead sentences while no summary is stored).  ``base_url`` may be ``""``
    for relative links.
    """
    base = _base(base_url)
    stories = store.iter_stories(limit=limit)
    updated = max((s.updated or _EPOCH for s in stories), default=_EPOCH)
    root = _feed(
        "urn:newsloom:feed:stories",
        "newsloom: latest stories",
        updated,
        f"{base}/feed.atom",
        f"{base}/",
    )
    for story in stories:
        summary = store.story_summary(story.id)
        # A story of 500 reports must not load 500 articles for its byline:
        # the outlets of the first few do, unless the lead must be found.
        wanted = story.article_ids if summary is None else story.article_ids[:_AUTHOR_ARTICLES]
        articles = [a for i in wanted if (a := store.get_article(i))]
        sentences, _ = story_sentences(store, story, summary, articles=articles)
        entry = _sub(root, "entry")
        _sub(entry, "id", f"urn:newsloom:story:{story.id}")
        _sub(entry, "title", _line(story.title) or "(untitled story)")
        _sub(entry, "updated", _when(story.updated))
        if story.first_seen is not None:
            _sub(entry, "published", _when(story.first_seen))
        _sub(entry, "link", rel="alternate", type="text/html", href=f"{base}/story/{story.id}")
        _sub(
            entry,
            "link",
            rel="related",
            type="application/atom+xml",
            href=f"{base}/story/{story.id}/feed.atom",
        )
        for outlet in _outlets(articles[:_AUTHOR_ARTICLES]):
            _author(entry, outlet)
        text = _joined(sentences)
        count = len(story.article_ids)
        sources = f"{count} report{'s' if count != 1 else ''}"
        _sub(entry, "summary", f"{text} ({sources})" if text else sources, type="text")
    return _serialise(root)


def _relations(edges: Sequence[Provenance]) -> dict[str, Provenance]:
    return {e.derived_id: e for e in edges if e.directed and e.relation != "independent"}


def _article_when(article: Article, story: Story) -> datetime:
    when = article.published or article.fetched_at or story.updated or _EPOCH
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def story_feed(store: Store, story_id: str, base_url: str, *, limit: int = 100) -> str:
    """Atom feed of one story's articles, newest first.

    Each entry links to ``{base_url}/article/{id}`` (``alternate``) and to the
    original page (``via``); its authors are the article's byline, else its
    outlet; a ``category`` says how it relates to the story's other reports
    (``original``, ``rewrite``, ``near_copy``, … and whether it credits its
    source).  Raises ``KeyError`` when no story has this id (or unique prefix).
    """
    story = store.get_story(story_id)
    if story is None:
        raise KeyError(story_id)
    base = _base(base_url)
    articles = [a for i in story.article_ids if (a := store.get_article(i))]
    articles.sort(key=lambda a: (_article_when(a, story), a.id), reverse=True)
    articles = articles[:limit]
    edges = store.story_provenance(story.id)
    parents = _relations(edges)
    sources = {e.source_id for e in parents.values()}
    summary = store.story_summary(story.id)
    per_article = summary.articles if summary is not None else {}
    names = {a.id: _line(a.site_name) or _line(a.title) or a.id for a in articles}

    updated = max((_article_when(a, story) for a in articles), default=story.updated)
    root = _feed(
        f"urn:newsloom:feed:story:{story.id}",
        f"newsloom: {_line(story.title) or story.id}",
        updated,
        f"{base}/story/{story.id}/feed.atom",
        f"{base}/story/{story.id}",
    )
    for article in articles:
        entry = _sub(root, "entry")
        _sub(entry, "id", f"urn:newsloom:article:{article.id}")
        _sub(entry, "title", _line(article.title) or "(untitled article)")
        _sub(entry, "updated", _when(_article_when(article, story)))
        if article.published is not None:
            _sub(entry, "published", _when(article.published))
        _sub(entry, "link", rel="alternate", type="text/html", href=f"{base}/article/{article.id}")
        original = web_url(article.url)
        if original:
            _sub(entry, "link", rel="via", type="text/html", href=original)
        if article.authors:
            for name in article.authors:
                _author(entry, name, original)
        elif article.site_name:
            _author(entry, article.site_name, original)
        edge = parents.get(article.id)
        if edge is not None:
            credit = "credited" if edge.attributed else "uncredited"
            source = names.get(edge.source_id, edge.source_id)
            label = f"{edge.relation.replace('_', ' ')} of {source} ({credit})"
            _sub(entry, "category", term=edge.relation, label=label)
        elif article.id in sources:
            _sub(entry, "category", term="original", label="original report")
        else:
            _sub(entry, "category", term="independent", label="independent report")
        own = per_article.get(article.id) or []
        text = _joined(own) or _line(article.description) or _joined(lead_sentences(article))
        if text:
            _sub(entry, "summary", text, type="text")
    return _serialise(root)
