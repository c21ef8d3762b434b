"""What each page shows, as plain JSON-ready dicts.

The HTML templates and the ``.json`` twins render the very same dicts, so the
two can never disagree.  Nothing here escapes anything: the templates do,
and URLs from pages pass through ``safe_url`` before they may become links.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from newsloom.analyse import provenance_tree
from newsloom.credits import credits
from newsloom.extract.citations import registered_host
from newsloom.store.base import Store
from newsloom.types import Article, Conflict, Provenance, Story, SummarySentence
from newsloom.web.cite import apa_of_article, apa_of_reference
from newsloom.web.security import safe_url

__all__ = [
    "PER_PAGE",
    "Pager",
    "article_page",
    "dont_miss",
    "highlight_pieces",
    "independent_sources",
    "search_page",
    "snippet_pieces",
    "stories_page",
    "story_page",
]

PER_PAGE = 20
SOURCES_PER_PAGE = 30  # provenance roots per story page; copies stay with their root
MAX_PAGE = 10_000
MAX_QUERY_CHARS = 200
# Sites shown per story card: a story of 500 articles must not load 500 of them.
CARD_SITES = 8
RELATION_LABELS = {
    "original": "original report",
    "independent": "independent report",
    "duplicate": "exact copy",
    "near_copy": "near copy",
    "rewrite": "rewrite",
    "summary": "summary",
    "quotes": "quotes it",
}


@dataclass(slots=True, frozen=True)
class Pager:
    """Where a list page is: links only where there is something to show."""

    page: int
    per_page: int
    has_next: bool

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def to_dict(self) -> dict[str, Any]:
        return {
            "page": self.page,
            "per_page": self.per_page,
            "prev": self.page - 1 if self.page > 1 else None,
            "next": self.page + 1 if self.has_next else None,
        }


def _page_of(items: list[Any], page: int, per_page: int) -> tuple[list[Any], Pager]:
    """``items`` fetched with limit ``per_page + 1``: the extra one says a next page exists."""
    return items[:per_page], Pager(page, per_page, len(items) > per_page)


def article_path(article_id: str, span: tuple[int, int] | None = None) -> str:
    path = f"/article/{quote(article_id, safe='')}"
    if span and span[1] > span[0]:
        # The article page marks the span and the fragment scrolls to it.
        path += f"?hl={span[0]}-{span[1]}#hl"
    return path


def story_path(story_id: str) -> str:
    return f"/story/{quote(story_id, safe='')}"


def outlet(article: Article | None) -> str:
    """The name a reader knows the source by.

    A saved page with no site name and no URL (the seeds) is known by its
    file name, never by the folder it was read from.
    """
    if article is None:
        return "unknown source"
    name = (article.site_name or "").strip() or registered_host(article.url)
    if name:
        return name
    where = article.source.split("#", 1)[0].replace("\\", "/").rstrip("/")
    return registered_host(where) or where.rsplit("/", 1)[-1] or "unknown source"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


class Articles:
    """Articles loaded once per request: a story page names the same ones often."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._seen: dict[str, Article | None] = {}

    def get(self, article_id: str) -> Article | None:
        if article_id not in self._seen:
            self._seen[article_id] = self.store.get_article(article_id)
        return self._seen[article_id]

    def prefetch(self, article_ids: Iterable[str]) -> None:
        """Load the ones not seen yet in one store call (a query per article
        made a home page ~260 round trips on a networked store)."""
        wanted = [i for i in dict.fromkeys(article_ids) if i not in self._seen]
        if not wanted:
            return
        found = self.store.get_articles(wanted)
        for article_id in wanted:
            self._seen[article_id] = found.get(article_id)


def article_card(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "path": article_path(article.id),
        "title": article.title or "(untitled)",
        "site": outlet(article),
        "url": safe_url(article.url),
        "authors": list(article.authors),
        "published": _iso(article.published),
        "read_minutes": article.read_minutes,
    }


def _missing_card(article_id: str) -> dict[str, Any]:
    return {
        "id": article_id,
        "path": article_path(article_id),
        "title": "(article not stored)",
        "site": "unknown source",
        "url": None,
        "authors": [],
        "published": None,
        "read_minutes": 0,
    }


