"""A store whose every shown field carries the XSS corpus, filled through real ingest.

Two kinds of source go through ``Pipeline.ingest``:

* one HTML page per group of payloads, carrying them in ``<title>``,
  ``<meta name=author>``, ``og:site_name``, the canonical link, the body
  (escaped as text, and once more as raw markup the extractor must clean) and
  body links, so the extractor and the renderer are tested together;
* one JSONL record per payload with the payload as its title, author, site
  name, URL and text, so each payload is also a field of its own.

Stories are grouped by the group tag in each title (a deterministic
featurizer, no models), then each story gets a summary, a conflict and a
provenance edge quoting payload sentences, so those parts of the story page
show payloads too.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from xss_payloads import Payload

from newsloom.cluster import Featurizer
from newsloom.pipeline import Pipeline
from newsloom.store import open_store
from newsloom.types import (
    Article,
    Conflict,
    ConflictSide,
    Passage,
    Provenance,
    StorySummary,
    SummarySentence,
)

__all__ = ["GROUP_SIZE", "XssStore", "build_xss_store", "url_of"]

GROUP_SIZE = 12
T0 = datetime(2026, 4, 6, 9, tzinfo=UTC)
FILLER = (
    "The harbour council met on Monday evening to weigh the new ferry timetable, "
    "and residents from both banks of the river spoke for almost an hour about it."
)
_GROUP = re.compile(r"grp(\d+)")


def url_of(payload: Payload) -> str:
    """The payload as an article's URL: itself if it is a link, else inside a path."""
    if payload.is_url:
        return payload.text
    return f"https://evil.example/{payload.marker}/{payload.text}"


def _group_of(article: Article) -> str:
    found = _GROUP.search(article.title or "") or _GROUP.search(article.text)
    return found.group(0) if found else article.id


_SLOTS: dict[str, int] = {}


def _embed(texts: list[str]) -> np.ndarray:
    # One dimension per group: the group's articles share a vector, groups are orthogonal.
    out = np.zeros((len(texts), 256), dtype=np.float32)
    for row, text in enumerate(texts):
        out[row, _SLOTS.setdefault(text, len(_SLOTS) % 256)] = 1.0
    return out


BY_GROUP = Featurizer(
    embed=_embed,
    entities=lambda texts: [[] for _ in texts],
    tokens=lambda text: [text],
    lead=_group_of,
)


def _escape(text: str) -> str:
    # What a well-formed page does to text in markup; a raw NUL byte would make
    # the reader refuse the whole file as binary, so it travels as a reference.
    return html.escape(text).replace("\x00", "&#0;")


