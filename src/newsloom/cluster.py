"""Online story clustering: each new article joins a story or starts one.

An article is compared only with the stories an index proposes: stories that
share one of its named entities or top terms and are still active (a story
goes quiet after ``quiet_days`` without a new article).  So the cost of
adding an article depends on how many live stories share its words, not on
how many stories exist.  The decision combines three signals:

* mean cosine of the article's title-and-lead embedding with the members' (average link);
* TF-IDF cosine of title and lead with the story's term centroid;
* the share of the article's entities the story already has.

The larger a story, the more of a related newcomer's terms and entities it
already has, so a story of many members is scored somewhat lower: running
topics (monthly jobs reports, the days of one trial) do not swallow every
near-topic report.  For the same reason an article with many candidate
stories (a crowded topic) needs a clearer lead over the crowd to join one.

Each membership keeps its reasons (the three similarities, shared entities
and terms) so a reader can see why an article belongs.  When an article
matches two stories that are close to each other, they merge, and the merge
is recorded; a small story (an article the size rule kept out, say) merges
on a looser test, so that a later bridging article can bring it back.  The
other way round, when a join shows that a story holds two groups (two events
chained by earlier joins), the story splits in two; the split is recorded as
well, and each story keeps what it needs of its members to test that.
Given the same articles in the same order, the result is the same: story
ids derive from the first article's id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np

from newsloom.errors import PlacementConflictError
from newsloom.features.terms import DocumentFrequencies, cosine, tfidf, top_terms
from newsloom.types import Article

__all__ = [
    "EPOCH",
    "ArticleFeatures",
    "ClusterParams",
    "Decision",
    "Member",
    "MemoryStoryIndex",
    "OnlineClusterer",
    "RawFeatures",
    "StoryState",
    "cluster_stored",
    "cluster_stream",
    "featurize",
    "is_active",
    "member_of",
    "raw_features",
    "recluster",
    "weigh_features",
]

# Stands for "no date known" in story timestamps, so they stay comparable.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ENTITY_LABELS = {"PERSON", "ORG", "GPE", "LOC", "NORP", "EVENT", "FAC"}


@dataclass(slots=True, frozen=True)
class ClusterParams:
    """Weights and thresholds, chosen with the MiniLM-L6 embedder on ECB+, NeuS and
    BASIL together (docs/quality.md, "Stories"): the best balance across the three,
    not the best on any one."""

    join_threshold: float = 0.45
    # Cosine of the two stories' normalised centroids.  0.75 let a bridging
    # article fold the two sub-topics of an ECB+ topic together (B-cubed F1 on
    # ECB+ stories 0.856/0.853 in the two orders, 0.872/0.892 at 0.9); at 0.9
    # only near-identical stories merge.
    merge_threshold: float = 0.9
    w_embedding: float = 0.6
    w_terms: float = 0.3
    w_entities: float = 0.1
    # A story of n > size_penalty_from members scores size_penalty * (1 -
    # from / n) lower: a big story's summed terms and entities cover much of
    # any near-topic article, so it needs a closer match (the penalty tends to
    # size_penalty).  On ECB+ in topic order this keeps the first report of a
    # topic's second event out of the first event's story (B-cubed F1 0.872 ->
    # 0.892); docs/quality.md, "Stories".
    size_penalty: float = 0.08
    size_penalty_from: int = 2
    # What the size penalty costs in recall, a bridging article wins back: a
    # story of at most rescue_size members that the article also matches
    # merges into the one it joins when the two stories' combined score
    # (the join signals, story to story) is at least rescue_link.
    rescue_size: int = 2
    rescue_link: float = 0.5
    # In a crowded neighbourhood a plain threshold is too easy to pass: when
    # crowd_rank or more candidate stories are scored, a join needs crowd_margin
    # more than the crowd_rank-th best score (an online analogue of HDBSCAN's
    # core distance).  Recurring events (monthly reports, the days of one
    # trial) make such crowds; there the first report of a new event no longer
    # joins the last one's story.  At 8 / 0.2 (eee5ca8) NeuS B-cubed F1 0.804
    # -> 0.816 with ECB+ and BASIL unchanged; 4 / 0.15 was chosen together
    # with the split below, and 4 / 0.125 with max_candidates 100
    # (docs/quality.md, "Stories").  0 turns it off.
    crowd_rank: int = 4
    crowd_margin: float = 0.125
    # A join can reveal that a story holds two groups (an earlier bridging
    # article chained them, or a crowd of look-alikes joined one by one): when
    # a story of split_from to split_max members gains an article, its members
    # are cut in two by average link over the join score, and the story splits
    # when the two parts link at least split_margin less than the looser part
    # holds together.  0 turns it off; above split_max a story is not tested,
    # which keeps the cost of a join bounded (16 and 40 score the same on
    # ECB+, NeuS and BASIL).  Members whose embeddings are at
    # least copy_cosine alike count once in a part's cohesion: copies of one
    # report would make their part look tighter than it is.  With the crowd
    # bar at 4 / 0.15: NeuS 0.816 -> 0.826, ECB+ shuffled 0.894 -> 0.900, ECB+
    # in topic order and BASIL unchanged (docs/quality.md, "Stories").
    split_from: int = 4
    split_max: int = 16
    split_margin: float = 0.2
    copy_cosine: float = 0.95
    # The TF-IDF terms a story keeps of each member, to rebuild itself after a
    # split (at least index_terms, so a member's keys can be rebuilt too).
    member_terms: int = 40
    quiet_days: float = 7.0
    # The crowd bar reads the crowd_rank-th best of these, so a longer list
    # makes it stricter where many stories look alike; with the margin eased
    # to 0.125, 100 rather than 30 gives NeuS 0.826 -> 0.830 and no row lower.
    # Ordinary streams rarely fill it (26 candidates an article at 100k in
    # bench/growth.py), so it costs little.
    max_candidates: int = 100
    # Stories read per index key, most recently updated first: bounds the work
    # for very common keys and for undated articles, which have no time cut-off.
    per_key: int = 200
    index_terms: int = 10
    story_terms: int = 60
    story_keys: int = 120


@dataclass(slots=True)
class ArticleFeatures:
    article_id: str
    title: str
    # None when the page states no publication date: such an article is not
    # held to the quiet-story rule, and does not move a story's dates.
    published: datetime | None
    embedding: np.ndarray
    terms: dict[str, float]
    entities: list[str]

    def keys(self, params: ClusterParams) -> list[str]:
        return _keys(self.entities, self.terms, params)


def _keys(entities: Iterable[str], terms: dict[str, float], params: ClusterParams) -> list[str]:
    """Index keys: entities and the highest-weighted terms."""
    top = top_terms(terms, params.index_terms)
    return [f"e:{e}" for e in entities] + [f"t:{t}" for t in top]


@dataclass(slots=True, frozen=True)
class Member:
    """What a story keeps of each member: enough to rebuild it after a split."""

    article_id: str
    title: str
    published: datetime | None
    # Half precision: a split test compares members far more coarsely, and it
    # halves what the store keeps per article (same results on ECB+, NeuS, BASIL).
    embedding: np.ndarray
    terms: dict[str, float]  # the member's strongest TF-IDF weights
    entities: tuple[str, ...]

    def keys(self, params: ClusterParams) -> list[str]:
        return _keys(self.entities, self.terms, params)


def member_of(item: ArticleFeatures, params: ClusterParams) -> Member:
    """The part of an article's features its story keeps."""
    kept = top_terms(item.terms, params.member_terms)
    # Four decimals of a weight are more than a split test can tell apart, and
    # they keep the stored row short.
    return Member(
        item.article_id, item.title, item.published, item.embedding.astype(np.float16),
        {t: round(float(item.terms[t]), 4) for t in kept}, tuple(item.entities),
    )  # fmt: skip