def _card(articles: Articles, article_id: str) -> dict[str, Any]:
    article = articles.get(article_id)
    return article_card(article) if article else _missing_card(article_id)


# -- stories ------------------------------------------------------------------


def independent_sources(store: Store, story: Story, articles: Articles | None = None) -> int:
    """Distinct outlets among the roots of the story's provenance tree.

    A copy adds no independent source, and neither does a second page of the
    same outlet; an article the analysis did not reach counts as a root.
    """
    articles = articles or Articles(store)
    tree = provenance_tree(story.article_ids, store.story_provenance(story.id))
    articles.prefetch(node["article_id"] for node in tree)
    names = {outlet(articles.get(node["article_id"])).lower() for node in tree}
    return len(names)


def story_card(store: Store, story: Story, articles: Articles | None = None) -> dict[str, Any]:
    articles = articles or Articles(store)
    articles.prefetch(story.article_ids[:CARD_SITES])
    sites = list(
        dict.fromkeys(
            outlet(a) for i in story.article_ids[:CARD_SITES] if (a := articles.get(i)) is not None
        )
    )
    return {
        "id": story.id,
        "path": story_path(story.id),
        "title": story.title,
        "size": story.size,
        "sites": sites,
        "more_sites": story.size > CARD_SITES,
        "first_seen": _iso(story.first_seen),
        "updated": _iso(story.updated),
        "independent_sources": independent_sources(store, story, articles),
    }


def stories_page(store: Store, page: int, per_page: int = PER_PAGE) -> dict[str, Any]:
    found = store.iter_stories(limit=per_page + 1, offset=(page - 1) * per_page)
    shown, pager = _page_of(found, page, per_page)
    articles = Articles(store)
    articles.prefetch(i for s in shown for i in s.article_ids[:CARD_SITES])
    return {
        "stories": [story_card(store, s, articles) for s in shown],
        "pager": pager.to_dict(),
    }


def dont_miss(store: Store, *, candidates: int = 60, top: int = 5) -> list[dict[str, Any]]:
    """Recent stories with the most independent sources (at least two).

    Only the ``candidates`` most recently updated stories are weighed, so the
    home page costs the same on a store of any size.
    """
    articles = Articles(store)
    recent = store.iter_stories(limit=candidates)
    articles.prefetch(i for s in recent for i in s.article_ids[:CARD_SITES])
    cards = [story_card(store, s, articles) for s in recent]
    cards = [c for c in cards if c["independent_sources"] >= 2]
    cards.sort(key=lambda c: (-c["independent_sources"], -c["size"], c["id"]))
    return cards[:top]


def _sentence(articles: Articles, sentence: SummarySentence) -> dict[str, Any]:
    card = _card(articles, sentence.article_id)
    return sentence.to_dict() | {
        "site": card["site"],
        "article_title": card["title"],
        "path": article_path(sentence.article_id, (sentence.start, sentence.end)),
    }


def _credit_dicts(article: Article | None) -> list[dict[str, Any]]:
    if article is None:
        return []
    return [c.to_dict() | {"label": c.label(), "url": safe_url(c.url)} for c in credits(article)]


def _source_node(articles: Articles, node: dict[str, Any]) -> dict[str, Any]:
    article = articles.get(node["article_id"])
    named = _credit_dicts(article)
    return {
        "article": _card(articles, node["article_id"]),
        "relation": node["relation"],
        "relation_label": RELATION_LABELS.get(node["relation"], node["relation"]),
        "source_id": node["source_id"],
        # Only a copy can credit or fail to credit its source; roots have no source.
        "attributed": node["attributed"],
        "score": node["score"],
        "credits": named,
        "uncredited": not named,
        "derived": [_source_node(articles, child) for child in node["derived"]],
    }


