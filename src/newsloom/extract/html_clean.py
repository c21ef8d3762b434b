"""Drop page furniture that trafilatura leaves in the main text.

Works on the extracted blocks only, so it costs next to nothing.  Each rule
was kept because it raised F1 on both extraction evaluation sets (Zyte's
benchmark and trafilatura's own, see docs/quality.md):

- the headline repeated at the top of the text (it belongs in ``title``);
- paragraphs and list items that are almost entirely link text (teasers for
  other articles), except headings and bare URLs, which are content often
  enough;
- promotional lines: "Read more: …", "Lea también: …", "Follow us on
  Twitter", "Like this story? Share it with a friend!";
- an aggregator's credit line ("Summary by Global Headlines"): the source it
  names becomes a citation, the line is not article text;
- section headings that open a block of furniture ("Don't miss", "Related
  articles", "Tags", "Kommentare", "Notas relacionadas", …) together with the
  short or link-heavy lines under them, up to the next real paragraph.

The standfirst (``og:description`` repeated as the first paragraph) is kept:
one evaluation set counts it as article text, the other does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from newsloom.extract import chrome
from newsloom.extract.citations import parse_summary_by
from newsloom.types import Repair

__all__ = ["Block", "clean_blocks", "title_keys"]


@dataclass(slots=True)
class Block:
    """One line of extracted text: ``kind`` is ``p``, ``head``, ``item``, ``cell`` or ``quote``."""

    text: str
    kind: str = "p"
    link_density: float = 0.0


_WORDS = re.compile(r"\w+")
# Title separators need spaces around them, so "Garrett: He asked" stays whole.
_TITLE_PARTS = re.compile(r"\s+[|\-–—:·»/]+\s+")
_URL_LINE = re.compile(r"^(?:https?://|www\.)\S+$", re.I)
# A paragraph this long with little link text is article prose; it ends a furniture block.
_PROSE_CHARS = 80
_LINK_HEAVY = 0.9


def _key(text: str | None) -> str:
    return " ".join(_WORDS.findall(text or "")).casefold()


def title_keys(candidates: Iterable[str | None]) -> set[str]:
    """Comparable forms of the headline: whole, and its parts around " | ", " - ", " – "."""
    keys: set[str] = set()
    for title in candidates:
        if not title:
            continue
        # One space between words: the separator pattern allows spaces on both
        # sides, which backtracks quadratically over a long run of spaces.
        title = " ".join(title.split())
        keys.add(_key(title))
        for part in _TITLE_PARTS.split(title):
            if len(part.split()) >= 3:
                keys.add(_key(part))
    keys.discard("")
    return keys


def _is_prose(block: Block) -> bool:
    return block.kind == "p" and len(block.text) >= _PROSE_CHARS and block.link_density < 0.5


def _is_teaser(block: Block) -> bool:
    return (
        block.link_density >= _LINK_HEAVY
        and block.kind != "head"
        and not _URL_LINE.match(block.text)
    )


def _is_promo(block: Block) -> bool:
    return len(block.text.split()) <= 30 and chrome.is_inline_chrome(block.text)


def clean_blocks(
    blocks: Sequence[Block], *, titles: Iterable[str | None] = ()
) -> tuple[list[bool], list[str], list[Repair]]:
    """(one keep flag per block, the furniture lines removed, the repairs that records).

    The removed headline is reported as a repair but is not furniture.
    """
    keep = [True] * len(blocks)
    repairs: list[Repair] = []

    keys = title_keys(titles)
    headline = None
    for index, block in enumerate(blocks[:3]):
        if keys and _key(block.text) in keys:
            keep[index] = False
            headline = index
            repairs.append(Repair("duplicate_title", "repeated headline removed from the text"))
            break

    index = 0
    while index < len(blocks):
        block = blocks[index]
        if not keep[index]:
            index += 1
            continue
        if chrome.is_footer_heading(block.text):
            keep[index] = False
            index += 1
            while index < len(blocks) and not _is_prose(blocks[index]):
                keep[index] = False
                index += 1
            continue
        if _is_teaser(block) or _is_promo(block) or parse_summary_by(block.text):
            keep[index] = False
        index += 1

    removed = [b.text for i, b in enumerate(blocks) if not keep[i] and i != headline]
    if removed:
        repairs.append(chrome.furniture_repair(removed))
    return keep, removed, repairs