def _group_page(group: int, members: list[Payload]) -> str:
    e = _escape
    title = f"grp{group} " + " ".join(f"{p.marker} {p.text}" for p in members)
    authors = "; ".join(f"{p.marker} {p.text}" for p in members)
    site = f"Outlet grp{group} " + " ".join(p.text for p in members)
    # Not any record's URL: the same address would make the two one article.
    link = next((p for p in members if p.is_url), None)
    canonical = (
        f"{link.text}#grp{group}" if link else f"https://evil.example/grp{group}/{members[0].text}"
    )
    paragraphs = "\n".join(
        f"<p>{p.marker}: {e(p.text)} {e(FILLER)}</p>\n"
        f'<p>Source {p.marker} is <a href="{e(url_of(p))}">this link for {p.marker}</a>. '
        f"{e(FILLER)}</p>"
        for p in members
    )
    raw = " ".join(p.text for p in members).replace("\x00", "&#0;")
    published = (T0 + timedelta(hours=group)).isoformat()
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(title)}</title>
<meta name="author" content="{e(authors)}">
<meta property="og:site_name" content="{e(site)}">
<meta property="og:title" content="{e(title)}">
<meta property="article:published_time" content="{published}">
<link rel="canonical" href="{e(canonical)}">
</head><body><article>
<h1>{e(title)}</h1>
{paragraphs}
<p>Raw markup grp{group} follows, for the extractor to clean. {e(FILLER)} {raw}</p>
<p>{e(FILLER)} The meeting ended after ten.</p>
</article></body></html>
"""


def _record(payload: Payload, group: int) -> dict[str, object]:
    return {
        "url": url_of(payload),
        "title": f"grp{group} {payload.marker} {payload.text}",
        "authors": [f"{payload.marker} {payload.text}"],
        "site_name": f"{payload.marker} {payload.text}",
        # After its group page, which must name the story (the earliest names it).
        "published": (T0 + timedelta(hours=group, minutes=1 + payload.n % 50)).isoformat(),
        "text": f"{payload.marker}: {payload.text} {FILLER}\n\n{FILLER} Said {payload.marker}.",
    }


def write_sources(folder: Path, corpus: list[Payload]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    groups = [corpus[i : i + GROUP_SIZE] for i in range(0, len(corpus), GROUP_SIZE)]
    paths = []
    for number, members in enumerate(groups):
        path = folder / f"group{number:02d}.html"
        path.write_text(_group_page(number, members), encoding="utf-8")
        paths.append(path)
    records = folder / "records.jsonl"
    with records.open("w", encoding="utf-8") as out:
        for p in corpus:
            out.write(json.dumps(_record(p, (p.n - 1) // GROUP_SIZE)) + "\n")
    paths.append(records)
    return paths


@dataclass(slots=True)
class XssStore:
    url: str
    article_ids: list[str]
    story_ids: list[str]


def _span(article: Article, index: int) -> tuple[str, int, int]:
    """Paragraph ``index`` of ``article`` and where it sits in the article's text."""
    index = min(index, len(article.paragraphs) - 1)
    start = sum(len(p) + 2 for p in article.paragraphs[:index])
    text = article.paragraphs[index]
    return text, start, start + len(text)


def _analyse(store, story_id: str, articles: list[Article]) -> None:
    """A summary, a conflict and a copy edge, all quoting payload paragraphs."""
    first, second = articles[0], articles[-1]
    a_text, a_start, a_end = _span(first, 0)
    b_text, b_start, b_end = _span(second, 0)
    one = SummarySentence(a_text, first.id, a_start, a_end)
    two = SummarySentence(b_text, second.id, b_start, b_end)
    passage = Passage(a_start, a_end, b_start, b_end, a_text, b_text, 0.9, "rewrite")
    edges = [Provenance(second.id, first.id, "rewrite", 0.8, False, [passage])]
    conflict = Conflict(
        "number",
        ConflictSide(first.id, a_text, a_start, a_end),
        ConflictSide(second.id, b_text, b_start, b_end),
        f"The reports disagree: {a_text[:80]} against {b_text[:80]}",
        0.7,
        story_id,
    )
    summary = StorySummary(
        story_id,
        summary=[one, two],
        key_points=[two],
        timeline=[SummarySentence(a_text, first.id, a_start, a_end, when=T0)],
        articles={a.id: [one] for a in articles},
    )
    store.put_story_analysis(story_id, edges, [conflict], members=len(articles), summary=summary)


def build_xss_store(folder: Path, corpus: list[Payload]) -> XssStore:
    """Ingest the corpus's pages into a new SQLite store under ``folder``."""
    url = f"sqlite:///{folder / 'xss.db'}"
    sources = write_sources(folder / "sources", corpus)
    with open_store(url) as store:
        pipeline = Pipeline(store, featurizer=BY_GROUP, analyse=False)
        report = pipeline.ingest([str(p) for p in sources])
        assert report.failures == [], report.failures
        articles = [a for a in store.iter_articles(limit=None)]
        owners = store.stories_of([a.id for a in articles])
        by_story: dict[str, list[Article]] = {}
        for article in sorted(articles, key=lambda a: (a.published or T0, a.id)):
            by_story.setdefault(owners[article.id], []).append(article)
        for story_id, members in by_story.items():
            _analyse(store, story_id, members)
    return XssStore(url, [a.id for a in articles], list(by_story))