def _conflict(articles: Articles, conflict: Conflict) -> dict[str, Any]:
    def side(s: Any) -> dict[str, Any]:
        card = _card(articles, s.article_id)
        return s.to_dict() | {
            "site": card["site"],
            "article_title": card["title"],
            "path": article_path(s.article_id, (s.start, s.end)),
        }

    return {
        "kind": conflict.kind,
        "explanation": conflict.explanation,
        "confidence": round(conflict.confidence, 3),
        "a": side(conflict.a),
        "b": side(conflict.b),
    }


def story_page(store: Store, story: Story, page: int, views: int) -> dict[str, Any]:
    articles = Articles(store)
    edges = store.story_provenance(story.id)
    tree = provenance_tree(story.article_ids, edges)
    roots, pager = _page_of(
        tree[(page - 1) * SOURCES_PER_PAGE : page * SOURCES_PER_PAGE + 1], page, SOURCES_PER_PAGE
    )
    summary = store.story_summary(story.id)
    independent = len({outlet(articles.get(n["article_id"])).lower() for n in tree})
    return {
        "story": story.to_dict()
        | {
            "path": story_path(story.id),
            # Where a split left the rest of the articles (see cluster.py).
            "related": [
                {"id": i, "path": story_path(i)}
                for i in ([story.split_from] if story.split_from else []) + story.split_off
            ],
        },
        "views": views,
        "independent_sources": independent,
        "summary": [_sentence(articles, s) for s in summary.summary] if summary else None,
        "key_points": [_sentence(articles, s) for s in summary.key_points] if summary else [],
        "timeline": [_sentence(articles, s) for s in summary.timeline] if summary else [],
        "sources": [_source_node(articles, node) for node in roots],
        "sources_pager": pager.to_dict(),
        "conflicts": [_conflict(articles, c) for c in store.story_conflicts(story.id)],
        "analysed_at": _iso(store.story_analysed_at(story.id)),
        "feed": f"{story_path(story.id)}/feed.atom",
    }


# -- articles -----------------------------------------------------------------


def _derived_edge(edges: list[Provenance], article_id: str) -> Provenance | None:
    for edge in edges:
        if edge.derived_id == article_id and edge.directed and edge.relation != "independent":
            return edge
    return None


def _original_citation(
    articles: Articles, article: Article, edge: Provenance | None
) -> dict[str, Any]:
    """APA reference of the original, and which original it is."""
    if edge is not None and (source := articles.get(edge.source_id)) is not None:
        apa = apa_of_article(source, safe_url(source.url))
        return apa.to_dict() | {"of": "source", "article": article_card(source)}
    references = [c for c in article.citations if c.kind == "reference"]
    if references:
        ref = references[0]
        return apa_of_reference(ref, safe_url(ref.url)).to_dict() | {"of": "reference"}
    return apa_of_article(article, safe_url(article.url)).to_dict() | {"of": "self"}


_WORD = re.compile(r"[^\W\d_]{5,}", re.U)


def related_stories(
    store: Store, article: Article, own_story: str | None, *, top: int = 5
) -> list[dict[str, Any]]:
    """Other stories whose articles share the title's longest words.

    Search wants every word of a query, so each word is searched alone and
    stories are ranked by how many of the words found them.
    """
    words = sorted(set(_WORD.findall(article.title or "")), key=lambda w: (-len(w), w))[:4]
    votes: dict[str, int] = {}
    for word in words:
        hits = store.search(word, limit=20)
        owners = store.stories_of([h.article.id for h in hits])
        for story_id in dict.fromkeys(owners.values()):
            if story_id != own_story:
                votes[story_id] = votes.get(story_id, 0) + 1
    ranked = sorted(votes, key=lambda s: (-votes[s], s))
    articles = Articles(store)
    out = []
    for story_id in ranked:
        story = store.get_story(story_id)
        if story is not None and story.id != own_story:
            out.append(story_card(store, story, articles))
        if len(out) == top:
            break
    return out


