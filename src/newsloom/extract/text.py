"""Text-mode extraction: saved page dumps with no markup.

Such dumps keep the page's furniture as plain lines: a header with the
weather and today's date, read-time and view counters, the headline repeated,
an author box, and footer blocks ("Latest Posts", "Stay in touch").  The page
is read in three zones: header (before the headline), body, footer (from the
first footer block to the end).  Everything set aside is kept in
``Draft.chrome`` and counted in ``Draft.repairs``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from newsloom.errors import ExtractionError
from newsloom.extract import chrome
from newsloom.extract.citations import parse_read_more, parse_reference, parse_summary_by
from newsloom.extract.dates import parse_date_line
from newsloom.extract.draft import Draft
from newsloom.types import Citation, Repair

__all__ = ["extract_text", "normalise_line"]

_BULLET = re.compile(r"^\s*(?:[•·▪●◦‣∙*]|-(?=\s))\s+")
_BYLINE = re.compile(
    r"^by\s+(?P<names>[A-Z][\w.'’\-]*(?:[\s,]+(?:and\s+)?[A-Z][\w.'’\-]*){0,7})$", re.I
)
_PERSON_NAME = re.compile(
    r"^[A-Z][\w'’\-]+(?:\s+(?:[A-Z]\.|[A-Z][\w'’\-]+|van|de|da|von|bin|al)){1,3}$"
)
_BIO_WORDS = re.compile(
    r"\b(?:journalist|reporter|writer|editor|author|correspondent|contributor|columnist|"
    r"freelance|covers|covering|has written|writes about|reporting on|years of experience)\b",
    re.I,
)
_TERMINAL = (".", "!", "?", ":", ";", "”", '"', "’", ")")
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-"})


def normalise_line(line: str) -> str:
    """A comparison key for lines: case, quotes, dashes and spacing ignored."""
    text = unicodedata.normalize("NFKC", line).translate(_QUOTES).casefold()
    return " ".join(text.split())


@dataclass(slots=True)
class _Header:
    stated_minutes: int | None = None
    stated_views: int | None = None
    dates: list[datetime] = field(default_factory=list)
    # Dates under the headline, beside the byline: publication dates even
    # when the page header also shows today's date and the weather.
    byline_dates: list[datetime] = field(default_factory=list)
    below_title: bool = False
    weather: bool = False
    authors: list[str] = field(default_factory=list)
    chrome: list[str] = field(default_factory=list)

    def take(self, line: str) -> bool:
        """Consume ``line`` if it is header furniture."""
        text = line.strip()
        minutes = chrome.parse_stated_minutes(text)
        if minutes is not None:
            self.stated_minutes = self.stated_minutes or minutes
        elif (views := chrome.parse_stated_views(text)) is not None:
            self.stated_views = self.stated_views if self.stated_views is not None else views
        elif chrome.is_weather(text):
            self.weather = True
        elif (when := parse_date_line(text)) is not None:
            (self.byline_dates if self.below_title else self.dates).append(when)
        elif match := _BYLINE.match(text):
            self.authors.extend(_split_names(match.group("names")))
        elif chrome.is_breadcrumb(text) or chrome.is_inline_chrome(text):
            pass
        else:
            return False
        self.chrome.append(text)
        return True


def _split_names(text: str) -> list[str]:
    return [n.strip() for n in re.split(r",\s*|\s+and\s+|\s*&\s*", text) if n.strip()]


def _is_location(line: str) -> bool:
    """A dateline place beside the weather ("New York"): a few capitalised words."""
    words = line.split()
    return (
        1 <= len(words) <= 4
        and all(w[:1].isupper() for w in words)
        and not any(ch.isdigit() for ch in line)
    )


def _looks_like_title(line: str) -> bool:
    words = line.split()
    if not 2 <= len(words) <= 30 or len(line) > 300:
        return False
    return not line.rstrip().endswith(".") or len(words) <= 12


def _blocks(lines: list[str]) -> list[list[str]]:
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line.strip():
            current.append(line.strip())
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _paragraphs_of(block: list[str]) -> list[str]:
    """Lines of a block are paragraphs, unless the block is hard-wrapped prose."""
    if len(block) >= 3:
        inner = block[:-1]
        wrapped = sum(
            1 for line in inner if not line.endswith(_TERMINAL) and 40 <= len(line) <= 100
        )
        if wrapped >= 0.7 * len(inner):
            return [" ".join(block)]
    return list(block)


def _is_bio(paragraph: str, names: list[str]) -> bool:
    if not _BIO_WORDS.search(paragraph):
        return False
    first = paragraph.split()[0] if paragraph.split() else ""
    given = {n.split()[0] for n in names}
    return first in given or first in {"He", "She", "They"}


def _author_box(lines: list[str], i: int) -> tuple[list[str], int] | None:
    """Names above a biography at ``lines[i]``: (names, index where the box starts)."""
    # Collected nearest-first and reversed once: inserting at the front and a
    # list membership test made a page of many name-like lines quadratic.
    names: list[str] = []
    seen: set[str] = set()
    j = i - 1
    while j >= 0 and (not lines[j].strip() or _PERSON_NAME.match(lines[j].strip())):
        name = lines[j].strip()
        if name and name not in seen:
            seen.add(name)
            names.append(name)
        j -= 1
    names.reverse()
    if names and j >= 0 and _is_bio(lines[i].strip(), names):
        return names, j + 1
    return None


def _split_footer(lines: list[str]) -> tuple[list[str], list[str], list[str], list[Citation]]:
    """Cut the footer zone off the end: (body, footer chrome, authors, references)."""
    cut = len(lines)
    authors: list[str] = []
    # Both filled last line first and reversed at the end: inserting at the
    # front made a long footer quadratic.
    references: list[Citation] = []
    chrome_lines: list[str] = []
    in_footer = False
    i = cut - 1
    while i >= 0:
        line = lines[i].strip()
        if not line:
            i -= 1
            continue
        if chrome.is_footer_heading(line) or chrome.is_subscribe_line(line):
            in_footer = True
            chrome_lines.append(line)
        elif in_footer and len(line.split()) <= 12 and not line.endswith(_TERMINAL):
            chrome_lines.append(line)  # a link title listed under a footer heading
        elif (reference := parse_reference(line)) is not None:
            references.append(reference)
        elif chrome.is_inline_chrome(line):
            chrome_lines.append(line)
        elif box := _author_box(lines, i):
            authors, start = box
            chrome_lines.extend(reversed([*authors, line]))
            cut = start
            i = start - 1
            continue
        else:
            break
        cut = i
        i -= 1
    chrome_lines.reverse()
    references.reverse()
    return lines[:cut], chrome_lines, authors, references


def extract_text(text: str, *, title: str | None = None) -> Draft:
    """Extract an article from a text-mode page.

    ``title`` is the headline when the source states it (JSONL, feeds): the
    text then is not searched for one, only cleaned of repeats of it.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not any(line.strip() for line in lines):
        raise ExtractionError("page has no text")

    header = _Header()
    index = 0
    # Header zone: furniture lines before the headline.
    while index < len(lines):
        line = lines[index].strip()
        if not line or header.take(line):
            index += 1
            continue
        neighbours = (
            lines[index - 1] if index else "",
            lines[index + 1] if index + 1 < len(lines) else "",
        )
        near_chrome = any(
            chrome.is_weather(n.strip()) or parse_date_line(n.strip()) for n in neighbours
        )
        if _is_location(line) and near_chrome and header.weather:
            header.chrome.append(line)
            index += 1
            continue
        break

    if title is None and index < len(lines) and _looks_like_title(lines[index].strip()):
        title = lines[index].strip()
        index += 1
        header.below_title = True
        # Bylines, dates and share buttons often follow the headline directly;
        # a bare name there is the author.
        while index < len(lines):
            line = lines[index].strip()
            if line and not header.take(line):
                if not _PERSON_NAME.match(line) or header.authors:
                    break
                header.authors.append(line)
                header.chrome.append(line)
            index += 1

    body_lines, footer_chrome, bio_authors, references = _split_footer(lines[index:])

    repairs: list[Repair] = []
    citations: list[Citation] = []
    paragraphs: list[str] = []
    removed: list[str] = []
    title_key = normalise_line(title) if title else None
    duplicates = 0
    for block in _blocks(body_lines):
        for paragraph in _paragraphs_of(block):
            paragraph = _BULLET.sub("", paragraph)
            if title_key and normalise_line(paragraph) == title_key:
                duplicates += 1
                continue
            if (cited := parse_summary_by(paragraph)) is not None:
                citations.append(cited)
                removed.append(paragraph)
                continue
            if chrome.is_inline_chrome(paragraph):
                removed.append(paragraph)
                if (teaser := parse_read_more(paragraph)) is not None:
                    citations.append(teaser)
                continue
            if header.take(paragraph):
                continue
            paragraphs.append(paragraph)

    if not paragraphs:
        raise ExtractionError("no article text found after removing page furniture")

    chrome_lines = header.chrome + removed + footer_chrome
    if duplicates:
        repairs.append(
            Repair("duplicate_title", "repeated headline removed from the text", duplicates)
        )
    if chrome_lines:
        repairs.append(chrome.furniture_repair(chrome_lines))
    if references:
        repairs.append(Repair("reference", "reference lines moved to citations", len(references)))

    published = None
    date_source = None
    if header.byline_dates:
        published, date_source = header.byline_dates[0], "text:byline"
    elif header.dates and not header.weather:
        published, date_source = header.dates[0], "text:header"
    if header.dates and header.weather:
        # A date beside the weather is the day the page was viewed, not published.
        repairs.append(
            Repair(
                "page_date", f"ignored page date {header.dates[0].date()} shown with the weather"
            )
        )

    return Draft(
        paragraphs=paragraphs,
        title=title,
        authors=header.authors or bio_authors,
        published=published,
        date_source=date_source,
        chrome=chrome_lines,
        repairs=repairs,
        citations=citations + references,
        stated_read_minutes=header.stated_minutes,
        stated_views=header.stated_views,
    )
