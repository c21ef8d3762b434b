"""An ancestry set for provenance evaluation, built from real news articles.

Originals are ECB+ articles (at least ``MIN_WORDS`` words).  From each one it
derives pages whose relation to the original is known by construction:

- ``verbatim`` -> duplicate: the same text re-paragraphed under another outlet;
- ``chrome`` -> duplicate: the same text inside site furniture (menus, share
  bar, newsletter box, "Read more" teasers, copyright line);
- ``shuffled`` -> near_copy: the same sentences in another order;
- ``few_changed`` -> near_copy: one sentence in seven (one to three) edited;
- ``rewrite`` -> rewrite: synonyms from this file's own table swapped in and
  clauses reordered in most sentences (what a spinner does);
- ``summary`` / ``summary_credit`` -> summary: the lead plus the most central
  sentences (a third of the text, in order), without and with a credit line;
- ``quotes`` -> quotes: another article of the same sub-topic that quotes two
  of the original's quotations and names it ("told the X").

and the pairs of genuinely independent reports of one event: two articles of
one ECB+ sub-topic, and the outlets of one NeuS (AllSides) story.  Pairs whose
word 5-shingle Jaccard is at least ``COPY_JACCARD``, or where either carries
``COPY_CONTAINMENT`` of the other's 8-word runs, are left out: ECB+ holds one
wire story as printed by several sites, and those are copies, not independent.

Each page gets an outlet, a URL and, by a seeded draw per pair, one of three
dating scenarios: the derived page published later (``later``), the derived
page undated (``undated``), or both dated the same day without a time
(``same_day``, where dates cannot decide).  Derived pages that credit the
original say so in ``attributed``.  Everything is deterministic for a seed.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import read_jsonl_gz, split_on
from newsloom.types import Article

__all__ = ["KIND_RELATION", "Pair", "build_provenance_set"]

MIN_WORDS = 150
MIN_SENTENCES = 6
NEUS_MIN_WORDS = 40
COPY_JACCARD = 0.2
COPY_CONTAINMENT = 0.15

KIND_RELATION = {
    "verbatim": "duplicate",
    "chrome": "duplicate",
    "shuffled": "near_copy",
    "few_changed": "near_copy",
    "rewrite": "rewrite",
    "summary": "summary",
    "summary_credit": "summary",
    "quotes": "quotes",
    "independent": "independent",
}

OUTLETS = (
    ("Harlow Ridge Tribune", "harlowridgetribune.example"),
    ("Coastline Courier", "coastlinecourier.example"),
    ("Meridian Post", "meridianpost.example"),
    ("Northgate Chronicle", "northgatechronicle.example"),
    ("Lakeshore Herald", "lakeshoreherald.example"),
    ("Redfield Observer", "redfieldobserver.example"),
)
REPUBLISHERS = (
    ("Trendy Newsline", "trendynewsline.example"),
    ("Daily Buzz Hub", "dailybuzzhub.example"),
    ("Headline Stack", "headlinestack.example"),
    ("QuickBrief", "quickbrief.example"),
    ("Viral Report 24", "viralreport24.example"),
)
AUTHORS = ("Dana Whitcombe", "Luis Ferrante", "Priya Nandakumar", "Tom Ashdown", "Ewa Mroczek")
HEADERS = (
    "Home | World | Politics | Business | Tech | Entertainment",
    "Trending Now",
    "Advertisement",
    "Breaking News | Subscribe | Sign in",
)
FOOTERS = (
    "Share this article: Facebook Twitter WhatsApp Email",
    "Read more: Ten things to know before the weekend",
    "Sign up for our morning newsletter and get the top stories in your inbox.",
    "© 2024 {outlet}. All rights reserved.",
    "Related: The week in pictures",
    "Comments are closed.",
)
CREDIT_LINES = (
    "Summary by {me}. Source: {outlet} ({url}).",
    "This summary is based on reporting by {outlet}.",
    "Originally reported by {outlet}: {url}",
)

# The rewriter's own table (not the duplicate evaluation's): the swaps a
# spinning tool makes, several words for one and back.
SYNONYMS = {
    "said": "stated",
    "says": "states",
    "told": "informed",
    "announced": "declared",
    "reported": "indicated",
    "people": "persons",
    "police": "law enforcement",
    "killed": "slain",
    "died": "perished",
    "dead": "deceased",
    "injured": "hurt",
    "big": "huge",
    "large": "sizeable",
    "small": "little",
    "after": "following",
    "before": "ahead of",
    "about": "approximately",
    "also": "furthermore",
    "many": "plenty of",
    "help": "aid",
    "start": "commence",
    "started": "commenced",
    "begin": "commence",
    "began": "commenced",
    "found": "uncovered",
    "home": "house",
    "near": "close to",
    "city": "municipality",
    "officials": "authorities",
    "official": "representative",
    "during": "amid",
    "because": "as",
    "earlier": "previously",
    "last": "final",
    "first": "initial",
    "major": "key",
    "government": "administration",
    "company": "firm",
    "leader": "head",
    "attack": "assault",
    "building": "edifice",
    "car": "automobile",
    "children": "youngsters",
    "man": "gentleman",
    "woman": "lady",
    "wants": "desires",
    "want": "desire",
    "tried": "attempted",
    "important": "vital",
    "however": "nonetheless",
    "show": "display",
    "showed": "displayed",
    "fire": "blaze",
    "shot": "gunned",
    "arrested": "detained",
    "charged": "accused",
    "won": "secured",
    "win": "victory",
    "team": "squad",
    "game": "match",
    "film": "movie",
    "star": "celebrity",
    "statement": "declaration",
    "according": "as outlined",
    "week": "seven days",
    "month": "thirty days",
    "year": "twelve months",
    "quickly": "rapidly",
    "area": "region",
    "hospital": "medical center",
    "country": "nation",
}
_COMMON_OPENERS = frozenset(
    ["The", "A", "An", "In", "On", "At", "It", "He", "She", "They", "We", "This", "That", "There"]
)
_CLAUSE_OPENERS = re.compile(r"^(After|Following|When|While|Although|Because|As|Before|Since) ")


@dataclass(slots=True, frozen=True)
class Pair:
    """One labelled pair: ``derived`` came from ``source`` (for ``independent``
    the order means nothing)."""

    key: str
    kind: str
    relation: str
    derived: Article
    source: Article
    attributed: bool
    dating: str
    corpus: str


@dataclass(slots=True, frozen=True)
class _Doc:
    key: str
    group: str
    title: str | None
    sentences: tuple[str, ...]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'“‘(`]*[A-Z0-9])")


def _clean(sentence: str) -> str:
    """ECB+ is tokenised (`` '' and spaced punctuation); give it news typography."""
    text = sentence.replace("`` ", "“").replace(" ''", "”").replace("``", "“")
    text = text.replace("''", "”")
    text = re.sub(r" ([,.;:!?%])", r"\1", text)
    text = re.sub(r" (['’]s)\b", r"\1", text)
    return text.replace("( ", "(").replace(" )", ")").strip()


def _load_ecb(data: Path) -> list[_Doc]:
    docs = []
    for row in read_jsonl_gz(data / "ecbplus" / "ecbplus_docs.jsonl.gz"):
        sentences = tuple(
            _clean(s) for s in row.get("sentences") or split_on(row["text"], _SENTENCE_END)
        )
        # Drop the scraped URL lines some ECB+ documents open with.
        sentences = tuple(s for s in sentences if s and not s.startswith("http"))
        docs.append(_Doc(f"ecb:{row['doc_id']}", f"ecb:{row['subtopic']}", None, sentences))
    return docs


def _load_neus(data: Path) -> list[_Doc]:
    docs = []
    for row in read_jsonl_gz(data / "neus_allsides" / "neus_train_val.jsonl.gz"):
        for index, item in enumerate(row["articles"]):
            docs.append(
                _Doc(
                    f"neus:{row['id']}:{index}",
                    f"neus:{row['id']}",
                    item.get("title"),
                    split_on(item["text"], _SENTENCE_END),
                )
            )
    return docs


def _words(doc: _Doc) -> int:
    return sum(len(s.split()) for s in doc.sentences)


def _shingles(doc: _Doc, k: int = 5) -> set[tuple[str, ...]]:
    words = re.sub(r"[^\w\s]", " ", " ".join(doc.sentences).lower()).split()
    return {tuple(words[i : i + k]) for i in range(max(1, len(words) - k + 1))}


def _jaccard(a: _Doc, b: _Doc) -> float:
    left, right = _shingles(a), _shingles(b)
    return len(left & right) / len(left | right) if left | right else 0.0


def _shares_text(a: _Doc, b: _Doc) -> bool:
    """Either carries a fair share of the other's 8-word runs: a wire story
    printed by two sites, not two independent reports."""
    left, right = _shingles(a, 8), _shingles(b, 8)
    shared = len(left & right)
    return shared >= COPY_CONTAINMENT * min(len(left), len(right))


# --- page assembly -------------------------------------------------------------


def _paragraphs(sentences: list[str], rng: random.Random) -> list[str]:
    out: list[str] = []
    k = 0
    while k < len(sentences):
        size = rng.choice((1, 2, 2, 3))
        out.append(" ".join(sentences[k : k + size]))
        k += size
    return out


def _article(
    key: str,
    paragraphs: list[str],
    *,
    outlet: tuple[str, str],
    title: str | None,
    published: datetime | None,
    authors: list[str],
) -> Article:
    name, domain = outlet
    slug = hashlib.sha1(key.encode()).hexdigest()[:10]
    url = f"https://{domain}/news/{slug}"
    return Article(
        id=key,
        url=url,
        canonical_url=url,
        site_name=name,
        title=title,
        authors=authors,
        published=published,
        date_source="eval" if published else None,
        language="en",
        paragraphs=paragraphs,
        word_count=sum(len(p.split()) for p in paragraphs),
        read_minutes=1,
    )


# --- derivations ---------------------------------------------------------------


def _reword(sentence: str) -> str:
    def swap(match: re.Match[str]) -> str:
        word = match.group()
        new = SYNONYMS.get(word.lower())
        if new is None:
            return word
        return new[0].upper() + new[1:] if word[0].isupper() else new

    return re.sub(r"[A-Za-z]+", swap, sentence)


def _reorder(sentence: str) -> str:
    """Move a clause: "After X, Y." -> "Y after X."; "A, B." -> "B, a."."""
    body = sentence.rstrip()
    end = body[-1] if body and body[-1] in ".!?" else "."
    body = body.rstrip(".!?")
    head, sep, tail = body.partition(", ")
    if not sep or len(tail.split()) < 3 or len(head.split()) < 2 or "“" in body:
        return sentence
    if _CLAUSE_OPENERS.match(head):
        return f"{tail[0].upper()}{tail[1:]} {head[0].lower()}{head[1:]}{end}"
    # Lower-case the old opening word unless it is a name (or an acronym).
    opening = (
        head[0].lower() if head[1:2].islower() and head.split()[0] in _COMMON_OPENERS else head[0]
    )
    return f"{tail[0].upper()}{tail[1:]}, {opening}{head[1:]}{end}"


def _rewrite(sentences: list[str], rng: random.Random) -> list[str]:
    out = []
    for sentence in sentences:
        if rng.random() < 0.85:
            sentence = _reword(sentence)
            if rng.random() < 0.6:
                sentence = _reorder(sentence)
        out.append(sentence)
    return out


def _edit_words(sentence: str, rng: random.Random) -> str:
    words = sentence.split()
    for _ in range(max(1, len(words) // 8)):
        index = rng.randrange(len(words))
        words[index] = rng.choice(("several", "local", "Tuesday", "17", "reportedly", "however"))
    return " ".join(words)


def _few_changed(sentences: list[str], rng: random.Random) -> list[str]:
    out = list(sentences)
    count = min(3, max(1, round(len(out) / 7)))
    for index in rng.sample(range(len(out)), count):
        out[index] = _edit_words(out[index], rng)
    return out


def _shuffled(sentences: list[str], rng: random.Random) -> list[str]:
    out = list(sentences)
    while out == list(sentences):
        rng.shuffle(out)
    return out


def _summary(sentences: list[str], rng: random.Random) -> list[str]:
    """The lead and the sentences sharing most words with the rest, a third of
    the text, in their original order (a plain extractive summary)."""
    bags = [set(re.findall(r"[a-z]{4,}", s.lower())) for s in sentences]
    centrality = [
        sum(len(bag & other) for k, other in enumerate(bags) if k != i)
        for i, bag in enumerate(bags)
    ]
    size = max(2, round(len(sentences) / 3))
    chosen = {0} | set(sorted(range(1, len(sentences)), key=lambda i: -centrality[i])[: size - 1])
    return [sentences[i] for i in sorted(chosen)]


def _quoted(sentence: str) -> str | None:
    match = re.search(r"“([^”]{20,})”", sentence)
    return match.group(1).strip(" ,.") if match else None


def _with_quotes(
    host: list[str], original: list[str], outlet: str, rng: random.Random
) -> list[str] | None:
    """``host``'s own report quoting two of ``original``'s quotations, with credit."""
    quotes = [q for q in (_quoted(s) for s in original) if q and len(q.split()) >= 6][:2]
    if not quotes:
        return None
    out = list(host)
    for number, quote in enumerate(quotes):
        credit = (
            f"“{quote},” a spokesperson told the {outlet}."
            if number == 0
            else f"As one witness put it to {outlet}: “{quote}.”"
        )
        out.insert(min(len(out), 2 + 3 * number + rng.randrange(2)), credit)
    return out


def _chrome(paragraphs: list[str], outlet: str, rng: random.Random) -> list[str]:
    head = [*rng.sample(HEADERS, 2), f"Updated {rng.randint(1, 12)} hours ago"]
    foot = [line.format(outlet=outlet) for line in rng.sample(FOOTERS, 3)]
    return [*head, *paragraphs, *foot]


# --- the set -------------------------------------------------------------------


def _dates(rng: random.Random, scenario: str) -> tuple[datetime | None, datetime | None]:
    """(source, derived) publication times for a dating scenario."""
    base = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(
        days=rng.randrange(300), hours=rng.randrange(6, 18), minutes=rng.randrange(60)
    )
    if scenario == "later":
        return base, base + timedelta(hours=rng.choice((2, 5, 20, 30, 72)))
    if scenario == "undated":
        return base, None
    day = base.replace(hour=0, minute=0)
    return day, day


def _scenario(rng: random.Random) -> str:
    roll = rng.random()
    return "later" if roll < 0.6 else ("undated" if roll < 0.8 else "same_day")


def _make_pair(
    original: _Doc,
    kind: str,
    rng: random.Random,
    host: _Doc | None = None,
) -> Pair | None:
    src_outlet = rng.choice(OUTLETS)
    der_outlet = rng.choice(REPUBLISHERS)
    scenario = _scenario(rng)
    src_date, der_date = _dates(rng, scenario)
    author = rng.choice(AUTHORS)
    sentences = list(original.sentences)
    source = _article(
        original.key,
        _paragraphs(sentences, rng),
        outlet=src_outlet,
        title=original.title,
        published=src_date,
        authors=[author],
    )
    name, _ = src_outlet
    attributed = False
    own_author = [rng.choice(("Staff writer", "Mia Kessler", "Jordan Pike"))]
    title = original.title
    if kind == "verbatim":
        paragraphs = _paragraphs(sentences, rng)
    elif kind == "chrome":
        paragraphs = _chrome(source.paragraphs, der_outlet[0], rng)
    elif kind == "shuffled":
        paragraphs = _paragraphs(_shuffled(sentences, rng), rng)
    elif kind == "few_changed":
        paragraphs = _paragraphs(_few_changed(sentences, rng), rng)
    elif kind == "rewrite":
        paragraphs = _paragraphs(_rewrite(sentences, rng), rng)
        title = _reword(title) if title else None
    elif kind in {"summary", "summary_credit"}:
        paragraphs = [" ".join(_summary(sentences, rng))]
        if kind == "summary_credit":
            line = rng.choice(CREDIT_LINES)
            paragraphs.append(line.format(me=der_outlet[0], outlet=name, url=source.url))
            attributed = True
    elif kind == "quotes":
        assert host is not None
        quoted = _with_quotes(list(host.sentences), sentences, name, rng)
        if quoted is None:
            return None
        paragraphs = _paragraphs(quoted, rng)
        title = host.title
        attributed = True
    else:
        raise ValueError(kind)
    if kind in {"verbatim", "chrome"} and rng.random() < 0.4:
        # A syndicated copy that keeps the original byline credits it.
        own_author = [author]
        attributed = True
    derived = _article(
        f"{original.key}~{kind}",
        paragraphs,
        outlet=der_outlet,
        title=title,
        published=der_date,
        authors=own_author,
    )
    return Pair(
        f"{original.key}~{kind}",
        kind,
        KIND_RELATION[kind],
        derived,
        source,
        attributed,
        scenario,
        original.key.split(":")[0],
    )


def _independent(a: _Doc, b: _Doc, rng: random.Random) -> Pair:
    first, second = rng.sample(OUTLETS, 2)
    base = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(300))
    pages = []
    for doc, outlet, hours in ((a, first, 9), (b, second, 9 + rng.randrange(0, 30))):
        pages.append(
            _article(
                doc.key,
                _paragraphs(list(doc.sentences), rng),
                outlet=outlet,
                title=doc.title,
                published=base + timedelta(hours=hours),
                authors=[rng.choice(AUTHORS)],
            )
        )
    return Pair(
        f"{a.key}|{b.key}",
        "independent",
        "independent",
        pages[1],
        pages[0],
        False,
        "later",
        a.key.split(":")[0],
    )


def build_provenance_set(
    data: Path, *, originals: int = 80, independent: int = 160, seed: int = 7
) -> list[Pair]:
    """``originals`` ECB+ articles with their derived pages, and ``independent``
    same-event pairs (half ECB+ sub-topics, half NeuS stories)."""
    rng = random.Random(seed)
    ecb = _load_ecb(data)
    neus = _load_neus(data)
    by_group: dict[str, list[_Doc]] = defaultdict(list)
    for doc in ecb + neus:
        by_group[doc.group].append(doc)
    pool = [
        d
        for d in ecb
        if _words(d) >= MIN_WORDS
        and len(d.sentences) >= MIN_SENTENCES
        and len(by_group[d.group]) > 1
    ]
    pairs: list[Pair] = []
    for original in rng.sample(pool, min(originals, len(pool))):
        others = [
            d
            for d in by_group[original.group]
            if d.key != original.key
            and _jaccard(d, original) < COPY_JACCARD
            and not _shares_text(d, original)
        ]
        for kind in KIND_RELATION:
            if kind == "independent":
                continue
            host = rng.choice(others) if others and kind == "quotes" else None
            if kind == "quotes" and host is None:
                continue
            pair = _make_pair(original, kind, rng, host)
            if pair is not None:
                pairs.append(pair)
    pairs += _independent_pairs(ecb, neus, by_group, independent, rng)
    return pairs


def _independent_pairs(
    ecb: list[_Doc],
    neus: list[_Doc],
    by_group: dict[str, list[_Doc]],
    count: int,
    rng: random.Random,
) -> list[Pair]:
    """Half from ECB+ sub-topics (several pairs per sub-topic: there are only
    66), half from NeuS stories (one pair per story)."""
    out: list[Pair] = []
    seen: set[str] = set()
    for docs, minimum, per_group in ((ecb, MIN_WORDS // 2, 3), (neus, NEUS_MIN_WORDS, 1)):
        groups = sorted({d.group for d in docs})
        rng.shuffle(groups)
        taken = 0
        for _round in range(per_group):
            for group in groups:
                if taken >= count // 2:
                    break
                members = [d for d in by_group[group] if _words(d) >= minimum]
                if len(members) < 2:
                    continue
                a, b = rng.sample(members, 2)
                key = "|".join(sorted((a.key, b.key)))
                if key in seen or _jaccard(a, b) >= COPY_JACCARD or _shares_text(a, b):
                    continue
                seen.add(key)
                out.append(_independent(a, b, rng))
                taken += 1
    return out


def with_dates_removed(pair: Pair) -> Pair:
    """The pair with both pages undated (for a content-only direction check)."""
    return replace(
        pair,
        derived=replace(pair.derived, published=None),
        source=replace(pair.source, published=None),
        dating="none",
    )