@dataclass(slots=True)
class StoryState:
    """What the index keeps about one story: enough to score a new article."""

    id: str
    title: str
    first_seen: datetime
    updated: datetime
    size: int
    centroid: np.ndarray  # sum of member embeddings (normalised when compared)
    terms: dict[str, float]  # summed TF-IDF weights, pruned to the strongest
    entities: Counter[str] = field(default_factory=Counter)
    keys: set[str] = field(default_factory=set)
    merged_into: str | None = None


@dataclass(slots=True, frozen=True)
class Decision:
    """Where one article went and why."""

    article_id: str
    story_id: str
    new_story: bool
    score: float
    embedding: float
    terms: float
    entities: float
    shared_entities: tuple[str, ...]
    shared_terms: tuple[str, ...]
    merged: tuple[str, ...] = ()
    # Stories split off the joined story after this article joined it.
    split: tuple[str, ...] = ()

    def reasons(self) -> dict[str, object]:
        return {
            "score": round(self.score, 4),
            "embedding_similarity": round(self.embedding, 4),
            "term_similarity": round(self.terms, 4),
            "entity_overlap": round(self.entities, 4),
            "shared_entities": list(self.shared_entities),
            "shared_terms": list(self.shared_terms),
            "new_story": self.new_story,
            "merged": list(self.merged),
            "split": list(self.split),
        }


