"""Small fact extractors for one sentence: quantities, dates, places, quotes, negation.

The cross-checks in ``check.py`` compare these facts between sentences that
report the same thing.  Every extractor is rule-based on purpose: it must be
fast, explainable ("one says 120 people, the other 150") and precise, because
a wrong conflict shown to a reader costs more than a missed one.  Person names
come from spaCy in ``check.py``; everything here is plain regular expressions.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from newsloom.features.terms import stem, tokenize

__all__ = [
    "DateRef",
    "Place",
    "Quantity",
    "Quote",
    "anchor_words",
    "extract_dates",
    "extract_places",
    "extract_quantities",
    "extract_quotes",
    "fold",
    "negation_count",
    "negation_targets",
    "phase_words",
]

# --- numbers -----------------------------------------------------------------

_UNITS_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "a": 1,
    "an": 1,
    "half": 0.5,
}
_SCALES = {
    "hundred": 100,
    "thousand": 1_000,
    "million": 1_000_000,
    "billion": 1_000_000_000,
    "bn": 1_000_000_000,
    "m": 1_000_000,
    "k": 1_000,
}
_WORDNUM = (
    r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|three|four|"
    r"five|six|seven|eight|nine))?|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
    r"|an?(?=\s+(?:hundred|thousand|million|billion)))"
    r"(?:\s+and\s+a\s+half)?(?:\s+(?:hundred|thousand|million|billion))?"
)
_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
# Longest hedges first so "just over" wins over "over".
_HEDGES = (
    "well over",
    "just over",
    "just under",
    "more than",
    "fewer than",
    "less than",
    "at least",
    "at most",
    "up to",
    "close to",
    "upwards of",
    "an estimated",
    "approximately",
    "roughly",
    "around",
    "about",
    "nearly",
    "almost",
    "some",
    "over",
    "under",
    "estimated",
)
_HEDGE_RE = "|".join(h.replace(" ", r"\s+") for h in _HEDGES)
_QUANTITY = re.compile(
    rf"(?<![\w.,£$€-])(?:(?P<hedge>{_HEDGE_RE})\s+)?(?P<cur>[£$€])?"
    rf"(?P<num>{_DIGITS}|{_WORDNUM})"
    rf"(?:\s*(?:to|-|–)\s*(?P<num2>{_DIGITS}|{_WORDNUM}))?"
    r"(?P<scale>\s*(?:million|billion|thousand|bn|m|k)\b)?"
    r"(?:(?P<sep>[\"”]?\s+|-)(?P<unit>per\s+cent|[a-zA-Z]+(?:\.[a-z]\.)?|%)?)?",
    re.IGNORECASE,
)
_PERCENT_SIGN = re.compile(rf"(?<![\w.,])(?P<num>{_DIGITS})%")

# unit word -> (dimension, factor to the base unit of that dimension)
_MEASURES: dict[str, tuple[str, float]] = {
    "metre": ("length", 1.0),
    "meter": ("length", 1.0),
    "m": ("length", 1.0),
    "km": ("length", 1000.0),
    "kilometre": ("length", 1000.0),
    "kilometer": ("length", 1000.0),
    "mile": ("length", 1609.344),
    "foot": ("length", 0.3048),
    "feet": ("length", 0.3048),
    "ft": ("length", 0.3048),
    "inch": ("length", 0.0254),
    "inche": ("length", 0.0254),
    "cm": ("length", 0.01),
    "centimetre": ("length", 0.01),
    "mm": ("length", 0.001),
    "millimetre": ("length", 0.001),
    "yard": ("length", 0.9144),
    "kg": ("mass", 1.0),
    "kilogram": ("mass", 1.0),
    "kilo": ("mass", 1.0),
    "gram": ("mass", 0.001),
    "mg": ("mass", 1e-6),
    "tonne": ("mass", 1000.0),
    "ton": ("mass", 1000.0),
    "lb": ("mass", 0.4536),
    "second": ("time", 1.0),
    "sec": ("time", 1.0),
    "minute": ("time", 60.0),
    "min": ("time", 60.0),
    "hour": ("time", 3600.0),
    "hr": ("time", 3600.0),
    "day": ("time", 86400.0),
    "night": ("time", 86400.0),
    "week": ("time", 7 * 86400.0),
    "fortnight": ("time", 14 * 86400.0),
    "month": ("time", 30.44 * 86400.0),
    "year": ("time", 365.25 * 86400.0),
    "decade": ("time", 3652.5 * 86400.0),
    "percent": ("percent", 1.0),
    "per cent": ("percent", 1.0),
    "%": ("percent", 1.0),
    "mph": ("speed", 1.0),
    "kph": ("speed", 0.621371),
    "acre": ("area", 4046.86),
    "hectare": ("area", 10000.0),
}
_CURRENCY_WORDS = {"pound": "GBP", "dollar": "USD", "euro": "EUR"}
_CURRENCY_SIGNS = {"£": "GBP", "$": "USD", "€": "EUR"}
# Count nouns that name the same kind of thing; news writers vary them freely.
_COUNT_SYNONYMS = {
    "resident": "people",
    "person": "people",
    "individual": "people",
    "ballot": "vote",
}
# Words after a number that are not what it counts.
_NOT_UNITS_TEXT = """
    a an the of to and or in on at by for from with as than that which who this these
    those is are was were be been has have had will would can could may might per am pm
    a.m. p.m. a.m p.m more less times time out other others years-old percentage point
    points january february march april may june july august september october november
    december jan feb mar apr jun jul aug sep sept oct nov dec
