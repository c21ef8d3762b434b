"""Stores for the web tests: a hand-built one (fast, no models) and hostile articles.

The hand-built store groups articles into stories by an id prefix with a
deterministic featurizer, then saves provenance, conflicts and a summary that
the tests know exactly.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np

import newsloom
from factories import make_article
from newsloom.cluster import Featurizer, cluster_stored
from newsloom.types import (
    Article,
    Citation,
    Conflict,
    ConflictSide,
    Passage,
    Provenance,
    StorySummary,
    SummarySentence,
)

T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)
PAYLOAD_FLAG = "__pwned"
SCRIPT = f"<script>window.{PAYLOAD_FLAG}=1;document.title='PWNED'</script>"
IMG = f"<img src=x onerror=\"window.{PAYLOAD_FLAG}=2;document.title='PWNED'\">"
JS_URL = f"javascript:window.{PAYLOAD_FLAG}=3;document.title='PWNED'"
SVG = f'<svg onload="window.{PAYLOAD_FLAG}=4"></svg>'


def _group(article: Article) -> str:
    return article.id.split("-")[0]


_DIMENSIONS: dict[str, int] = {}


def _embed(texts: list[str]) -> np.ndarray:
    # One dimension per group: same group, same vector; other groups orthogonal.
    out = np.zeros((len(texts), 1024), dtype=np.float32)
    for row, text in enumerate(texts):
        out[row, _DIMENSIONS.setdefault(text, len(_DIMENSIONS) % 1024)] = 1.0
    return out


GROUPS = Featurizer(
    embed=_embed,
    entities=lambda texts: [[] for _ in texts],
    tokens=lambda text: [text],
    lead=_group,
)


def cluster(store, articles: list[Article]) -> dict[str, str]:
    """Store ``articles`` and place them in stories by id prefix; article id → story id."""
    store.put_articles(articles)
    cluster_stored(store, [a.id for a in articles], featurizer=GROUPS)
    return store.stories_of([a.id for a in articles])


BRIDGE_TEXT = [
    "Marrowby council closed Kestrel Bridge on Tuesday after inspectors found corroded bearings.",
    "The closure will last at least ten weeks, the council said.",
    "Drivers are advised to use Millrace Bridge instead.",
]


def bridge_articles() -> list[Article]:
    """An original, an uncredited near copy and a rewrite that credits the original."""
    original = make_article(
        "bridge-original",
        title="Kestrel Bridge closed for ten weeks",
        paragraphs=list(BRIDGE_TEXT),
        published=T0,
        url="https://gazette.example/2026/03/02/kestrel-bridge-closed",
        site_name="Harbour Gazette",
        authors=["Gethin Paskell"],
    )
    copy = make_article(
        "bridge-copy",
        title="Kestrel Bridge closed for ten weeks!",
        paragraphs=[*BRIDGE_TEXT[:2], "Drivers should use Millrace Bridge."],
        published=T0 + timedelta(hours=2),
        url="https://copycat.example/kestrel",
        site_name="Copycat News",
    )
    rewrite = make_article(
        "bridge-rewrite",
        title="Kestrel Bridge shut after inspection",
        paragraphs=[
            "Kestrel Bridge in Marrowby was shut on Tuesday when inspectors found rusted bearings.",
            "The closure will last at least twelve weeks, according to the Harbour Gazette.",
        ],
        published=T0 + timedelta(hours=3),
        url="https://rewriter.example/kestrel-bridge",
        site_name="Rewriter Daily",
        citations=[
            Citation(
                kind="attribution",
                name="Harbour Gazette",
                text="according to the Harbour Gazette",
            )
        ],
    )
    return [original, copy, rewrite]


def bridge_analysis(story_id: str) -> tuple[list[Provenance], list[Conflict], StorySummary]:
    passage = Passage(0, 40, 0, 40, BRIDGE_TEXT[0][:40], BRIDGE_TEXT[0][:40], 0.98, "verbatim")
    edges = [
        Provenance("bridge-copy", "bridge-original", "near_copy", 0.95, False, [passage]),
        Provenance("bridge-rewrite", "bridge-original", "rewrite", 0.7, True, [passage]),
    ]
    ten = "The closure will last at least ten weeks, the council said."
    twelve = "The closure will last at least twelve weeks, according to the Harbour Gazette."
    ten_start = len(BRIDGE_TEXT[0]) + 2
    twelve_start = (
        len("Kestrel Bridge in Marrowby was shut on Tuesday when inspectors found rusted bearings.")
        + 2
    )
    conflict = Conflict(
        "duration",
        ConflictSide("bridge-original", ten, ten_start, ten_start + len(ten)),
        ConflictSide("bridge-rewrite", twelve, twelve_start, twelve_start + len(twelve)),
        "'ten weeks' against 'twelve weeks': the reports disagree on how long it lasts.",
        0.82,
        story_id,
    )
    first = SummarySentence(BRIDGE_TEXT[0], "bridge-original", 0, len(BRIDGE_TEXT[0]))
    second = SummarySentence(ten, "bridge-original", ten_start, ten_start + len(ten))
    summary = StorySummary(
        story_id,
        summary=[first, second],
        key_points=[second],
        timeline=[replace(first, when=T0)],
        articles={"bridge-original": [first]},
    )
    return edges, [conflict], summary


def hostile_articles() -> list[Article]:
    """Articles whose every field carries a payload, built directly and via extraction."""
    direct = make_article(
        "hostile-direct",
        title=f"Bridge payload {SCRIPT}",
        paragraphs=[
            f"First paragraph with an image payload {IMG} inside.",
            f'A link payload <a href="{JS_URL}">click me</a> and {SVG}.',
            f"A closing script {SCRIPT}",
        ],
        published=T0 + timedelta(hours=5),
        url=JS_URL,
        canonical_url=" JaVaScRiPt:alert(1)",
        site_name=f"Evil {IMG} Site",
        authors=[f"Mallory {SCRIPT}"],
        citations=[
            Citation(kind="link", name=f"evil {SCRIPT}", url=JS_URL, text="x"),
            Citation(
                kind="reference",
                name="evil",
                url="java\tscript:alert(1)",
                text="ref",
                authors=[f"Doe, J. {IMG}"],
                date="2026-03-02",
                title=f"Reference {SCRIPT}",
                publisher=f"Publisher {IMG}",
            ),
        ],
    )
    html = f"""<!doctype html><html><head><title>Hostile page {SCRIPT}</title>