class StoryIndex(Protocol):
    """Where stories live: in memory for evaluation, in the store for ingest."""

    def get(self, story_id: str) -> StoryState | None: ...

    def candidates(
        self, keys: Sequence[str], active_since: datetime, limit: int, per_key: int
    ) -> list[StoryState]: ...

    def save(self, story: StoryState, added_keys: Iterable[str]) -> None: ...

    def merge(self, absorbed: StoryState, into: StoryState, article_id: str) -> None: ...

    def keep_member(self, story_id: str, member: Member) -> None: ...

    def members(self, story_id: str) -> list[Member]: ...

    def split(
        self, story: StoryState, part: StoryState, moved: Sequence[Member], article_id: str
    ) -> None: ...

    def document_frequencies(self, terms: Iterable[str]) -> tuple[dict[str, int], int]: ...

    def count_document(self, terms: Iterable[str]) -> None: ...


class StoryStore(Protocol):
    """The part of a store the clusterer needs (see store/sqlite_stories.py)."""

    def story_index(self) -> Any: ...

    def stories_of(self, article_ids: Sequence[str]) -> dict[str, str]: ...

    def get_article(self, article_id: str) -> Article | None: ...

    def clear_stories(self) -> None: ...

    def iter_article_ids(self) -> Iterator[str]: ...


