"""Recognise lines of site furniture ("chrome") in page text.

These classifiers look at one short line at a time; ``text.py`` decides from
where a line sits (header, footer, middle) whether to drop it.
"""

from __future__ import annotations

import re

from newsloom.types import Repair

__all__ = [
    "furniture_repair",
    "is_breadcrumb",
    "is_footer_heading",
    "is_inline_chrome",
    "is_subscribe_line",
    "is_weather",
    "parse_stated_minutes",
    "parse_stated_views",
]

_WEATHER = re.compile(
    r"^-?\d{1,3}(?:[.,]\d)?\s*°?\s*[CF]\b\.?(?:\s+\w+)?$|^-?\d{1,3}(?:[.,]\d)?\s*°$"
)
_READ_TIME = re.compile(
    r"^(\d{1,3})\s*(?:-\s*)?(?:mins?|minutes?)\.?\s+read(?:ing)?(?:\s+time)?$", re.I
)
_READ_TIME_ALT = re.compile(
    r"^(?:reading time|read time)\s*:?\s*(\d{1,3})\s*(?:mins?|minutes?)\.?$", re.I
)
_VIEWS = re.compile(
    r"^([\d][\d,.\s]*)\s*([kKmM])?\s+views?$|^views?\s*:?\s*([\d][\d,.]*)\s*([kKmM])?$", re.I
)

# Headings of sidebar and footer blocks on news sites, in the languages of the
# evaluation sets.  Matched on the whole line, so a sentence that merely
# contains the words stays.
_SECTION_HEADINGS = re.compile(
    r"^(?:"
    # English
    r"don['’]t miss|you (?:may|might) (?:also )?like|related(?: articles?| posts?| stories| news"
    r"| content| coverage)?|read (?:more|next|also)|more (?:stories|news|from [\w .'’-]{1,30})"
    r"|recommended(?: for you| stories| articles)?|popular(?: on [\w .'’-]{1,30})?"
    r"|most (?:popular|read|viewed|shared)|trending(?: now| stories)?|top stories|explore further"
    r"|tags?|topics|comments?|share(?: this(?: article| story)?)?|follow us|advertisement"
    r"|sponsored(?: content| stories)?|latest (?:news|posts|stories|articles)|editor['’]?s picks?"
    r"|also read|see also|more|in case you missed it|must read|stay in touch|stay connected"
    r"|leave a (?:reply|comment)|about the author|latest|read next|recommended"
    # German
    r"|mehr (?:zum thema|themen|dazu|artikel)|das könnte sie auch interessieren|auch interessant"
    r"|weitere (?:artikel|beiträge|nachrichten|themen)|ähnliche (?:artikel|beiträge)"
    r"|empfohlene (?:beiträge|artikel)|beliebte (?:beiträge|artikel)|meistgelesen|themen"
    r"|schlagwörter|kommentare|teilen(?: mit)?|anzeige|lesen sie auch|schon gelesen|auch lesen"
    r"|weiterlesen"
    # Spanish, French, Italian, Portuguese
    r"|notas relacionadas|noticias relacionadas|art[ií]culos relacionados|temas|etiquetas"
    r"|comentarios|lea también|lee también|te puede interesar|más noticias|compartir|publicidad"
    r"|à lire aussi|lire aussi|sur le même sujet|voir aussi|commentaires|partager|publicité"
    r"|leggi anche|potrebbe interessarti|commenti|condividi|leia também|veja também|comentários"
    r"|compartilhe|notícias relacionadas"
    r")\s*[:.!?…]*$",
    re.I,
)
_PROMO_LINE = re.compile(
    r"^(?:read (?:more|also|next)|see (?:more|also)|also (?:on|read) [\w.]+"
    r"|related(?: post| article| story)?|more on this|lea (?:también|más)|lee también|mira|mire"
    r"|ver también|leia (?:também|mais)|veja (?:também|mais)|auch lesen|lesen sie auch|mehr dazu"
    r"|mehr zum thema|lire aussi|à lire aussi|voir aussi|leggi anche|schon gelesen)\b\s*[:?]",
    re.I,
)
_SOCIAL_LINE = re.compile(
    r"^(?:follow|like|share|subscribe|sign up|join|listen|download|get)\b.{0,160}\b"
    r"(?:facebook|twitter|instagram|youtube|newsletter|inbox|podcast|friend|whatsapp|linkedin"
    r"|tiktok)\b",
    re.I,
)


