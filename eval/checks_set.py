"""A planted-conflict set for the cross-checks, built from ECB+ and NeuS articles.

Each item is a pair: a real article (ECB+ full text, or one NeuS outlet's lead)
and a copy of it with exactly one planted change.  Seven changes are
conflicts (a number, a duration, a weekday, a place, a person's surname, a
quoted word, a negation); four are changes that keep the facts true and must
not be flagged (rounding with a hedge, a unit conversion, a relative date
that resolves to the same day, a second event with its own numbers added in
a new sentence).  The copy is otherwise word for word the source, so any flag
that does not touch the changed sentence is a false flag by construction.

Seeded: the same ``seed`` gives the same set.  Nothing is written to disk;
``eval/checks.py`` builds the set in memory each run.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsloom.facts import Quantity, extract_places, extract_quantities, extract_quotes
from newsloom.sentences import Sentence, split_sentences

CONFLICT_CHANGES = ("number", "duration", "date", "place", "person", "quote", "negation")
SAFE_CHANGES = ("rounding", "conversion", "relative_date", "second_event")


@dataclass(slots=True)
class PlantedPair:
    """One source text, its changed copy and what the change was."""

    id: str
    source: str
    original: str
    changed: str
    change: str
    conflict: bool
    # The sentence as it reads in each text; for a renamed person, the new
    # spelling (every sentence naming it is changed).
    a_sentence: str
    b_sentence: str
    marker: str = ""
    a_published: datetime | None = None
    b_published: datetime | None = None


# --- sources -------------------------------------------------------------------

_PTB = [
    (re.compile(r"``\s*"), '"'),
    (re.compile(r"\s*''"), '"'),
    (re.compile(r"\s+([,.;:!?%)])"), r"\1"),
    (re.compile(r"\(\s+"), "("),
    (re.compile(r"\s+(n't|'s|'re|'ve|'ll|'d|'m)\b"), r"\1"),
    (re.compile(r"\$\s+(\d)"), r"$\1"),
]


def _detokenize(line: str) -> str:
    """ECB+ text is Penn-Treebank tokenized (`` quotes '', "Reid , 33"): undo it."""
    for pattern, repl in _PTB:
        line = pattern.sub(repl, line)
    return line.strip()


def load_sources(shared: Path, neus_items: int, seed: int) -> list[tuple[str, str]]:
    """(source id, text) for every ECB+ document and a seeded sample of NeuS leads."""
    out: list[tuple[str, str]] = []
    with gzip.open(shared / "data/ecbplus/ecbplus_docs.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            paragraphs = [_detokenize(x) for x in doc["text"].split("\n") if x.strip()]
            out.append((f"ecbplus:{doc['doc_id']}", "\n\n".join(paragraphs)))
    neus: list[tuple[str, str]] = []
    with gzip.open(
        shared / "data/neus_allsides/neus_train_val.jsonl.gz", "rt", encoding="utf-8"
    ) as fh:
        for line in fh:
            item = json.loads(line)
            for k, article in enumerate(item["articles"]):
                if len(article["text"]) > 200:
                    neus.append((f"neus:{item['id']}:{k}", article["text"].strip()))
    rng = random.Random(seed)
    out.extend(rng.sample(neus, min(neus_items, len(neus))))
    return out


# --- helpers ---------------------------------------------------------------------

_WORD_NUMBERS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _format_like(original: str, value: float) -> str:
    """A number written the way the original was (words, commas, decimals)."""
    if original.lower() in _WORD_NUMBERS and value == int(value) and 1 <= value <= 10:
        word = _WORD_NUMBERS[int(value) - 1]
        return word.capitalize() if original[:1].isupper() else word
    if "." in original:
        decimals = len(original.split(".")[1])
        return f"{value:,.{decimals}f}" if "," in original else f"{value:.{decimals}f}"
    if "," in original or value >= 10_000:
        return f"{round(value):,}"
    return str(round(value))


_NUMBER_IN = re.compile(
    r"\d[\d,]*(?:\.\d+)?|\b(?:one|two|three|four|five|six|seven|eight|nine|ten)\b", re.I
)


def _number_part(sentence: str, q: Quantity) -> re.Match[str] | None:
    """The number inside a quantity's text, with its offset in the sentence."""
    m = _NUMBER_IN.search(sentence, q.start, q.end)
    return m


