"""Online story clustering with small deterministic features (no models needed)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np

from factories import make_article
from newsloom.cluster import (
    ArticleFeatures,
    ClusterParams,
    Featurizer,
    MemoryStoryIndex,
    OnlineClusterer,
    cluster_stream,
    featurize,
)
from newsloom.types import Article

_STOP = {"the", "a", "an", "of", "in", "on", "and", "to", "for", "was", "is", "after", "by", "at"}


def _tokens(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP]


def _embed(texts):
    out = np.zeros((len(texts), 256), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in _tokens(text):
            out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 256] += 1.0
        norm = np.linalg.norm(out[row])
        if norm:
            out[row] /= norm
    return out


def _entities(texts):
    return [[(w.lower(), "ORG") for w in re.findall(r"\b[A-Z][a-z]{3,}\b", t)] for t in texts]


FAKE = Featurizer(
    embed=_embed,
    entities=_entities,
    tokens=_tokens,
    lead=lambda a: " ".join([a.title or "", *a.paragraphs[:2]]),
)
T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)


def art(ident: str, title: str, body: str, hours: float = 0) -> Article:
    return make_article(
        ident * 4, title=title, paragraphs=[body], published=T0 + timedelta(hours=hours)
    )


BRIDGE = [
    art(
        "b1",
        "Kestrel Bridge closed",
        "Marrowby council closes Kestrel Bridge after corroded bearings found by inspectors.",
    ),
    art(
        "b2",
        "Kestrel Bridge shut for ten weeks",
        "Inspectors found corroded bearings; Marrowby shuts Kestrel Bridge to traffic.",
        3,
    ),
    art(
        "b3",
        "Queues at Millrace as Kestrel Bridge closes",
        "Drivers queue on Millrace Bridge after Marrowby closed Kestrel Bridge bearings repair.",
        30,
    ),
]
FLOOD = [
    art(
        "f1",
        "River Pell floods Pellingford",
        "Residents evacuated as the River Pell bursts its banks in Pellingford Low Wharf.",
        1,
    ),
    art(
        "f2",
        "Pellingford evacuations as Pell rises",
        "The River Pell flooded Low Wharf homes in Pellingford and residents left.",
        5,
    ),
]


def test_articles_group_into_their_stories() -> None:
    stream = [BRIDGE[0], FLOOD[0], BRIDGE[1], FLOOD[1], BRIDGE[2]]
    stories = cluster_stream(stream, featurizer=FAKE)
    assert stories[0] == stories[2] == stories[4]
    assert stories[1] == stories[3]
    assert stories[0] != stories[1]


def test_same_order_gives_same_stories() -> None:
    stream = [*BRIDGE, *FLOOD]
    assert cluster_stream(stream, featurizer=FAKE) == cluster_stream(stream, featurizer=FAKE)


def test_a_quiet_story_is_not_joined() -> None:
    late = art("b9", "Kestrel Bridge closed", BRIDGE[0].paragraphs[0], hours=24 * 30)
    stories = cluster_stream([BRIDGE[0], late], ClusterParams(quiet_days=7), featurizer=FAKE)
    assert stories[0] != stories[1]


def test_decisions_explain_themselves() -> None:
    index = MemoryStoryIndex()
    clusterer = OnlineClusterer(index)
    items = featurize(BRIDGE[:2], index, FAKE)
    first = clusterer.add(items[0])
    second = clusterer.add(items[1])
    assert first.new_story and not second.new_story
    reasons = second.reasons()
    assert reasons["score"] >= ClusterParams().join_threshold
    assert "kestrel" in reasons["shared_entities"] and reasons["shared_terms"]


def test_candidates_come_from_the_index_not_a_scan() -> None:
    index = MemoryStoryIndex()
    clusterer = OnlineClusterer(index)
    for item in featurize(FLOOD, index, FAKE):
        clusterer.add(item)
    (bridge,) = featurize(BRIDGE[:1], index, FAKE)
    # Nothing shares a key with the bridge article, so no story is even scored.
    assert index.candidates(bridge.keys(clusterer.params), T0 - timedelta(days=7), 30, 200) == []


HARBOUR = [
    art("m1", "Harbour strike", "Dock workers strike at Velmora harbour over pay."),
    art(
        "m2", "Ferry cancelled", "Velmora ferry cancelled as harbour workers walk out over pay.", 1
    ),
    art(
        "m3",
        "Harbour strike cancels ferry",
        "Velmora harbour strike over pay cancels ferry as dock workers walk out.",
        2,
    ),
]


def test_bridging_article_merges_two_stories() -> None:
    a, b, bridge = HARBOUR
    index = MemoryStoryIndex()
    clusterer = OnlineClusterer(index, ClusterParams(join_threshold=0.45, merge_threshold=0.3))
    decisions = [clusterer.add(i) for i in featurize([a, b, bridge], index, FAKE)]
    assert decisions[0].new_story and decisions[1].new_story  # two stories at first
    assert decisions[2].merged == (decisions[1].story_id,)
    assert index.merges == [(decisions[1].story_id, decisions[0].story_id, bridge.id)]


def test_related_stories_do_not_merge_by_default() -> None:
    # The two stories are related but not one: beyond the rescue of small
    # stories (off here), only stories whose centroids are near-identical
    # merge (ECB+ sub-topics of one topic must not).
    index = MemoryStoryIndex()
    clusterer = OnlineClusterer(index, ClusterParams(rescue_size=0))
    items = featurize(HARBOUR, index, FAKE)
    first, second = items[0].embedding, items[1].embedding
    assert float(first @ second) < ClusterParams().merge_threshold
    decisions = [clusterer.add(i) for i in items]
    assert decisions[0].new_story and decisions[1].new_story
    assert not decisions[2].new_story and decisions[2].merged == ()
    assert index.merges == []


def test_a_bridging_article_brings_back_a_small_story() -> None:
    # With the defaults the strike and the ferry start apart; the article that
    # joins the strike and also matches the one-article ferry story, close to
    # the strike story once it is in, folds the ferry story in.
    index = MemoryStoryIndex()
    clusterer = OnlineClusterer(index)
    decisions = [clusterer.add(i) for i in featurize(HARBOUR, index, FAKE)]
    assert decisions[0].new_story and decisions[1].new_story
    assert decisions[2].story_id == decisions[0].story_id
    assert decisions[2].merged == (decisions[1].story_id,)


def test_a_large_story_needs_a_closer_match() -> None:
    params = ClusterParams()
    index = MemoryStoryIndex()
    clusterer = OnlineClusterer(index, params)
    items = featurize([*BRIDGE, BRIDGE[0]], index, FAKE)
    decisions = [clusterer.add(i) for i in items[:3]]
    assert len({d.story_id for d in decisions}) == 1  # one story of three
    story = index.get(decisions[0].story_id)
    assert story is not None and story.size == 3
    fourth = clusterer.add(items[3])
    weighted = (
        params.w_embedding * fourth.embedding
        + params.w_terms * fourth.terms
        + params.w_entities * fourth.entities
    )
    expected = params.size_penalty * (1 - params.size_penalty_from / 3)
    assert abs(weighted - fourth.score - expected) < 1e-9


def _crowd(extra: list[np.ndarray], params: ClusterParams) -> list[bool]:
    """Eight one-article stories on one topic (each pair too far apart to join),
    then the ``extra`` articles; whether each extra one started a story."""
    dims = 16
    common = np.zeros(dims, dtype=np.float32)
    common[-1] = 1.0

    def unit(vector: np.ndarray) -> np.ndarray:
        return (vector / np.linalg.norm(vector)).astype(np.float32)

    def item(n: int, vector: np.ndarray) -> ArticleFeatures:
        return ArticleFeatures(f"c{n:02d}" * 8, f"council {n}", T0, unit(vector), {}, ["velmora"])

    index = MemoryStoryIndex()
    clusterer = OnlineClusterer(index, params)
    crowd = [clusterer.add(item(n, common + np.eye(dims, dtype=np.float32)[n])) for n in range(8)]
    assert all(d.new_story for d in crowd)
    return [clusterer.add(item(10 + n, v)).new_story for n, v in enumerate(extra)]


def test_a_crowded_topic_needs_a_clear_lead_to_join() -> None:
    # An article as close to each of eight stories as to any other (score about
    # 0.52, over the 0.45 threshold) has no story of its own among them.
    topic_only = np.zeros(16, dtype=np.float32)
    topic_only[-1] = 1.0
    assert _crowd([topic_only], ClusterParams(crowd_rank=0)) == [False]
    assert _crowd([topic_only], ClusterParams()) == [True]
    # One that clearly belongs to one of them (score 0.64 against 0.23) joins it.
    clear = topic_only + 3 * np.eye(16, dtype=np.float32)[0]
    assert _crowd([clear], ClusterParams()) == [False]


def test_undated_articles_still_get_a_story() -> None:
    undated = art("u1", "Kestrel Bridge closed", BRIDGE[0].paragraphs[0])
    undated.published = None
    empty = art("u2", "", "")
    stories = cluster_stream([undated, empty], featurizer=FAKE)
    assert len(stories) == 2 and all(stories)


def _two_group_featurizer() -> Featurizer:
    """Articles titled "alpha N" and "beta N" on one topic, all naming one place:
    alphas are close to each other (cosine 0.86), betas too (0.83), an alpha
    and a beta far less (0.38)."""
    axes = np.eye(24, dtype=np.float32)

    def vector(text: str) -> np.ndarray:
        kind, number = text.split()
        if kind == "alpha":
            raw = axes[0] + 0.4 * axes[2 + int(number)]
        else:
            raw = axes[0] + 2 * axes[1] + axes[12 + int(number)]
        return raw / np.linalg.norm(raw)

    def embed(texts):
        return np.stack([vector(t) for t in texts])

    return Featurizer(
        embed=embed,
        entities=lambda texts: [[("velmora", "GPE")] for _ in texts],
        tokens=lambda text: [],
        lead=lambda a: a.title or "",
    )


TWO_GROUPS = _two_group_featurizer()
# Low bars let the beta articles join the alpha story one by one; the split
# test starts at six members, so it first runs when the fourth alpha arrives.
CHAINING = ClusterParams(join_threshold=0.25, crowd_rank=0, rescue_size=0, split_from=6)


def two_group_stream() -> list[Article]:
    names = ["alpha 1", "alpha 2", "alpha 3", "beta 1", "beta 2", "alpha 4"]
    return [art(f"g{n}", name, "", hours=n) for n, name in enumerate(names)]


def test_a_story_holding_two_groups_splits_when_it_grows() -> None:
    stream = two_group_stream()
    index = MemoryStoryIndex()
    clusterer = OnlineClusterer(index, CHAINING)
    decisions = [clusterer.add(i) for i in featurize(stream, index, TWO_GROUPS)]
    assert len({d.story_id for d in decisions}) == 1  # the betas chained in
    kept, part = f"s{stream[0].id[:15]}", f"s{stream[3].id[:15]}"
    assert decisions[-1].split == (part,)
    assert decisions[-1].reasons()["split"] == [part]
    assert index.splits == [(kept, part, stream[5].id)]
    assert [index.story_of_article[a.id] for a in stream] == [kept] * 3 + [part] * 2 + [kept]
    # Both stories are rebuilt from their members, and the index finds the part.
    assert (index.stories[kept].size, index.stories[part].size) == (4, 2)
    assert [m.article_id for m in index.members(part)] == [stream[3].id, stream[4].id]
    later = featurize([art("g9", "beta 3", "", hours=9)], index, TWO_GROUPS)[0]
    assert clusterer.add(later).story_id == part
    # The same stream without the split test keeps one story of six.
    unsplit = cluster_stream(stream, replace(CHAINING, split_from=0), featurizer=TWO_GROUPS)
    assert len(set(unsplit)) == 1
    split = cluster_stream(stream, CHAINING, featurizer=TWO_GROUPS)
    assert split == [kept] * 3 + [part] * 2 + [kept]


def test_a_story_of_one_group_does_not_split() -> None:
    stream = [art(f"h{n}", f"alpha {n}", "", hours=n) for n in range(8)]
    # Eight copies of one report: not two groups either.
    stream += [art(f"c{n}", "alpha 0", "", hours=n) for n in range(8)]
    assert len(set(cluster_stream(stream, CHAINING, featurizer=TWO_GROUPS))) == 1


def test_a_story_past_the_split_test_keeps_no_more_members() -> None:
    # No story above split_max is tested for a split, and stories only shrink by
    # one, so what the store keeps per story stops growing there.
    stream = [art(f"k{n}", f"alpha {n % 9}", "", hours=n) for n in range(12)]
    index = MemoryStoryIndex()
    clusterer = OnlineClusterer(index, replace(CHAINING, split_max=8))
    stories = {clusterer.add(i).story_id for i in featurize(stream, index, TWO_GROUPS)}
    assert len(stories) == 1
    (story,) = stories
    assert index.stories[story].size == 12
    assert [m.article_id for m in index.members(story)] == [a.id for a in stream[:8]]
    off = OnlineClusterer(MemoryStoryIndex(), replace(CHAINING, split_from=0))
    (unsplit,) = {off.add(i).story_id for i in featurize(stream, off.index, TWO_GROUPS)}
    assert off.index.members(unsplit) == []