"""
_NOT_UNITS = frozenset(_NOT_UNITS_TEXT.split())


@dataclass(frozen=True, slots=True)
class Quantity:
    """A number with what it measures, in the base unit of its dimension.

    ``low``..``high`` is the range the wording allows: "about 120" is a band
    around 120, "more than 300,000" is open above, "1,480" is exact.
    """

    text: str
    value: float
    low: float
    high: float
    unit: str
    dimension: str
    hedge: str | None
    start: int
    end: int
    significant: int
    compound: bool

    @property
    def exact(self) -> bool:
        return self.hedge is None and self.low == self.high


def _word_number(text: str) -> float | None:
    words = re.split(r"[\s-]+", text.lower())
    total = 0.0
    current = 0.0
    half = False
    seen = False
    for i, word in enumerate(words):
        if word == "and" and words[i + 1 : i + 3] == ["a", "half"]:
            half = True
            break
        if word in _UNITS_WORDS:
            current += _UNITS_WORDS[word]
            seen = True
        elif word in _SCALES and word not in {"m", "k"}:
            current = (current or 1) * _SCALES[word]
            if _SCALES[word] >= 1000:
                total += current
                current = 0
            seen = True
        else:
            return None
    if not seen:
        return None
    value = total + current
    return value + 0.5 if half else value


def _parse_number(text: str) -> tuple[float, int] | None:
    """The value and its number of significant digits ("1,480" -> 3)."""
    raw = text.replace(",", "")
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        digits = raw.replace(".", "").lstrip("0") or "0"
        if "." not in raw:
            digits = digits.rstrip("0") or "0"
        return float(raw), max(len(digits), 1)
    value = _word_number(text)
    if value is None:
        return None
    return value, 3 if value % 1 else max(len(str(int(value)).rstrip("0")), 1)


def _singular(word: str) -> str:
    word = word.lower().rstrip(".")
    if word in {"feet", "people", "series", "news"}:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 2:
        return word[:-1]
    return word


def _interval(value: float, hedge: str | None) -> tuple[float, float]:
    if hedge is None:
        return value, value
    h = " ".join(hedge.lower().split())
    if h in {"about", "around", "roughly", "approximately", "some", "estimated", "an estimated"}:
        return value * 0.9, value * 1.1
    if h in {"close to", "nearly", "almost", "just under"}:
        return value * 0.85, value
    if h == "just over":
        return value, value * 1.15
    if h in {"more than", "over", "well over", "upwards of", "at least"}:
        return value, float("inf")
    return 0.0, value  # up to, fewer than, less than, under, at most


def extract_quantities(sentence: str) -> list[Quantity]:
    """Numbers that carry a unit: measures, money, percentages and counted nouns.

    Bare numbers (ages, scores, years), times of day and dates are skipped:
    without a unit there is nothing safe to compare them with.
    """
    found: list[Quantity] = []
    for m in _QUANTITY.finditer(sentence):
        q = _quantity_from_match(sentence, m)
        if q is not None:
            found.append(q)
            found.extend(_implied(sentence, q))
    for m in _PERCENT_SIGN.finditer(sentence):
        value, sig = _parse_number(m.group("num")) or (0.0, 1)
        found.append(
            Quantity(
                m.group(), value, value, value, "%", "percent", None, m.start(), m.end(), sig, False
            )
        )
    return found


_NUMBER_ONLY = rf"(?P<num>{_DIGITS}|{_WORDNUM})"
_PARTITIVE = re.compile(
    rf"(?<![\w.,]){_NUMBER_ONLY}\s+of\s+(?:the|its|her|his|their|our|these|those)\s+$", re.I
)
_TO_BARE = re.compile(rf"\s*to\s+{_NUMBER_ONLY}\b(?![.,]\d)(?!\s*[-–]?\s*[a-zA-Z%])", re.I)
_FROM_BEFORE = re.compile(r"\bfrom\s+\S*\s*$", re.I)
# How far before a quantity its partitive ("three of the") or its "from" is
# looked for.  Searching (and slicing) the whole sentence before every
# quantity made a sentence of many numbers quadratic.
_LOOKBACK = 200


def _implied(sentence: str, q: Quantity) -> list[Quantity]:
    """Numbers that borrow the unit of a neighbour.

    "three of the eight bearings" counts bearings twice and "from eleven votes
    to nine" counts votes twice; without these a sentence would seem to give
    one value where it gives two.
    """
    out = []
    window = max(0, q.start - _LOOKBACK)
    part = _PARTITIVE.search(sentence, window, q.start)
    if part and q.dimension == "count":
        out.append((part.group("num"), part.start(), part.end()))
    after = _TO_BARE.match(sentence, q.end)
    if after and _FROM_BEFORE.search(sentence, window, q.start):
        out.append((after.group("num"), after.start("num"), after.end("num")))
    implied = []
    for text, start, end in out:
        parsed = _parse_number(text)
        if parsed is None:
            continue
        factor = q.value / q.low if q.exact and q.low else 1.0
        value = parsed[0] * factor
        implied.append(
            Quantity(
                text, value, value, value, q.unit, q.dimension, None, start, end, parsed[1], False
            )
        )
    return implied


def _quantity_from_match(sentence: str, m: re.Match[str]) -> Quantity | None:
    num = m.group("num")
    if num.lower() in {"a", "an"}:
        return None  # "a day", "an hour": an article, not a count worth checking
    before = sentence[max(0, m.start() - 12) : m.start()].lower()
    if re.search(r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s*$", before):
        return None  # "March 27"
    parsed = _parse_number(num)
    if parsed is None:
        return None
    value, sig = parsed
    unit_raw = (m.group("unit") or "").strip()
    scale = (m.group("scale") or "").strip().lower()
    if scale:
        value *= _SCALES[scale]
    currency = _CURRENCY_SIGNS.get(m.group("cur") or "")
    unit_key = _singular(unit_raw) if unit_raw else ""
    if unit_raw.lower().replace(" ", "") == "percent" or unit_raw == "%":
        unit_key = "percent"
    if currency is None and unit_key in _CURRENCY_WORDS and (scale or "." in num or "," in num):
        currency = _CURRENCY_WORDS[unit_key]
    if currency:
        unit, dimension, factor = currency, "money", 1.0
    elif unit_key in _MEASURES:
        dimension, factor = _MEASURES[unit_key]
        unit = dimension
    elif unit_raw and unit_raw[0].islower() and unit_key not in _NOT_UNITS and len(unit_key) > 2:
        if value >= 1900 and value <= 2100 and value % 1 == 0 and not scale:
            return None  # a year followed by a word ("in 2021 as ...")
        unit = _COUNT_SYNONYMS.get(unit_key, unit_key)
        dimension, factor = "count", 1.0
    else:
        return None
    if m.group("sep") == "-" and dimension == "count" and unit_key in {"old"}:
        return None
    hedge = m.group("hedge")
    low, high = _interval(value, hedge)
    if m.group("num2"):
        second = _parse_number(m.group("num2"))
        if second is None:
            return None
        hi = second[0] * (_SCALES[scale] if scale else 1)
        low, high = min(low, hi), max(high, hi)
    return Quantity(
        text=m.group().strip(),
        value=value * factor,
        low=low * factor,
        high=high * factor,
        unit=unit,
        dimension=dimension,
        hedge=" ".join(hedge.lower().split()) if hedge else None,
        start=m.start(),
        end=m.end(),
        significant=sig,
        compound=m.group("sep") == "-",
    )


# --- dates -------------------------------------------------------------------

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_WD = r"(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_MON = (
    r"(?P<mon>january|february|march|april|may|june|july|august|september|october|november|"
    r"december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
)
_DATE = re.compile(
    rf"\b(?P<rel>last|next|this|on|until|till|from|since|by|before|after)?\s*"
    rf"(?:{_WD}(?:['’]s)?,?\s*)?"
    rf"(?:(?:the\s+)?(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MON}"
    rf"|{_MON.replace('mon>', 'mon2>')}\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\b)?"
    rf"(?:,?\s+(?P<year>(?:19|20)\d\d))?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class DateRef:
    """A day a sentence names: a full date, or only a weekday.

    ``role`` is the word before it ("until", "on", "last"), which tells a
    closing date from an event date; ``day`` is resolved against the
    article's publication date when that is possible.
    """

    text: str
    day: date | None
    weekday: int | None
    role: str
    start: int
    end: int

    def agrees(self, other: DateRef) -> bool:
        if self.day and other.day:
            return self.day == other.day
        if self.weekday is not None and other.weekday is not None:
            return self.weekday == other.weekday
        return True

    def label(self) -> str:
        if self.day:
            return self.day.strftime("%A %-d %B %Y")
        return _WEEKDAYS[self.weekday or 0].capitalize()


def extract_dates(sentence: str, published: datetime | None = None) -> list[DateRef]:
    """Weekdays and calendar dates, with relative ones resolved against ``published``."""
    out: list[DateRef] = []
    for m in _DATE.finditer(sentence):
        wd, mon = m.group("wd"), m.group("mon") or m.group("mon2")
        if not wd and not mon:
            continue
        if mon and mon.lower() == "may" and not (m.group("d1") or m.group("d2")):
            continue
        if mon and not (m.group("d1") or m.group("d2")):
            continue
        role = (m.group("rel") or "on").lower()
        weekday = _WEEKDAYS.index(wd.lower()) if wd else None
        day = None
        if mon:
            year = (
                int(m.group("year")) if m.group("year") else published.year if published else None
            )
            number = int(m.group("d1") or m.group("d2"))
            if year is not None:
                try:
                    day = date(year, _MONTHS[mon.lower().rstrip(".")], number)
                except ValueError:
                    continue
                if weekday is not None and day.weekday() != weekday:
                    day = None  # a guessed year, or a slip: the weekday is what was written
        elif weekday is not None and published is not None and role == "last":
            day = _last_weekday(published.date(), weekday)
        text = m.group().strip()
        start = m.start() + (len(m.group()) - len(m.group().lstrip()))
        if day is not None:
            weekday = day.weekday()
        out.append(DateRef(text, day, weekday, role, start, m.end()))
    return out


def _last_weekday(published: date, weekday: int) -> date:
    """ "last Tuesday": the most recent Tuesday strictly before publication."""
    delta = (published.weekday() - weekday) % 7 or 7
    return published - timedelta(days=delta)


# --- places ------------------------------------------------------------------

_PLACE_HEADS_TEXT = """
    hall centre center chamber room school station building church hospital street road
    lane bridge park square house office exchange hotel stadium club library factory
    site plant airport port harbour harbor village town city county ward field arena
    theatre theater museum gallery embassy palace castle camp prison barracks base
    pharmacy shop store market