def _replace(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def _plain_quantities(
    s: Sentence, dimensions: set[str], *, quoted: bool = True
) -> list[tuple[Quantity, re.Match[str]]]:
    """Exact figures of the given dimensions; ``quoted=False`` skips figures in quotes.

    A safe change must not touch quoted words: converting "eight days" to
    "192 hours" inside a quotation misquotes the speaker.
    """
    spans = [] if quoted else [(x.start, x.end) for x in extract_quotes(s.text)]
    out = []
    for q in extract_quantities(s.text):
        if q.dimension not in dimensions or not q.exact or q.low <= 0:
            continue
        if any(start <= q.start < end for start, end in spans):
            continue
        m = _number_part(s.text, q)
        if m and _parse(m.group()) is not None:
            out.append((q, m))
    return out


def _parse(text: str) -> float | None:
    if text.lower() in _WORD_NUMBERS:
        return float(_WORD_NUMBERS.index(text.lower()) + 1)
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


Mutation = Callable[[str, list[Sentence], random.Random], "tuple[str, str, str, str] | None"]


def _sentence_edit(text: str, s: Sentence, new_sentence: str) -> tuple[str, str, str, str]:
    return _replace(text, s.start, s.end, new_sentence), s.text, new_sentence, ""


# --- conflicts -------------------------------------------------------------------


def _change_number(text: str, sentences: list[Sentence], rng: random.Random, dims: set[str]):
    options = [(s, q, m) for s in sentences for q, m in _plain_quantities(s, dims)]
    if not options:
        return None
    s, _q, m = rng.choice(options)
    value = _parse(m.group())
    assert value is not None
    if m.group().lower() in _WORD_NUMBERS or (value < 12 and value == int(value)):
        new_value = value + rng.choice([1, 2]) if value < 9 else value - rng.choice([1, 2])
    else:
        new_value = value * rng.choice([0.6, 0.75, 1.3, 1.5, 1.8])
        if value == int(value):
            new_value = round(new_value)
    new = _format_like(m.group(), new_value)
    if _parse(new) == value:
        return None
    return _sentence_edit(text, s, _replace(s.text, m.start(), m.end(), new))


def change_number(text, sentences, rng):
    return _change_number(text, sentences, rng, {"count", "length", "mass", "money", "percent"})


def change_duration(text, sentences, rng):
    return _change_number(text, sentences, rng, {"time"})


_WEEKDAY_RE = re.compile(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")


def change_weekday(text, sentences, rng):
    options = [(s, m) for s in sentences for m in _WEEKDAY_RE.finditer(s.text)]
    if not options:
        return None
    s, m = rng.choice(options)
    new = rng.choice([d for d in _WEEKDAYS if d != m.group()])
    return _sentence_edit(text, s, _replace(s.text, m.start(), m.end(), new))


def _place_pool(sources: list[tuple[str, str]]) -> list[str]:
    pool = set()
    for _, text in sources[:400]:
        for s in split_sentences(text):
            for p in extract_places(s.text):
                if re.fullmatch(r"[A-Z][a-z]+(?: [A-Z][a-z]+)?", p.text):
                    pool.add(p.text)
    return sorted(pool)


def change_place(pool: list[str]) -> Mutation:
    def mutate(text, sentences, rng):
        options = [
            (s, p)
            for s in sentences
            for p in extract_places(s.text)
            if re.fullmatch(r"[A-Z][a-z]+(?: [A-Z][a-z]+)?", p.text)
        ]
        if not options:
            return None
        s, p = rng.choice(options)
        new = rng.choice([x for x in pool if x not in text and p.text not in x and x not in p.text])
        return _sentence_edit(text, s, _replace(s.text, p.start, p.end, new))

    return mutate


_VOWEL_SWAP = {"a": "e", "e": "a", "i": "y", "o": "u", "u": "o", "y": "i"}


def change_person(text, sentences, rng):
    """Misspell one person's surname everywhere in the copy (spelling drift)."""
    from newsloom.features.entities import get_nlp

    doc = get_nlp()(text)
    names = sorted({e.text for e in doc.ents if e.label_ == "PERSON" and len(e.text.split()) >= 2})
    options = [n.split()[-1] for n in names if re.fullmatch(r"[A-Z][a-z]{4,}", n.split()[-1])]
    if not options:
        return None
    surname = rng.choice(options)
    inner = [i for i in range(1, len(surname) - 1) if surname[i] in _VOWEL_SWAP]
    if not inner:
        return None
    i = rng.choice(inner)
    new = surname[:i] + _VOWEL_SWAP[surname[i]] + surname[i + 1 :]
    if re.search(rf"\b{new}\b", text):
        return None
    changed = re.sub(rf"\b{surname}\b", new, text)
    first = next(s for s in sentences if re.search(rf"\b{surname}\b", s.text))
    return changed, first.text, first.text.replace(surname, new), new


_QUOTE_WORDS = re.compile(r"\b[a-z]{5,}\b")
_SWAPS = [
    "decision",
    "problem",
    "country",
    "important",
    "terrible",
    "wonderful",
    "government",
    "family",
]


def change_quote(text, sentences, rng):
    options = []
    for s in sentences:
        for q in extract_quotes(s.text):
            if len(q.text.split()) >= 6:
                words = list(_QUOTE_WORDS.finditer(s.text, q.start, q.end))
                options.extend((s, w) for w in words)
    if not options:
        return None
    s, w = rng.choice(options)
    new = rng.choice([x for x in _SWAPS if x != w.group()])
    return _sentence_edit(text, s, _replace(s.text, w.start(), w.end(), new))


_AUX = re.compile(
    r"\b(is|was|are|were|will|would|could|can|has|have|had|should|did|does)\b(?!\s+not\b|n't)"
)
_NOT = re.compile(r"\b(is|was|are|were|will|would|could|has|have|had|should|did|does) not\b")


def change_negation(text, sentences, rng):
    options = [
        (s, m, "add") for s in sentences for m in _AUX.finditer(s.text) if "not" not in s.text
    ]
    options += [(s, m, "drop") for s in sentences for m in _NOT.finditer(s.text)]
    if not options:
        return None
    s, m, how = rng.choice(options)
    if how == "add":
        new = _replace(s.text, m.start(), m.end(), m.group() + " not")
    else:
        new = _replace(s.text, m.start(), m.end(), m.group(1))
    return _sentence_edit(text, s, new)


# --- changes that keep the facts true ------------------------------------------------


def round_with_hedge(text, sentences, rng):
    options = [
        (s, q, m)
        for s in sentences
        for q, m in _plain_quantities(s, {"count", "money"}, quoted=False)
    ]
    options = [
        (s, q, m) for s, q, m in options if (_parse(m.group()) or 0) >= 120 and "." not in m.group()
    ]
    if not options:
        return None
    s, _q, m = rng.choice(options)
    value = _parse(m.group()) or 0
    digits = len(str(int(value))) - 2
    rounded = round(value, -digits)
    if rounded == value:
        return None
    hedge = rng.choice(["about", "around", "nearly" if rounded > value else "more than"])
    new = f"{hedge} {_format_like(m.group(), rounded)}"
    start = m.start()
    # "a 1,234-seat" or "the 1,234 people": keep the article readable either way.
    return _sentence_edit(text, s, _replace(s.text, start, m.end(), new))


_CONVERSIONS = {
    "km": ("miles", 0.621371, 1),
    "kilometres": ("miles", 0.621371, 1),
    "kilometers": ("miles", 0.621371, 1),
    "miles": ("km", 1.609344, 1),
    "mile": ("km", 1.609344, 1),
    "metres": ("feet", 3.28084, 0),
    "meters": ("feet", 3.28084, 0),
    "feet": ("metres", 0.3048, 1),
    "hours": ("minutes", 60.0, 0),
    "days": ("hours", 24.0, 0),
    "weeks": ("days", 7.0, 0),
}


def convert_unit(text, sentences, rng):
    options = []
    for s in sentences:
        for q, m in _plain_quantities(s, {"length", "time"}, quoted=False):
            unit = s.text[m.end() : q.end].strip(" -").lower()
            if unit in _CONVERSIONS and not q.compound:
                options.append((s, q, m, unit))
    if not options:
        return None
    s, q, m, unit = rng.choice(options)
    target, factor, decimals = _CONVERSIONS[unit]
    value = (_parse(m.group()) or 0) * factor
    new = f"{value:,.{decimals}f} {target}" if decimals else f"{round(value):,} {target}"
    return _sentence_edit(text, s, _replace(s.text, m.start(), q.end, new))


_ON_WEEKDAY = re.compile(
    r"\bon (Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b(?![,\s]+\d)"
)


def relative_date(text, sentences, rng):
    """Source: "on Tuesday, March 10"; copy: "last Tuesday", published two days later."""
    options = [(s, m) for s in sentences for m in _ON_WEEKDAY.finditer(s.text)]
    if not options:
        return None
    s, m = rng.choice(options)
    weekday = _WEEKDAYS.index(m.group(1))
    day = datetime(2026, 3, 2, 12, tzinfo=UTC) + timedelta(days=weekday + 7 * rng.randrange(3))
    explicit = f"on {m.group(1)}, {day:%B} {day.day}"
    a_sentence = _replace(s.text, m.start(), m.end(), explicit)
    b_sentence = _replace(s.text, m.start(), m.end(), f"last {m.group(1)}")
    original = _replace(text, s.start, s.end, a_sentence)
    changed = _replace(text, s.start, s.end, b_sentence)
    return (
        original,
        changed,
        a_sentence,
        b_sentence,
        day + timedelta(days=1),
        day + timedelta(days=2),
    )


_SECOND = ["In a separate incident on {day}, {s}", "A year earlier, {s}", "In a second case, {s}"]


def second_event(text, sentences, rng):
    """The copy adds, after a sentence, a second event with its own figure."""
    options = [
        (s, q, m)
        for s in sentences
        for q, m in _plain_quantities(s, {"count", "time", "money"}, quoted=False)
    ]
    if not options:
        return None
    s, _q, m = rng.choice(options)
    value = _parse(m.group()) or 0
    new_value = value + rng.choice([1, 2]) if value < 9 else round(value * rng.choice([0.6, 1.5]))
    twin = _replace(s.text, m.start(), m.end(), _format_like(m.group(), new_value))
    twin = twin[0].lower() + twin[1:] if not re.match(r"[A-Z][a-z]+ [A-Z]", twin) else twin
    extra = rng.choice(_SECOND).format(day=rng.choice(_WEEKDAYS), s=twin)
    changed = _replace(text, s.end, s.end, " " + extra)
    return changed, s.text, extra, ""


# --- the set ------------------------------------------------------------------------


def build(
    shared: Path, *, per_change: int = 60, neus_items: int = 600, seed: int = 7
) -> list[PlantedPair]:
    """Up to ``per_change`` pairs for each change, sources drawn in a seeded order."""
    sources = load_sources(shared, neus_items, seed)
    pool = _place_pool(sources)
    mutations: dict[str, Callable] = {
        "number": change_number,
        "duration": change_duration,
        "date": change_weekday,
        "place": change_place(pool),
        "person": change_person,
        "quote": change_quote,
        "negation": change_negation,
        "rounding": round_with_hedge,
        "conversion": convert_unit,
        "relative_date": relative_date,
        "second_event": second_event,
    }
    out: list[PlantedPair] = []
    for name, mutate in mutations.items():
        rng = random.Random(f"{seed}:{name}")
        order = list(range(len(sources)))
        rng.shuffle(order)
        made = 0
        for index in order:
            if made >= per_change:
                break
            source, text = sources[index]
            result = mutate(text, split_sentences(text), rng)
            if result is None:
                continue
            out.append(_pair(name, source, text, result, made))
            made += 1
    return out


def _pair(name: str, source: str, text: str, result: tuple, n: int) -> PlantedPair:
    conflict = name in CONFLICT_CHANGES
    if name == "relative_date":
        original, changed, a_sentence, b_sentence, a_pub, b_pub = result
        return PlantedPair(
            f"{name}-{n}",
            source,
            original,
            changed,
            name,
            conflict,
            a_sentence,
            b_sentence,
            "",
            a_pub,
            b_pub,
        )
    changed, a_sentence, b_sentence, marker = result
    return PlantedPair(
        f"{name}-{n}", source, text, changed, name, conflict, a_sentence, b_sentence, marker
    )


def iter_changes(pairs: list[PlantedPair]) -> Iterator[tuple[str, list[PlantedPair]]]:
    for name in CONFLICT_CHANGES + SAFE_CHANGES:
        yield name, [p for p in pairs if p.change == name]