class MemoryStoryIndex:
    """An in-memory ``StoryIndex`` with an inverted index from keys to stories."""

    def __init__(self) -> None:
        self.stories: dict[str, StoryState] = {}
        self.postings: dict[str, set[str]] = {}
        self.df: Counter[str] = Counter()
        self.documents = 0
        self.merges: list[tuple[str, str, str]] = []
        self.splits: list[tuple[str, str, str]] = []  # (story, part split off, article)
        self.kept: dict[str, list[Member]] = {}  # story id → its members, oldest first
        self.story_of_article: dict[str, str] = {}
        self._order: dict[str, int] = {}

    def get(self, story_id: str) -> StoryState | None:
        return self.stories.get(story_id)

    def candidates(
        self, keys: Sequence[str], active_since: datetime, limit: int, per_key: int
    ) -> list[StoryState]:
        hits: Counter[str] = Counter()
        for key in dict.fromkeys(keys):
            # A split story keeps its postings; the key test drops the ones it lost.
            live = [
                self.stories[story_id]
                for story_id in self.postings.get(key, ())
                if not self.stories[story_id].merged_into
                and key in self.stories[story_id].keys
                and is_active(self.stories[story_id], active_since)
            ]
            live.sort(key=lambda story: (story.updated, story.id), reverse=True)
            hits.update(story.id for story in live[:per_key])
        ranked = sorted(hits.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [self.stories[story_id] for story_id, _ in ranked]

    def save(self, story: StoryState, added_keys: Iterable[str]) -> None:
        self.stories[story.id] = story
        for key in added_keys:
            self.postings.setdefault(key, set()).add(story.id)

    def merge(self, absorbed: StoryState, into: StoryState, article_id: str) -> None:
        absorbed.merged_into = into.id
        self.merges.append((absorbed.id, into.id, article_id))
        moved = self.kept.pop(absorbed.id, [])
        for member in moved:
            self.story_of_article[member.article_id] = into.id
        joined = self.kept.setdefault(into.id, []) + moved
        self.kept[into.id] = sorted(joined, key=lambda m: self._order[m.article_id])

    def keep_member(self, story_id: str, member: Member) -> None:
        self._order.setdefault(member.article_id, len(self._order))
        self.kept.setdefault(story_id, []).append(member)
        self.story_of_article[member.article_id] = story_id

    def members(self, story_id: str) -> list[Member]:
        return list(self.kept.get(story_id, ()))

    def split(
        self, story: StoryState, part: StoryState, moved: Sequence[Member], article_id: str
    ) -> None:
        gone = {m.article_id for m in moved}
        self.kept[story.id] = [m for m in self.kept.get(story.id, ()) if m.article_id not in gone]
        self.kept[part.id] = list(moved)
        for member in moved:
            self.story_of_article[member.article_id] = part.id
        self.save(story, story.keys)
        self.save(part, part.keys)
        self.splits.append((story.id, part.id, article_id))

    def document_frequencies(self, terms: Iterable[str]) -> tuple[dict[str, int], int]:
        return {t: self.df[t] for t in terms}, self.documents

    def count_document(self, terms: Iterable[str]) -> None:
        self.df.update(set(terms))
        self.documents += 1


def is_active(story: StoryState, since: datetime) -> bool:
    """Updated since the cut-off, or undated throughout (then time cannot rule it out)."""
    return story.updated >= since or story.updated == EPOCH


def _normalised(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


class OnlineClusterer:
    """Assigns articles to stories one at a time."""

    def __init__(self, index: StoryIndex, params: ClusterParams | None = None) -> None:
        self.index = index
        self.params = params or ClusterParams()

    def _score(self, item: ArticleFeatures, story: StoryState) -> Decision:
        p = self.params
        # Mean cosine to the members (average link), not cosine to the
        # normalised centroid: a diffuse story has a short summed vector and so
        # attracts less, which raised precision on ECB+, NeuS and BASIL alike.
        emb = float(np.dot(item.embedding, story.centroid)) / max(story.size, 1)
        terms = cosine(item.terms, story.terms)
        shared = [e for e in item.entities if story.entities.get(e)]
        ents = len(shared) / len(item.entities) if item.entities else 0.0
        score = p.w_embedding * emb + p.w_terms * terms + p.w_entities * ents
        score -= self._size_penalty(story.size)
        shared_terms = sorted(
            (t for t in item.terms if t in story.terms),
            key=lambda t: -item.terms[t] * story.terms[t],
        )[:5]
        return Decision(
            item.article_id, story.id, False, score, emb, terms, ents, tuple(shared[:5]),
            tuple(shared_terms),
        )  # fmt: skip

    def _join_bar(self, scored: Sequence[Decision]) -> float:
        """The score a join needs, given every candidate's (best first)."""
        p = self.params
        if p.crowd_rank <= 0 or len(scored) < p.crowd_rank:
            return p.join_threshold
        return max(p.join_threshold, scored[p.crowd_rank - 1].score + p.crowd_margin)

    def _size_penalty(self, size: int) -> float:
        p = self.params
        if size <= p.size_penalty_from:
            return 0.0
        return p.size_penalty * (1.0 - p.size_penalty_from / size)

    def _story_link(self, a: StoryState, b: StoryState) -> float:
        """The join score between two stories: mean member-to-member cosine,
        term cosine and the overlap of their entity sets."""
        p = self.params
        emb = float(np.dot(a.centroid, b.centroid)) / max(a.size * b.size, 1)
        terms = cosine(a.terms, b.terms)
        ours, theirs = set(a.entities), set(b.entities)
        ents = len(ours & theirs) / min(len(ours), len(theirs)) if ours and theirs else 0.0
        return p.w_embedding * emb + p.w_terms * terms + p.w_entities * ents

    def _near_identical(self, story: StoryState, other: StoryState) -> bool:
        closeness = float(np.dot(_normalised(story.centroid), _normalised(other.centroid)))
        return closeness >= self.params.merge_threshold

    def _rescuable(self, story: StoryState, other: StoryState) -> bool:
        # Tested after the article joined ``story``: the article is the evidence
        # that the small story belongs with it.
        p = self.params
        return other.size <= p.rescue_size and self._story_link(story, other) >= p.rescue_link

    def add(self, item: ArticleFeatures) -> Decision:
        """Place one article; returns the decision with its reasons."""
        p = self.params
        keys = item.keys(p)
        if item.published is not None:
            active_since = item.published - timedelta(days=p.quiet_days)
        else:
            active_since = EPOCH
        found = self.index.candidates(keys, active_since, p.max_candidates, p.per_key)
        candidates = {s.id: s for s in found}
        scored = sorted(
            (self._score(item, story) for story in candidates.values()),
            key=lambda d: (-d.score, d.story_id),
        )
        bar = self._join_bar(scored)
        matches = [d for d in scored if d.score >= bar]
        if matches:
            decision = matches[0]
            story = candidates[decision.story_id]
        else:
            story = StoryState(
                id=f"s{item.article_id[:15]}",
                title=item.title,
                first_seen=item.published or EPOCH,
                updated=item.published or EPOCH,
                size=0,
                centroid=np.zeros_like(item.embedding),
                terms={},
            )
            decision = Decision(item.article_id, story.id, True, 0.0, 0.0, 0.0, 0.0, (), ())
        others = [candidates[d.story_id] for d in matches[1:]]
        merged = self._merge_close(story, others, item, self._near_identical)
        self._absorb(story, item, keys)
        if p.split_from > 0 and story.size <= p.split_max:
            # A story never shrinks but by a split, and no story above split_max
            # is tested for one: its later members need not be kept.
            self.index.keep_member(story.id, member_of(item, p))
        merged += self._merge_close(story, others, item, self._rescuable)
        split = [] if decision.new_story else self._split_grown(story, item.article_id)
        if merged or split:
            decision = replace(decision, merged=tuple(merged), split=tuple(split))
        return decision

    def _split_grown(self, story: StoryState, article_id: str) -> list[str]:
        """Cut a story that has just grown into its parts, if it holds two groups.

        The story keeps the part with its oldest member; each part split off
        becomes a story of its own, named after its oldest member.  Parts are
        tested again, so a story can come apart in more than two.
        """
        p = self.params
        if p.split_from <= 0 or not p.split_from <= story.size <= p.split_max:
            return []
        members = self.index.members(story.id)
        if len(members) != story.size:
            return []  # members not kept (stories made before newsloom kept them)
        parts: list[str] = []
        todo = [(story, members)]
        while todo:
            current, group = todo.pop()
            cut = self._cut(group) if len(group) >= p.split_from else None
            if cut is None:
                continue
            keep, move = cut
            part = self._rebuilt(self._part_id(move[0].article_id), move)
            rebuilt = self._rebuilt(current.id, keep)
            for name in StoryState.__slots__:
                setattr(current, name, getattr(rebuilt, name))
            self.index.split(current, part, move, article_id)
            parts.append(part.id)
            todo += [(current, keep), (part, move)]
        return parts

    def _cut(self, group: Sequence[Member]) -> tuple[list[Member], list[Member]] | None:
        """The two average-link halves of ``group`` (the oldest member's first), when
        they link ``split_margin`` less than the looser of them holds together."""
        links, copies = self._member_links(group)
        first, second = _average_link_halves(links)
        between = float(links[np.ix_(first, second)].mean())
        # Copies of one report (wire copies, reposts) would make a part look
        # tighter than it is: each part's cohesion counts them once.
        distinct = [_first_of_copies(g, copies) for g in (first, second)]
        within = [_mean_off_diagonal(links[np.ix_(g, g)]) for g in distinct if len(g) > 1]
        if not within or between >= min(within) - self.params.split_margin:
            return None
        return [group[i] for i in first], [group[i] for i in second]

    def _member_links(self, group: Sequence[Member]) -> tuple[np.ndarray, np.ndarray]:
        """The join score between every two members (``_story_link`` of one-article
        stories), and which pairs are copies (embeddings at least ``copy_cosine``)."""
        p = self.params
        vectors = np.stack([m.embedding for m in group]).astype(np.float64)
        cosines = vectors @ vectors.T
        vocabulary = {t: i for i, t in enumerate(sorted({t for m in group for t in m.terms}))}
        weights = np.zeros((len(group), max(len(vocabulary), 1)))
        for row, member in enumerate(group):
            for term, weight in member.terms.items():
                weights[row, vocabulary[term]] = weight
        norms = np.linalg.norm(weights, axis=1, keepdims=True)
        weights = np.divide(weights, norms, out=np.zeros_like(weights), where=norms > 0)
        names = {e: i for i, e in enumerate(sorted({e for m in group for e in m.entities}))}
        has = np.zeros((len(group), max(len(names), 1)))
        for row, member in enumerate(group):
            for entity in member.entities:
                has[row, names[entity]] = 1.0
        counts = has.sum(axis=1)
        smaller = np.minimum.outer(counts, counts)
        shared = np.divide(has @ has.T, smaller, out=np.zeros_like(smaller), where=smaller > 0)
        links = p.w_embedding * cosines + p.w_terms * (weights @ weights.T) + p.w_entities * shared
        return links, cosines >= p.copy_cosine

    def _part_id(self, article_id: str) -> str:
        """A new story id for a part: its oldest member's, unless a story has that one."""
        base = f"s{article_id[:15]}"
        candidate, n = base, 1
        while self.index.get(candidate) is not None:
            candidate, n = f"{base}-{n}", n + 1
        return candidate

    def _rebuilt(self, story_id: str, members: Sequence[Member]) -> StoryState:
        """A story state made afresh from its members, oldest first."""
        story = StoryState(
            id=story_id,
            title=members[0].title,
            first_seen=EPOCH,
            updated=EPOCH,
            size=0,
            centroid=np.zeros(len(members[0].embedding), dtype=np.float32),
            terms={},
        )
        for member in members:
            self._grow(story, member, member.keys(self.params))
        return story

    def _merge_close(
        self,
        story: StoryState,
        others: list[StoryState],
        item: ArticleFeatures,
        close: Callable[[StoryState, StoryState], bool],
    ) -> list[str]:
        """A bridging article matched several stories: fold in those ``close`` to ``story``."""
        merged: list[str] = []
        for other in others:
            if other.merged_into or other.id == story.id or not close(story, other):
                continue
            story.size += other.size
            story.centroid = story.centroid + other.centroid
            story.terms = self._prune_terms(Counter(story.terms) + Counter(other.terms))
            story.entities.update(other.entities)
            story.first_seen = min(story.first_seen, other.first_seen)
            story.updated = max(story.updated, other.updated)
            added = other.keys - story.keys
            story.keys |= other.keys
            self.index.merge(other, story, item.article_id)
            self.index.save(story, added)
            merged.append(other.id)
        return merged

    def _prune_terms(self, terms: dict[str, float]) -> dict[str, float]:
        top = sorted(terms.items(), key=lambda kv: (-kv[1], kv[0]))[: self.params.story_terms]
        return dict(top)

    def _absorb(self, story: StoryState, item: ArticleFeatures, keys: list[str]) -> None:
        self.index.save(story, self._grow(story, item, keys))

    def _grow(
        self, story: StoryState, item: ArticleFeatures | Member, keys: list[str]
    ) -> list[str]:
        """Add one article to a story's state; returns the keys the story gained."""
        story.size += 1
        story.centroid = story.centroid + item.embedding
        summed = Counter(story.terms)
        summed.update(item.terms)
        story.terms = self._prune_terms(summed)
        story.entities.update(item.entities)
        if item.published is not None:
            # The earliest dated report names the story: arrival order is an
            # accident of crawling, publication order is not.
            if story.updated == EPOCH or item.published < story.first_seen:
                story.first_seen = item.published
                story.title = item.title
            story.updated = max(story.updated, item.published)
        room = self.params.story_keys - len(story.keys)
        added = [k for k in keys if k not in story.keys][: max(room, 0)]
        story.keys.update(added)
        return added


def _first_of_copies(group: Sequence[int], copies: np.ndarray) -> list[int]:
    """``group`` without the members that copy an earlier one."""
    kept: list[int] = []
    for i in group:
        if not any(copies[i, j] for j in kept):
            kept.append(i)
    return kept


def _mean_off_diagonal(square: np.ndarray) -> float:
    n = len(square)
    return float((square.sum() - np.trace(square)) / (n * (n - 1)))


def _average_link_halves(links: np.ndarray) -> tuple[list[int], list[int]]:
    """Average-link agglomeration of a similarity matrix down to two groups;
    the group holding index 0 first, each in index order."""
    n = len(links)
    link = links.astype(np.float64)
    np.fill_diagonal(link, -np.inf)
    groups = {i: [i] for i in range(n)}
    while len(groups) > 2:
        alive = sorted(groups)
        sub = link[np.ix_(alive, alive)]
        i, j = np.unravel_index(int(np.argmax(sub)), sub.shape)
        a, b = sorted((alive[i], alive[j]))
        na, nb = len(groups[a]), len(groups[b])
        # Lance-Williams for average link: the mean of the two rows, by size.
        merged = (na * link[a] + nb * link[b]) / (na + nb)
        link[a], link[:, a] = merged, merged
        link[a, a] = -np.inf
        groups[a] = sorted(groups[a] + groups.pop(b))
    first, second = (groups[k] for k in sorted(groups))
    return (first, second) if 0 in first else (second, first)


@dataclass(slots=True, frozen=True)
class Featurizer:
    """The models behind the signals; tests swap in small deterministic ones."""

    embed: Callable[[Sequence[str]], np.ndarray]
    entities: Callable[[Sequence[str]], list[list[tuple[str, str]]]]
    tokens: Callable[[str], list[str]]
    lead: Callable[[Article], str]


def default_featurizer() -> Featurizer:
    """The packaged embedding model, spaCy entities and newsloom's tokeniser."""
    from newsloom.features import embed, entities, terms

    return Featurizer(
        embed=embed.get_embedder().embed,
        entities=entities.entities,
        tokens=terms.tokenize,
        lead=embed.article_text_for_embedding,
    )


@dataclass(slots=True)
class RawFeatures:
    """The order-free part of an article's features: what the models compute.

    ``featurize`` = ``raw_features`` then ``weigh_features`` in stream order;
    the split lets a batch engine compute the expensive part in parallel and
    replay only the document-frequency bookkeeping in order (newsloom.batch).
    """

    article_id: str
    title: str
    published: datetime | None
    embedding: np.ndarray
    # Token counts of title and lead, in first-seen order (TF-IDF iterates them).
    counts: dict[str, int]
    entities: list[str]


def raw_features(articles: Sequence[Article], featurizer: Featurizer) -> list[RawFeatures]:
    """Embeddings, entities and token counts of a batch; independent of any index."""
    leads = [featurizer.lead(a) for a in articles]
    vectors = featurizer.embed(leads) if leads else np.zeros((0, 0), dtype=np.float32)
    found = featurizer.entities(leads) if leads else []
    return [
        RawFeatures(
            article_id=article.id,
            title=article.title or lead[:120],
            published=article.published,
            embedding=np.asarray(vector, dtype=np.float32),
            counts=dict(Counter(featurizer.tokens(lead))),
            entities=sorted({text for text, label in ents if label in _ENTITY_LABELS and text}),
        )
        for article, lead, vector, ents in zip(articles, leads, vectors, found, strict=True)
    ]


def weigh_features(raw: RawFeatures, index: StoryIndex) -> ArticleFeatures:
    """Count the article as a document and weigh its terms by the frequencies so far."""
    counts = Counter(raw.counts)
    index.count_document(counts)
    df, documents = index.document_frequencies(counts)
    return ArticleFeatures(
        article_id=raw.article_id,
        title=raw.title,
        published=raw.published,
        embedding=raw.embedding,
        terms=tfidf(counts.elements(), DocumentFrequencies(documents, Counter(df))),
        entities=raw.entities,
    )


def featurize(
    articles: Sequence[Article],
    index: StoryIndex,
    featurizer: Featurizer,
) -> list[ArticleFeatures]:
    """Features for a batch of articles; document frequencies are counted as it goes."""
    return [weigh_features(raw, index) for raw in raw_features(articles, featurizer)]


def final_story(index: MemoryStoryIndex, story_id: str) -> str:
    """Follow merges to the story that absorbed ``story_id``."""
    seen = set()
    story = index.stories[story_id]
    while story.merged_into and story.id not in seen:
        seen.add(story.id)
        story = index.stories[story.merged_into]
    return story.id


def cluster_stream(
    articles: Iterable[Article],
    params: ClusterParams | None = None,
    *,
    featurizer: Featurizer | None = None,
    batch_size: int = 64,
) -> list[str]:
    """Cluster articles in the order given, in memory; one story id per article.

    Articles without a date are compared with every story that shares a key
    (up to ``per_key`` a key), however long it has been quiet.
    """
    featurizer = featurizer or default_featurizer()
    index = MemoryStoryIndex()
    clusterer = OnlineClusterer(index, params)
    assigned: list[tuple[str, str]] = []
    batch: list[Article] = []

    def flush() -> None:
        for item in featurize(batch, index, featurizer):
            assigned.append((item.article_id, clusterer.add(item).story_id))
        batch.clear()

    for article in articles:
        batch.append(article)
        if len(batch) >= batch_size:
            flush()
    flush()
    return [final_story(index, index.story_of_article.get(a, s)) for a, s in assigned]


# A batch refused because another worker placed one of its articles first is
# placed again without those; a worker losing that race this often is stuck.
PLACEMENT_TRIES = 5


def cluster_stored(
    store: StoryStore,
    article_ids: Sequence[str],
    params: ClusterParams | None = None,
    *,
    featurizer: Featurizer | None = None,
    batch_size: int = 64,
) -> list[Decision]:
    """Place stored articles into the store's stories, one transaction per batch.

    Articles that already have a story are skipped, so a re-run after a crash
    only places what the crashed run did not commit.  When another worker
    sharing the store places one of a batch's articles first (a
    ``PlacementConflictError`` from the store), the batch is placed again
    without the articles that now have a story.
    """
    featurizer = featurizer or default_featurizer()
    index = store.story_index()
    clusterer = OnlineClusterer(index, params)
    placed = store.stories_of(article_ids)
    todo = [a for a in dict.fromkeys(article_ids) if a not in placed]
    decisions: list[Decision] = []
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        for attempt in range(1, PLACEMENT_TRIES + 1):
            try:
                decisions += _place_batch(store, index, clusterer, batch, featurizer)
                break
            except PlacementConflictError:
                if attempt == PLACEMENT_TRIES:
                    raise
                now_placed = store.stories_of(batch)
                batch = [a for a in batch if a not in now_placed]
    return decisions


def _place_batch(
    store: StoryStore,
    index: StoryIndex,
    clusterer: OnlineClusterer,
    ids: Sequence[str],
    featurizer: Featurizer,
) -> list[Decision]:
    """Place one batch and commit it (``flush``); nothing is kept if it fails."""
    articles = [a for a in (store.get_article(i) for i in ids) if a]
    decisions: list[Decision] = []
    try:
        for item in featurize(articles, index, featurizer):
            decision = clusterer.add(item)
            index.record(decision, datetime.now(UTC))
            decisions.append(decision)
        index.flush()
    except BaseException:
        index.discard()
        raise
    return decisions


def recluster(
    store: StoryStore,
    params: ClusterParams | None = None,
    *,
    featurizer: Featurizer | None = None,
) -> list[Decision]:
    """Forget all stories and place every stored article again, in stored order."""
    store.clear_stories()
    return cluster_stored(store, list(store.iter_article_ids()), params, featurizer=featurizer)
