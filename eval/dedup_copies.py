"""A copy set for near-duplicate evaluation, built from real news articles.

For sampled originals it makes:

- ``exact``: the same text with other quotes, dashes, spacing and case;
- ``chrome``: the text inside site furniture (header, byline, share bar,
  "Read more" teasers, copyright footer);
- ``few_changed``: about one sentence in seven replaced, dropped or edited
  (at least one, at most three);
- ``rewrite``: synonym substitution and clause reordering on half of the
  sentences (a machine rewrite; a provenance concern more than a duplicate);

and keeps the other articles of the same story/topic as ``unrelated``: they
share names, places and vocabulary with the original but are not copies.
Some of them are copies in the data itself (ECB+ holds one wire story as
published by several sites): two articles whose true 5-word-shingle Jaccard is
at least ``DATA_COPY_JACCARD`` are put in one family, so finding them is not
counted as an error; ``build_copy_set`` reports how many such pairs it saw.

Originals need at least ``MIN_WORDS`` words: "a few sentences changed" in a
three-sentence snippet is half the text, which is no longer a near copy.
Everything is deterministic for a given seed.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from common import read_jsonl_gz, split_on

__all__ = ["COPY_KINDS", "NEAR_KINDS", "EvalDoc", "build_copy_set", "load_sources"]

NEAR_KINDS = ("exact", "chrome", "few_changed")
MIN_WORDS = 80
DATA_COPY_JACCARD = 0.5
COPY_KINDS = (*NEAR_KINDS, "rewrite")

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'“‘(]?[A-Z0-9])")

OUTLETS = ("The Daily Courier", "Metro Wire", "Newsbeat Online", "Valley Herald", "Post Today")
HEADERS = (
    "Home | News | World | Politics | Business | Sport | Weather",
    "Breaking News | Subscribe | Sign in",
    "Advertisement",
    "Menu Search Trending Now",
)
FOOTERS = (
    "Share this article: Facebook Twitter WhatsApp Email",
    "Read more: Council approves new budget after marathon session ({outlet})",
    "Read more: What the new rules mean for commuters",
    "Sign up for our morning newsletter and get the top stories in your inbox.",
    "© 2024 {outlet}. All rights reserved.",
    "Comments are closed.",
    "Related: Five things to know this week",
)

SYNONYMS = {
    "said": "stated",
    "says": "states",
    "told": "informed",
    "people": "individuals",
    "police": "officers",
    "killed": "slain",
    "died": "passed away",
    "big": "large",
    "large": "big",
    "new": "fresh",
    "after": "following",
    "before": "prior to",
    "about": "roughly",
    "also": "additionally",
    "but": "however",
    "many": "numerous",
    "help": "assist",
    "start": "begin",
    "started": "began",
    "show": "reveal",
    "showed": "revealed",
    "found": "discovered",
    "home": "residence",
    "near": "close to",
    "city": "town",
    "official": "spokesperson",
    "officials": "authorities",
    "announced": "revealed",
    "reported": "stated",
    "according": "as per",
    "during": "throughout",
    "because": "since",
    "while": "whereas",
    "earlier": "previously",
    "last": "previous",
    "first": "initial",
    "major": "significant",
    "government": "administration",
    "company": "firm",
    "week": "seven days",
    "month": "four weeks",
    "leader": "chief",
    "attack": "assault",
    "building": "structure",
    "car": "vehicle",
    "children": "kids",
    "man": "male",
    "woman": "female",
    "wants": "seeks",
    "want": "seek",
    "try": "attempt",
    "tried": "attempted",
    "important": "crucial",
    "however": "nevertheless",
    "in": "within",
    "on": "upon",
    "is": "remains",
}


@dataclass(slots=True, frozen=True)
class EvalDoc:
    """One article of the copy set.

    ``family`` is the original's key for the original and its copies, and the
    article's own key for an unrelated article; ``kind`` is ``original``,
    ``unrelated`` or one of ``COPY_KINDS``.
    """

    key: str
    source: str
    family: str
    kind: str
    text: str


@dataclass(slots=True, frozen=True)
class _Article:
    key: str
    source: str
    topic: str
    sentences: tuple[str, ...]


def load_sources(data: Path) -> list[_Article]:
    """ECB+ (topic = sub-topic), NeuS AllSides (topic = story), BASIL (topic = event)."""
    articles: list[_Article] = []
    for row in read_jsonl_gz(data / "ecbplus" / "ecbplus_docs.jsonl.gz"):
        sentences = tuple(
            s for s in row.get("sentences") or split_on(row["text"], _SENTENCE_END) if s.strip()
        )
        articles.append(
            _Article(f"ecb:{row['doc_id']}", "ecbplus", f"ecb{row['topic']}", sentences)
        )
    for row in read_jsonl_gz(data / "neus_allsides" / "neus_train_val.jsonl.gz"):
        for index, item in enumerate(row["articles"]):
            articles.append(
                _Article(
                    f"neus:{row['id']}:{index}",
                    "neus",
                    f"neus{row['id']}",
                    split_on(item["text"], _SENTENCE_END),
                )
            )
    for row in read_jsonl_gz(data / "basil" / "basil.jsonl.gz"):
        sentences = tuple(row.get("sentences") or split_on(row["text"], _SENTENCE_END))
        articles.append(
            _Article(f"basil:{row['article_id']}", "basil", f"basil{row['event_id']}", sentences)
        )
    return [a for a in articles if a.sentences]


def _respace(sentence: str, rng: random.Random) -> str:
    """Same words, other typography: what an exact-copy republisher changes."""
    text = sentence.replace("``", "“").replace("''", "”").replace('"', "“")
    text = text.replace("'", "’").replace(" - ", " — ").replace(" , ", ", ")
    if rng.random() < 0.3:
        text = text.upper() if len(text) < 60 else text
    return text.replace(" ", "  ") if rng.random() < 0.3 else text


def _exact(article: _Article, rng: random.Random) -> str:
    return "\n\n".join(_respace(s, rng) for s in article.sentences)


def _chrome(article: _Article, rng: random.Random) -> str:
    outlet = rng.choice(OUTLETS)
    byline = [f"By {outlet} staff", f"Updated {rng.randint(1, 12)} hours ago"]
    head = [*rng.sample(HEADERS, 2), *byline]
    foot = [line.format(outlet=outlet) for line in rng.sample(FOOTERS, 3)]
    return "\n\n".join([*head, *article.sentences, *foot])


def _edit_words(sentence: str, rng: random.Random) -> str:
    words = sentence.split()
    for _ in range(max(1, len(words) // 6)):
        index = rng.randrange(len(words))
        words[index] = rng.choice(("several", "local", "Tuesday", "17", "officials", "however"))
    return " ".join(words)


def _few_changed(article: _Article, foreign: _Article, rng: random.Random) -> str:
    sentences = list(article.sentences)
    count = min(3, max(1, round(len(sentences) / 7)))
    for index in sorted(
        rng.sample(range(len(sentences)), min(count, len(sentences))), reverse=True
    ):
        operation = rng.choice(("replace", "drop", "edit"))
        if operation == "replace":
            sentences[index] = rng.choice(foreign.sentences)
        elif operation == "drop" and len(sentences) > 2:
            del sentences[index]
        else:
            sentences[index] = _edit_words(sentences[index], rng)
    return "\n\n".join(sentences)


def _reword(sentence: str) -> str:
    def swap(match: re.Match[str]) -> str:
        word = match.group()
        new = SYNONYMS.get(word.lower())
        if new is None:
            return word
        return new.capitalize() if word[0].isupper() else new

    return re.sub(r"[A-Za-z]+", swap, sentence)


def _reorder(sentence: str) -> str:
    """Move the clause after the first comma to the front."""
    head, sep, tail = sentence.partition(", ")
    if not sep or len(tail.split()) < 3:
        return sentence
    tail = tail.rstrip(".!?")
    return f"{tail[0].upper()}{tail[1:]}, {head[0].lower()}{head[1:]}."


def _rewrite(article: _Article, rng: random.Random) -> str:
    out = []
    for sentence in article.sentences:
        out.append(_reorder(_reword(sentence)) if rng.random() < 0.5 else sentence)
    return "\n\n".join(out)


def true_jaccard(a: str, b: str, k: int = 5) -> float:
    """Exact Jaccard of the word k-shingle sets of two normalised texts."""
    from newsloom.dedup import normalize

    def shingles(text: str) -> set[tuple[str, ...]]:
        words = normalize(text).split()
        return {tuple(words[i : i + k]) for i in range(max(1, len(words) - k + 1))}

    left, right = shingles(a), shingles(b)
    return len(left & right) / len(left | right) if left | right else 0.0


def _data_copies(by_topic: dict[str, list[_Article]]) -> dict[str, str]:
    """Article key → key of the first article of its copy cluster (union of
    same-topic pairs at or above DATA_COPY_JACCARD); singletons are left out."""
    root: dict[str, str] = {}

    def find(key: str) -> str:
        while root.get(key, key) != key:
            key = root[key]
        return key

    for members in by_topic.values():
        position = {m.key: index for index, m in enumerate(members)}
        texts = [" ".join(m.sentences) for m in members]
        for j in range(len(members)):
            for i in range(j):
                if true_jaccard(texts[i], texts[j]) >= DATA_COPY_JACCARD:
                    # The earlier member of the topic names the cluster.
                    first, later = sorted(
                        (find(members[i].key), find(members[j].key)), key=position.__getitem__
                    )
                    if first != later:
                        root[later] = first
    return {key: find(key) for key in root}


def build_copy_set(
    data: Path, *, originals: int = 300, seed: int = 13
) -> tuple[list[EvalDoc], int]:
    """Originals sampled across the three sources, their copies and their
    same-topic neighbours, in a shuffled (deterministic) arrival order; and
    how many of the articles are copies of another one in the data itself."""
    rng = random.Random(seed)
    articles = load_sources(data)
    by_topic: dict[str, list[_Article]] = defaultdict(list)
    for article in articles:
        by_topic[article.topic].append(article)
    by_source: dict[str, list[_Article]] = defaultdict(list)
    for article in articles:
        # An original needs a same-topic neighbour to be a fair test.
        words = len(" ".join(article.sentences).split())
        if len(by_topic[article.topic]) > 1 and words >= MIN_WORDS:
            by_source[article.source].append(article)
    per_source = originals // len(by_source)
    chosen: list[_Article] = []
    for source in sorted(by_source):
        pool = by_source[source]
        chosen += rng.sample(pool, min(per_source, len(pool)))

    topics = {a.topic for a in chosen}
    copies = _data_copies({t: m for t, m in by_topic.items() if t in topics})
    docs: list[EvalDoc] = []
    seen: set[str] = set()
    for article in chosen:
        text = "\n\n".join(article.sentences)
        family = copies.get(article.key, article.key)
        docs.append(EvalDoc(article.key, article.source, family, "original", text))
        seen.add(article.key)
        foreign = rng.choice(articles)
        while foreign.topic == article.topic:
            foreign = rng.choice(articles)
        makers = {
            "exact": lambda a=article: _exact(a, rng),
            "chrome": lambda a=article: _chrome(a, rng),
            "few_changed": lambda a=article, f=foreign: _few_changed(a, f, rng),
            "rewrite": lambda a=article: _rewrite(a, rng),
        }
        for kind, make in makers.items():
            docs.append(EvalDoc(f"{article.key}~{kind}", article.source, family, kind, make()))
    for article in chosen:
        for other in by_topic[article.topic]:
            if other.key not in seen:
                seen.add(other.key)
                text = "\n\n".join(other.sentences)
                family = copies.get(other.key, other.key)
                docs.append(EvalDoc(other.key, other.source, family, "unrelated", text))
    rng.shuffle(docs)
    return docs, sum(1 for d in docs if d.key in copies)