def article_page(store: Store, article: Article, views: int) -> dict[str, Any]:
    articles = Articles(store)
    articles._seen[article.id] = article
    story_id = store.stories_of([article.id]).get(article.id)
    story = store.get_story(story_id) if story_id else None
    edges = store.story_provenance(story.id) if story else []
    edge = _derived_edge(edges, article.id)
    summary = store.story_summary(story.id) if story else None
    own_summary = summary.articles.get(article.id) if summary else None
    copies = [
        {
            "article": _card(articles, e.derived_id),
            "relation": e.relation,
            "attributed": e.attributed,
        }
        for e in edges
        if e.source_id == article.id and e.directed and e.relation != "independent"
    ]
    named = _credit_dicts(article)
    return {
        "article": article_card(article)
        | {
            "canonical_url": safe_url(article.canonical_url),
            "word_count": article.word_count,
            "stated_read_minutes": article.stated_read_minutes,
            "stated_views": article.stated_views,
            "language": article.language,
            "paragraphs": list(article.paragraphs),
            "repairs": [r.to_dict() for r in article.repairs],
        },
        "views": views,
        "newsloom_summary": [_sentence(articles, s) for s in own_summary] if own_summary else None,
        "story": {"id": story.id, "title": story.title, "path": story_path(story.id)}
        if story
        else None,
        "derived_from": {
            "article": _card(articles, edge.source_id),
            "relation": edge.relation,
            "relation_label": RELATION_LABELS.get(edge.relation, edge.relation),
            "attributed": edge.attributed,
        }
        if edge
        else None,
        "copies": copies,
        "credits": named,
        "uncredited": not named,
        "citation": _original_citation(articles, article, edge),
        "related": related_stories(store, article, story.id if story else None),
    }


# -- search -------------------------------------------------------------------


def search_page(store: Store, query: str, page: int, per_page: int = PER_PAGE) -> dict[str, Any]:
    query = " ".join(query.split())[:MAX_QUERY_CHARS]
    if not query:
        return {
            "query": "",
            "hits": [],
            "stories": [],
            "pager": Pager(1, per_page, False).to_dict(),
        }
    found = store.search(query, limit=per_page + 1, offset=(page - 1) * per_page)
    shown, pager = _page_of(found, page, per_page)
    owners = store.stories_of([h.article.id for h in shown])
    stories: dict[str, dict[str, Any]] = {}
    for story_id in dict.fromkeys(owners.values()):
        story = store.get_story(story_id)
        if story is not None:
            stories[story_id] = {"id": story.id, "title": story.title, "path": story_path(story.id)}
    hits = [
        {
            "article": article_card(hit.article),
            "snippet": hit.snippet,
            "score": round(hit.score, 4),
            "story": stories.get(owners.get(hit.article.id, "")),
        }
        for hit in shown
    ]
    return {
        "query": query,
        "hits": hits,
        "stories": list(stories.values()),
        "pager": pager.to_dict(),
    }


# -- text pieces for templates ----------------------------------------------------


def highlight_pieces(
    paragraphs: list[str], span: tuple[int, int] | None
) -> list[list[tuple[str, bool]]]:
    """Each paragraph as (text, marked) pieces, marking ``span`` of ``"\\n\\n".join(paragraphs)``.

    Summary and conflict links carry the span of the sentence they quote, so
    the reader lands on it; the template escapes every piece.
    """
    out: list[list[tuple[str, bool]]] = []
    position = 0
    for paragraph in paragraphs:
        start, end = position, position + len(paragraph)
        position = end + 2  # the "\n\n" between paragraphs
        if span is None or span[1] <= start or span[0] >= end:
            out.append([(paragraph, False)])
            continue
        a, b = max(span[0], start) - start, min(span[1], end) - start
        pieces = [(paragraph[:a], False), (paragraph[a:b], True), (paragraph[b:], False)]
        out.append([p for p in pieces if p[0]])
    return out


_MARKED = re.compile(r"\[([^\[\]]*)\]")


def snippet_pieces(snippet: str) -> list[tuple[str, bool]]:
    """A search snippet's ``[matched]`` words as marked pieces."""
    pieces: list[tuple[str, bool]] = []
    last = 0
    for match in _MARKED.finditer(snippet):
        if match.start() > last:
            pieces.append((snippet[last : match.start()], False))
        pieces.append((match.group(1), True))
        last = match.end()
    if last < len(snippet):
        pieces.append((snippet[last:], False))
    return pieces