_SUBSCRIBE = re.compile(
    r"\b(?:subscribe|newsletter|sign up|signup|inbox|latest news,? offers|special announcements|"
    r"all rights reserved|cookie|privacy policy|terms of (?:use|service))\b",
    re.I,
)


# Lines inside the article body that belong to the page, not the story.
_INLINE = re.compile(
    r"^(?:advertisement|advert|sponsored|ad|story continues below(?: advertisement)?|"
    r"scroll to continue|continue reading|\d+\s+comments?|no comments(?: yet)?)\.?$|"
    r"^(?:read more|read also|also read|see also|related|more|share(?: this)?|tags?|topics?|"
    r"filed under|follow us(?: on)?|listen to this article)\s*:",
    re.I,
)
_BREADCRUMB = re.compile(r"\s(?:›|»|>|/|\|)\s")
# Weather, read-time and view-count lines are a few words long.  Longer lines
# are not read at all: their patterns put optional spaces side by side
# ("1  …  views"), which backtracks quadratically over a long run of spaces,
# and a view count of thousands of digits would not even convert to an int.
_SHORT_LINE = 60


def is_inline_chrome(line: str) -> bool:
    """Advertisement markers, "Read more:" teasers, share, follow and tag lines."""
    text = line.strip()
    if len(text.split()) > 40:
        return False
    return bool(_INLINE.match(text) or _PROMO_LINE.match(text) or _SOCIAL_LINE.match(text))


def furniture_repair(lines: list[str]) -> Repair:
    """The repair record listing the furniture lines taken out of a page."""
    return Repair("chrome", "site furniture removed: " + " | ".join(lines)[:300], len(lines))


def is_breadcrumb(line: str) -> bool:
    """``Home › Health › Local news``: short segments joined by separators."""
    text = line.strip()
    parts = _BREADCRUMB.split(text)
    return len(parts) >= 3 and all(0 < len(p.split()) <= 4 for p in parts)


def is_weather(line: str) -> bool:
    """A temperature reading such as ``2.1 C``, ``-3 °C`` or ``72°F Sunny``."""
    text = line.strip()
    return len(text) <= _SHORT_LINE and bool(_WEATHER.match(text))


def parse_stated_minutes(line: str) -> int | None:
    """Minutes from a line like ``6 mins read`` or ``Reading time: 4 min``."""
    text = line.strip()
    if len(text) > _SHORT_LINE:
        return None
    match = _READ_TIME.match(text) or _READ_TIME_ALT.match(text)
    return int(match.group(1)) if match else None


def parse_stated_views(line: str) -> int | None:
    """Views from a line like ``27 views``, ``1,204 views`` or ``3.4K views``."""
    text = line.strip()
    if len(text) > _SHORT_LINE:
        return None
    match = _VIEWS.match(text)
    if not match:
        return None
    number = (match.group(1) or match.group(3) or "").replace(" ", "")
    suffix = (match.group(2) or match.group(4) or "").lower()
    if suffix:
        try:
            value = float(number.replace(",", "."))
        except ValueError:
            return None
        return int(value * (1000 if suffix == "k" else 1_000_000))
    digits = number.replace(",", "").replace(".", "")
    return int(digits) if digits.isdigit() else None


def is_footer_heading(line: str) -> bool:
    text = line.strip()
    return len(text.split()) <= 6 and bool(_SECTION_HEADINGS.match(text))


def is_subscribe_line(line: str) -> bool:
    """Calls to subscribe, cookie notices, copyright lines: short and promotional."""
    text = line.strip()
    return len(text.split()) <= 25 and bool(_SUBSCRIBE.search(text))
