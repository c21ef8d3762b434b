"""Atom feeds of the latest stories and of one story: valid for feedparser, hostile text too."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import numpy as np
import pytest

from factories import make_article
from newsloom.cluster import Featurizer, cluster_stored
from newsloom.feeds import site_feed, story_feed, xml_text
from newsloom.store import open_store
from newsloom.store.base import Store
from newsloom.types import (
    Article,
    Conflict,
    ConflictSide,
    Provenance,
    StorySummary,
    SummarySentence,
)

T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)
HOSTILE = "<script>alert('x')</script> Tom & Jerry\x00\x07\x1b\x7f\ufffe <b>bold</b> ]]>"


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _embed(texts):
    # Bag of hashed words: articles with the same body land in one story.
    out = np.zeros((len(texts), 128), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in _tokens(text):
            out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 128] += 1.0
        out[row] /= max(float(np.linalg.norm(out[row])), 1e-9)
    return out


FAKE = Featurizer(
    embed=_embed,
    entities=lambda texts: [[] for _ in texts],
    tokens=_tokens,
    lead=lambda a: " ".join(a.paragraphs[:2]),
)

BRIDGE_TEXT = (
    "Marrowby council closed Kestrel Bridge on Monday after inspectors found corroded "
    "bearings. The bridge will stay shut for ten weeks while the bearings are replaced."
)
FLOOD_TEXT = (
    "The River Pell burst its banks in Pellingford overnight and residents of Low Wharf "
    "were evacuated. Forecasters expect more rain on Thursday."
)


def _article(ident: str, title: str | None, body: str, hours: float, **changes) -> Article:
    return make_article(
        ident * 8, title=title, paragraphs=[body], published=T0 + timedelta(hours=hours), **changes
    )


BRIDGE = [
    _article(
        "b1",
        "Kestrel Bridge closed",
        BRIDGE_TEXT,
        0,
        url="https://marrowby-post.example/bridge",
        site_name="Marrowby Post",
        authors=["Ann Reed"],
    ),
    _article(
        "b2",
        HOSTILE,
        BRIDGE_TEXT,
        3,
        url="javascript:alert(1)",
        site_name="Copy & Paste <News>",
    ),
    _article(
        "b3", "Bridge shut for ten weeks", BRIDGE_TEXT, 5, url="https://third.example/x?a=1&b=2"
    ),
]
FLOOD = [
    _article("f1", "Pell floods " + HOSTILE, FLOOD_TEXT, 1, site_name="Pell Courier"),
    _article("f2", "Low Wharf evacuated", FLOOD_TEXT, 2),
]


def build_store(path: Path) -> tuple[Store, str, str]:
    """A store with two stories (bridge: 3 reports, one a hostile copy; flood: 2)."""
    store = open_store(f"sqlite:///{path}")
    articles = [*BRIDGE, *FLOOD]
    store.put_articles(articles)
    decisions = cluster_stored(store, [a.id for a in articles], featurizer=FAKE)
    story_of = {d.article_id: d.story_id for d in decisions}
    bridge, flood = story_of[BRIDGE[0].id], story_of[FLOOD[0].id]
    assert bridge != flood and {story_of[a.id] for a in BRIDGE} == {bridge}
    copy = Provenance(BRIDGE[1].id, BRIDGE[0].id, "near_copy", 0.95, False)
    conflict = Conflict(
        "duration",
        ConflictSide(BRIDGE[0].id, "The bridge will stay shut for ten weeks.", 0, 10),
        ConflictSide(BRIDGE[2].id, "The bridge will stay shut for <i>six</i> weeks.", 0, 10),
        "ten weeks against six weeks",
        0.9,
        bridge,
    )
    store.put_story_analysis(bridge, [copy], [conflict], members=3)
    return store, bridge, flood


def save_summary(store: Store, story_id: str) -> StorySummary:
    """A summary saved the way the summarize step will save it."""
    first = SummarySentence(
        "Marrowby council closed Kestrel Bridge on Monday.", BRIDGE[0].id, 0, 48
    )
    second = SummarySentence(
        "The bridge & <its> bearings: ten weeks.", BRIDGE[2].id, 50, 90, when=T0
    )
    summary = StorySummary(
        story_id,
        summary=[first, second],
        key_points=[second],
        timeline=[second],
        articles={BRIDGE[1].id: [SummarySentence("Copied <lead>.", BRIDGE[1].id, 0, 13)]},
    )
    store.put_story_analysis(
        story_id,
        store.story_provenance(story_id),
        store.story_conflicts(story_id),
        members=3,
        summary=summary,
    )
    return summary


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[Store, str, str]]:
    store, bridge, flood = build_store(tmp_path / "news.db")
    with store:
        yield store, bridge, flood


def _parse(xml: str):
    feed = feedparser.parse(xml.encode("utf-8"))
    assert feed.bozo == 0, feed.get("bozo_exception")
    return feed


def test_site_feed_lists_the_latest_stories_with_links_and_stable_ids(stores) -> None:
    store, bridge, flood = stores
    feed = _parse(site_feed(store, "https://news.example/"))
    assert feed.version == "atom10"
    assert feed.feed.id == "urn:newsloom:feed:stories"
    assert [e.id for e in feed.entries] == [
        f"urn:newsloom:story:{bridge}",
        f"urn:newsloom:story:{flood}",
    ]  # bridge was updated last (hour 5)
    entry = feed.entries[0]
    assert entry.link == f"https://news.example/story/{bridge}"
    assert entry.updated_parsed[:5] == (2026, 3, 2, 13, 0)
    assert feed.feed.updated_parsed[:5] == (2026, 3, 2, 13, 0)
    assert [a.name for a in entry.authors] == [
        "Marrowby Post",
        "Copy & Paste <News>",
        "third.example",
    ]
    # No summary stored yet: the original's lead stands in.
    assert entry.summary.startswith("Marrowby council closed Kestrel Bridge on Monday")
    assert "3 reports" in entry.summary
    # The same store gives the same feed (no clock in it).
    assert site_feed(store, "https://news.example") == site_feed(store, "https://news.example/")


def test_site_feed_uses_the_stored_summary_and_respects_the_limit(stores) -> None:
    store, bridge, _ = stores
    save_summary(store, bridge)
    feed = _parse(site_feed(store, "", limit=1))
    (entry,) = feed.entries
    assert entry.summary.startswith(
        "Marrowby council closed Kestrel Bridge on Monday. The bridge & <its> bearings"
    )
    assert entry.link == f"/story/{bridge}"


def test_hostile_titles_are_escaped_and_forbidden_characters_dropped(stores) -> None:
    store, bridge, flood = stores
    # What a reader sees: the title as text, minus the characters XML cannot carry.
    shown = "<script>alert('x')</script> Tom & Jerry <b>bold</b> ]]>"
    assert " ".join(xml_text(HOSTILE).split()) == shown
    site = site_feed(store, "https://n.example")
    one = story_feed(store, bridge, "")
    for xml in (site, one, story_feed(store, flood, "")):
        assert "<script" not in xml and "<b>" not in xml
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe]", xml)
        _parse(xml)
    titles = {e.id: e.title for e in _parse(site).entries}
    assert titles[f"urn:newsloom:story:{flood}"] == "Pell floods " + shown
    assert _parse(one).entries[1].title == shown
    assert _parse(story_feed(store, flood, "")).feed.title == "newsloom: Pell floods " + shown


def test_story_feed_lists_articles_newest_first_with_links_and_relations(stores) -> None:
    store, bridge, _ = stores
    save_summary(store, bridge)
    feed = _parse(story_feed(store, bridge, "https://news.example"))
    assert feed.feed.id == f"urn:newsloom:feed:story:{bridge}"
    assert feed.feed.link == f"https://news.example/story/{bridge}"
    assert [e.id for e in feed.entries] == [f"urn:newsloom:article:{a.id}" for a in BRIDGE[::-1]]
    third, copy, first = feed.entries
    assert first.link == f"https://news.example/article/{BRIDGE[0].id}"
    links = {link.rel: link.href for link in first.links}
    assert links["via"] == "https://marrowby-post.example/bridge"
    assert first.author == "Ann Reed"
    assert first.tags[0].term == "original"
    assert copy.tags[0].term == "near_copy"
    assert "uncredited" in copy.tags[0].label and "Marrowby Post" in copy.tags[0].label
    # A javascript: URL never becomes a link.
    assert all("javascript" not in link.href for link in copy.links)
    assert copy.summary == "Copied <lead>."  # the per-article summary
    assert third.tags[0].term == "independent"
    assert {link.href for link in third.links} >= {"https://third.example/x?a=1&b=2"}


def test_story_feed_for_a_prefix_and_an_unknown_story(stores) -> None:
    store, bridge, _ = stores
    assert _parse(story_feed(store, bridge[:8], "")).feed.id.endswith(bridge)
    with pytest.raises(KeyError):
        story_feed(store, "s-no-such-story", "")


def test_story_feed_limit_keeps_the_newest(stores) -> None:
    store, bridge, _ = stores
    feed = _parse(story_feed(store, bridge, "", limit=1))
    assert [e.id for e in feed.entries] == [f"urn:newsloom:article:{BRIDGE[2].id}"]


def test_an_empty_store_gives_a_valid_empty_feed(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'empty.db'}") as store:
        feed = _parse(site_feed(store, "https://news.example"))
    assert feed.entries == [] and feed.feed.updated_parsed[0] == 1970