<meta property="og:site_name" content="Hostile Herald">
<script>window.{PAYLOAD_FLAG}=5</script></head>
<body onload="window.{PAYLOAD_FLAG}=6"><article>
<h1>Hostile extracted page &lt;script&gt;window.{PAYLOAD_FLAG}=7&lt;/script&gt;</h1>
<p>The council met on Tuesday to discuss the bridge
&lt;script&gt;window.{PAYLOAD_FLAG}=8&lt;/script&gt; and the payload
&lt;img src=x onerror="window.{PAYLOAD_FLAG}=9"&gt; stays text.</p>
<p>Another paragraph <img src=x onerror="window.{PAYLOAD_FLAG}=10"> with a
<a href="{JS_URL}">javascript link</a> and an <a href="https://ok.example/">honest link</a>.</p>
<script>window.{PAYLOAD_FLAG}=11</script>
<p>A third paragraph that is long enough to be kept by the extractor as body text of
the page, talking about the bridge and the council and the river for a while longer.</p>
</article></body></html>"""
    extracted = newsloom.extract(html.encode(), url="https://hostile.example/page")
    extracted = replace(extracted, id="hostile-extracted")
    return [direct, extracted]


def filler_articles(count: int) -> list[Article]:
    """``count`` one-article stories, to have more than one page of stories."""
    return [
        make_article(
            f"filler{i:03d}-a",
            title=f"Filler story number {i}",
            paragraphs=[f"Filler text {i} about nothing in particular, word{i}."],
            published=T0 - timedelta(days=1, minutes=i),
            site_name=f"Filler Site {i % 3}",
        )
        for i in range(count)
    ]


def build_store(store, fillers: int = 25) -> dict[str, str]:
    """Fill ``store``; returns the story id of each named article."""
    bridge = bridge_articles()
    owners = cluster(store, [*bridge, *hostile_articles(), *filler_articles(fillers)])
    story_id = owners["bridge-original"]
    edges, conflicts, summary = bridge_analysis(story_id)
    store.put_story_analysis(story_id, edges, conflicts, members=3, summary=summary)
    return owners