"""
_PLACE_HEADS = frozenset(_PLACE_HEADS_TEXT.split())
# Possessive quantifiers (*+, ++): "\s*" followed by "\s+" backtracked over
# every split of a run of spaces, which was quadratic in the run (55 s for a
# sentence with 98,000 spaces after "at", fuzz/run.py seed 2, input 90552);
# no match needs to give back a space or a letter here.
_PLACE = re.compile(
    r"\b(?P<prep>in|at|inside|outside)\s++"
    r"(?P<phrase>(?:the\s++)?(?:[\w’'-]++\s++){0,5}?[\w’'-]++)"
    r"(?=\s*+[,.;:!?)]|\s*+$|\s++(?:on|with|for|after|before|when|where|while|and|but|to|by|"
    r"from|as|since|until|during|which|who|that|because|in|at|last|this|next|yesterday|today)\b)",
    re.IGNORECASE,
)


_WORD_RUN = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Place:
    """A where-phrase and its span in the sentence (the preposition excluded)."""

    text: str
    start: int
    end: int


def extract_places(sentence: str) -> list[Place]:
    """Where-phrases ("in the sports hall", "at Alderwick Town Hall"), as written.

    A phrase counts as a place only when it ends in a proper name or a place
    noun, which keeps "in court", "in a hurry" and "in 2021" out; words after
    the last such word ("at its factory found that") are cut off.
    """
    out: list[Place] = []
    for m in _PLACE.finditer(sentence):
        words = list(_WORD_RUN.finditer(m.group("phrase")))
        keep = 0
        for k, word in enumerate(words):
            bare = word.group().strip("’'")
            if bare.lower() in _MONTHS or re.fullmatch(r"\d+", bare):
                break
            if (bare[:1].isupper() and bare.lower() != "the") or _singular(bare) in _PLACE_HEADS:
                keep = k + 1
        if not keep:
            continue
        text = " ".join(w.group() for w in words[:keep])
        start = m.start("phrase")
        # The span covers the words as written, however they are spaced.
        out.append(Place(text, start, start + words[keep - 1].end()))
    return out


def place_tokens(phrase: str) -> set[str]:
    """The words that tell one place from another: folded, stemmed, no generic nouns.

    "hall" or "school" alone says nothing about which hall, so place nouns
    are dropped; a phrase left empty ("the school") can match any place.
    """
    words = re.findall(r"[^\W\d_]+", fold(phrase).replace("’", "'"))
    return {
        stem(w)
        for w in words
        if w not in {"the", "of", "s", "main", "a", "an", "its", "their", "his", "her"}
        and _singular(w) not in _PLACE_HEADS
    }


# --- quotes ------------------------------------------------------------------

_QUOTE = re.compile(r"[“\"]([^“”\"]{3,}?)[”\"]")


@dataclass(frozen=True, slots=True)
class Quote:
    text: str
    start: int
    end: int


def extract_quotes(sentence: str) -> list[Quote]:
    """Directly quoted words in a sentence (curly or straight double quotes)."""
    return [Quote(m.group(1), m.start(1), m.end(1)) for m in _QUOTE.finditer(sentence)]


# --- negation, occasions, anchors ---------------------------------------------

_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nobody|nothing|neither|nor|without|cannot)\b|n[’']t\b",
    re.IGNORECASE,
)


def negation_count(sentence: str) -> int:
    return len(_NEGATION.findall(sentence))


def negation_targets(sentence: str) -> set[str]:
    """The first content word after each negation cue: what is being denied.

    "There's not much suspense" denies suspense; a report without the word
    "suspense" has not left out that negation, it says something else.
    """
    out = set()
    for m in _NEGATION.finditer(sentence):
        following = tokenize(sentence[m.end() : m.end() + 60])
        if following:
            out.add(following[0])
    return out


# Words that place a fact at one stage of a story: a first count and a
# recount, an earlier and a revised figure are different occasions.
_PHASES = re.compile(
    r"\b(first|initial|original|earlier|previous|preliminary|provisional|second|third|final|"
    r"revised|updated|latest|another|separate|re(?:count|vote|run|match|opened|scheduled)\w*)\b"
    r"(?!\s+(?:day|week|month|year)s?\b)",
    re.IGNORECASE,
)


def phase_words(sentence: str) -> frozenset[str]:
    out = set()
    for m in _PHASES.finditer(sentence):
        word = m.group(1).lower()
        out.add("re" if word.startswith("re") and word not in {"revised"} else word)
    return frozenset(out)


_TIME_WORDS_TEXT = (
    "morning afternoon evening night week month year today yesterday tomorrow hour minute"
)
_TIME_WORDS = frozenset(_WEEKDAYS) | frozenset(_TIME_WORDS_TEXT.split())


def anchor_words(sentence: str, start: int, end: int, window: int = 5) -> set[str]:
    """Stemmed content words around a span: what a number or date is about."""
    left = tokenize(sentence[:start])[-window:]
    right = tokenize(sentence[end:])[:window]
    inside = tokenize(sentence[start:end])
    return {w for w in left + right + inside if w not in _TIME_WORDS and not w.isdigit()}


def fold(text: str) -> str:
    """Lower-case text without diacritics, with one kind of apostrophe and quote."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"').casefold()
