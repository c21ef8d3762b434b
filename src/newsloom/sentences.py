"""Sentence splitting with character spans into ``Article.text``.

Provenance, cross-checks and summaries all quote sentences back to the reader,
so a sentence here is exactly a slice of the clean article text: nothing is
normalised, and ``text[start:end] == sentence.text`` always holds.

A rule-based splitter is used on purpose: it is fast, needs no model download
and news prose is regular enough.  A boundary is end punctuation (optionally
followed by closing quotes or brackets) then whitespace then something that can
open a sentence, unless the word before the dot is a known abbreviation, an
initial, or part of a number or a time ("4.40pm").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# Words that end in a dot without ending the sentence.  Lower-cased, no dot.
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "rev",
        "sr",
        "jr",
        "st",
        "mt",
        "ft",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "cmdr",
        "adm",
        "gov",
        "sen",
        "rep",
        "pres",
        "supt",
        "insp",
        "det",
        "cllr",
        "hon",
        "messrs",
        "mme",
        "mlle",
        "no",
        "nos",
        "vol",
        "vols",
        "fig",
        "figs",
        "pp",
        "ed",
        "eds",
        "est",
        "approx",
        "dept",
        "univ",
        "corp",
        "inc",
        "ltd",
        "co",
        "bros",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "mon",
        "tue",
        "tues",
        "wed",
        "thu",
        "thur",
        "thurs",
        "fri",
        "sat",
        "sun",
        "vs",
        "etc",
        "al",
        "cf",
        "ie",
        "eg",
        "viz",
        "ca",
        "u.s",
        "u.k",
        "u.n",
        "e.u",
        "a.m",
        "p.m",
        "i.e",
        "e.g",
        "d.c",
    ]
)

_BOUNDARY = re.compile(
    r"""
    (?<![.!?…])                   # a run is tried once, from its start: a try from
                                  # inside it ends where the first did, and trying
                                  # every position made "!!!…" quadratic
    (?P<end>[.!?…]+)              # the terminal punctuation
    (?P<close>["”’')\]]*)         # closing quotes or brackets stay with the sentence
    (?P<space>\s+)
    (?=["“‘'(\[]?[A-Z0-9À-ÖØ-Þ])  # the next sentence opens with a capital or digit
    """,
    re.VERBOSE,
)
_WORD_BEFORE = re.compile(r"([\w.]+)$")
# How far back the word before a dot is looked for.  Longer than any
# abbreviation, so a longer word is still seen to be none; unbounded, the
# backwards search was quadratic in a long run of word characters.
_WORD_WINDOW = 64
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n|\n")


@dataclass(slots=True, frozen=True)
class Sentence:
    """One sentence: its text and where it sits in the article text."""

    text: str
    start: int
    end: int
    paragraph: int


def _is_abbreviation(text: str, dot_at: int) -> bool:
    """Whether the dot at ``dot_at`` closes an abbreviation or an initial."""
    match = _WORD_BEFORE.search(text, max(0, dot_at - _WORD_WINDOW), dot_at)
    if not match:
        return False
    word = match.group(1).rstrip(".").lower()
    if not word:
        return False
    if word in _ABBREVIATIONS:
        return True
    # A single capital letter is an initial ("J. Smith"); "I." is rare in news.
    token = match.group(1).rstrip(".")
    return len(token) == 1 and token.isupper()


def _split_paragraph(text: str, offset: int, paragraph: int) -> Iterator[Sentence]:
    start = 0
    for match in _BOUNDARY.finditer(text):
        end_punct = match.group("end")
        if end_punct == "." and not match.group("close") and _is_abbreviation(text, match.start()):
            continue
        stop = match.end("close")
        piece = text[start:stop]
        if piece.strip():
            yield Sentence(piece, offset + start, offset + stop, paragraph)
        start = match.end("space")
    piece = text[start:].rstrip()
    if piece.strip():
        yield Sentence(piece, offset + start, offset + start + len(piece), paragraph)


def split_sentences(text: str) -> list[Sentence]:
    """Split article text (paragraphs joined by blank lines) into sentences.

    A sentence never crosses a line break: headings, list items and
    paragraphs each end one.
    """
    sentences: list[Sentence] = []
    position = 0
    paragraph = 0
    for match in [*_PARAGRAPH_BREAK.finditer(text), None]:
        stop = match.start() if match else len(text)
        block = text[position:stop]
        lead = len(block) - len(block.lstrip())
        if block.strip():
            sentences.extend(_split_paragraph(block[lead:], position + lead, paragraph))
            paragraph += 1
        if match is None:
            break
        position = match.end()
    return sentences


def sentence_at(sentences: list[Sentence], offset: int) -> Sentence | None:
    """The sentence that contains character ``offset``, if any."""
    for sentence in sentences:
        if sentence.start <= offset < sentence.end:
            return sentence
    return None
