"""Read a date from a short line of page text ("Saturday, January 11, 2025").

Only whole lines that are mostly a date are read: a date inside a sentence is
an event date, not the page's.  Month-name and ISO layouts in English are
parsed; anything else is left to the HTML metadata and htmldate.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = ["parse_date_line"]

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+)?"
_PREFIX = r"(?:(?:published|posted|updated|last updated|on)\s*:?\s*)?"
_TIME = r"(?:(?:,|\s+at|\s*-|\s*\|)?\s+\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s+[A-Z]{2,4})?)?"
_PATTERNS = (
    re.compile(
        rf"^{_PREFIX}{_WEEKDAY}{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}}){_TIME}$",
        re.I,
    ),
    re.compile(
        rf"^{_PREFIX}{_WEEKDAY}(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\.?\s+(?:of\s+)?{_MONTH},?\s+(?P<year>\d{{4}}){_TIME}$",
        re.I,
    ),
    re.compile(
        rf"^{_PREFIX}(?P<year>\d{{4}})-(?P<month>\d{{2}})-(?P<day>\d{{2}})(?:[T\s]\d{{2}}:\d{{2}}(?::\d{{2}})?(?:Z|[+-]\d{{2}}:?\d{{2}})?)?$",
        re.I,
    ),
)


def parse_date_line(line: str) -> datetime | None:
    """The date a short line states, as midnight UTC of that day, or None."""
    text = " ".join(line.split())
    if not 6 <= len(text) <= 60:
        return None
    for pattern in _PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        month_text = match.group("month").lower().rstrip(".")
        month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text)
        try:
            return datetime(
                int(match.group("year")), month or 0, int(match.group("day")), tzinfo=UTC
            )
        except ValueError:
            return None
    return None
