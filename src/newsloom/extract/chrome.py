"""Recognise lines of site furniture ("chrome") in page text.

These classifiers look at one short line at a time; ``text.py`` decides from
where a line sits (header, footer, middle) whether to drop it.
"""

from __future__ import annotations

import re

__all__ = [
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

# Headings of sidebar and footer blocks on news sites.  Matched on the whole
# line, case-insensitive, so a sentence that merely contains the words stays.
_FOOTER_HEADINGS = re.compile(
    r"^(?:latest posts?|latest news|latest stories|latest articles|don['’]t miss|"
    r"stay in touch|stay connected|most (?:read|popular|viewed)|popular posts?|trending(?: now)?|"
    r"related(?: posts| articles| stories| news)?|you may also like|recommended(?: for you)?|"
    r"read more|more stories|more news|share this(?: article)?|share|follow us|tags?|"
    r"comments?|leave a (?:reply|comment)|advertisement|sponsored(?: content)?|"
    r"about the author|editor['’]s picks?|top stories|must read|in case you missed it)\s*:?$",
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


def is_inline_chrome(line: str) -> bool:
    """Advertisement markers, "Read more:" teasers, share and tag lines."""
    text = line.strip()
    return len(text.split()) <= 40 and bool(_INLINE.match(text))


def is_breadcrumb(line: str) -> bool:
    """``Home › Health › Local news``: short segments joined by separators."""
    text = line.strip()
    parts = _BREADCRUMB.split(text)
    return len(parts) >= 3 and all(0 < len(p.split()) <= 4 for p in parts)


def is_weather(line: str) -> bool:
    """A temperature reading such as ``2.1 C``, ``-3 °C`` or ``72°F Sunny``."""
    return bool(_WEATHER.match(line.strip()))


def parse_stated_minutes(line: str) -> int | None:
    """Minutes from a line like ``6 mins read`` or ``Reading time: 4 min``."""
    text = line.strip()
    match = _READ_TIME.match(text) or _READ_TIME_ALT.match(text)
    return int(match.group(1)) if match else None


def parse_stated_views(line: str) -> int | None:
    """Views from a line like ``27 views``, ``1,204 views`` or ``3.4K views``."""
    match = _VIEWS.match(line.strip())
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
    return bool(_FOOTER_HEADINGS.match(line.strip()))


def is_subscribe_line(line: str) -> bool:
    """Calls to subscribe, cookie notices, copyright lines: short and promotional."""
    text = line.strip()
    return len(text.split()) <= 25 and bool(_SUBSCRIBE.search(text))
