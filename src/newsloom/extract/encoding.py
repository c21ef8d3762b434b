"""Turn page bytes into correct text: charset detection and mojibake repair.

Two kinds of damage are handled:

* bytes in a legacy charset: detected with the declared charset, then
  charset-normalizer;
* mojibake, UTF-8 that was once decoded with the wrong code page and saved
  again.  ftfy undoes the Latin-1/Windows-125x kinds.  It cannot undo UTF-8
  read as Windows-874 (Thai), nor sequences whose last byte was dropped because
  the wrong code page had no character for it (0x81, 0x8D, 0x8F, 0x90, 0x9D are
  undefined in Windows-1252), which is how a closing quote ``”`` (E2 80 9D)
  ends up as two characters.  ``_repair_code_page`` handles both.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import charset_normalizer
import ftfy

from newsloom.types import Repair

__all__ = ["decode", "repair_mojibake"]

# Bytes no Windows code page of interest maps to a character: a decoder that
# met them dropped them, so a repair may have to put one back.
_LOST_BYTES = (0x9D, 0x90, 0x81, 0x8D, 0x8F)
# Which lost byte to prefer when it completes a letter: Ł (C5 81) and Ő (C5 90)
# are far more common in news text than the other candidates.
_LETTER_ORDER = (0x81, 0x90, 0x9D, 0x8D, 0x8F)

# Code pages repaired here rather than by ftfy, with the share of their
# script's characters that must sit inside repairable runs before the text is
# treated as mojibake rather than genuine text in that script.
_CODE_PAGES = (("cp874", "Thai", 0.8), ("cp1252", "Latin", 0.5))

_FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False,
    remove_terminal_escapes=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    remove_control_chars=False,
    normalization=None,
)


@dataclass(slots=True, frozen=True)
class _Table:
    """Character → byte for one code page, with Windows-1252 filling 0x80–0x9F."""

    name: str
    to_byte: dict[str, int]
    # A lead character followed by a continuation character: pages without
    # one cannot hold this mojibake, and the regex rules them out at C speed.
    suspect: re.Pattern[str]

    def script_char(self, char: str, script: str) -> bool:
        if script == "Thai":
            return "\u0e00" <= char <= "\u0e7f"
        return "\u00a0" <= char <= "\u00ff" and char not in "\u00a0\u00ad"


@cache
def _table(code_page: str) -> _Table:
    to_byte: dict[str, int] = {}
    for byte in range(0x80, 0x100):
        raw = bytes([byte])
        for candidate in (code_page, "cp1252"):
            try:
                char = raw.decode(candidate)
            except UnicodeDecodeError:
                continue
            to_byte.setdefault(char, byte)
            break
    leads = "".join(re.escape(c) for c, b in to_byte.items() if 0xC2 <= b <= 0xF4)
    follows = "".join(re.escape(c) for c, b in to_byte.items() if 0x80 <= b <= 0xBF)
    return _Table(code_page, to_byte, re.compile(f"[{leads}][{follows}]"))


# The single-byte code pages ftfy knows how to undo.
_FTFY_CODE_PAGES = ("latin-1", "cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1257",
                    "iso-8859-2", "mac-roman", "cp437")  # fmt: skip


@cache
def _ftfy_suspect() -> re.Pattern[str]:
    """A UTF-8 lead byte's character followed by a continuation byte's, in any of
    ftfy's code pages: text without such a pair has no mojibake ftfy can fix."""
    leads: set[str] = set()
    follows: set[str] = set()
    for code_page in _FTFY_CODE_PAGES:
        for byte in range(0x80, 0x100):
            char = bytes([byte]).decode(code_page, errors="ignore")
            if not char:
                continue
            if byte <= 0xBF:
                follows.add(char)
            elif byte <= 0xF4:
                leads.add(char)
        # Browsers map the bytes cp1252 leaves undefined to C1 controls.
    follows.update(chr(b) for b in range(0x80, 0xA0))

    def klass(chars: set[str]) -> str:
        return "".join(re.escape(c) for c in sorted(chars))

    return re.compile(f"[{klass(leads)}][{klass(follows)}]")


def _sequence_length(lead: int) -> int:
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0


def _fill_lost_byte(raw: bytes, before: str, after: str) -> str | None:
    """Guess the single byte a decoder dropped from a truncated UTF-8 sequence.

    Three-byte sequences are restored only to punctuation, which is what such
    losses hit in news text (``”`` and ``‐``): a dash between two word
    characters, a quote elsewhere.  Two-byte sequences are letters; inside a
    word the likeliest by frequency in European text is taken (``Ł`` first).
    """
    inside_word = before[-1:].isalnum() and after[:1].isalnum()
    options: list[str] = []
    for lost in _LOST_BYTES:
        try:
            options.append((raw + bytes([lost])).decode("utf-8"))
        except UnicodeDecodeError:
            continue
    if len(raw) == 1:
        letters = [c for c in options if c.isalpha()]
        if not letters or not (before[-1:].isalpha() or after[:1].isalpha()):
            return None
        return min(letters, key=lambda c: _LETTER_ORDER.index(c.encode("utf-8")[-1]))
    dashes = [c for c in options if unicodedata.category(c) == "Pd"]
    quotes = [c for c in options if unicodedata.category(c) in {"Pf", "Pi"}]
    if inside_word and dashes:
        return dashes[0]
    return (quotes or dashes or [None])[0]


def _repair_code_page(
    text: str, code_page: str, script: str, share: float, *, evidence: bool = False
) -> tuple[str, int, int]:
    """Undo UTF-8-read-as-``code_page``; return (text, whole repairs, filled repairs).

    Without outside ``evidence`` of this damage, a pass is kept only if it found
    at least one whole sequence and covered ``share`` of the script's
    characters: genuine Thai or accented text forms a few valid UTF-8 byte
    sequences by chance, but never most of its characters.
    """
    table = _table(code_page)
    if not table.suspect.search(text):
        return text, 0, 0
    to_byte = table.to_byte
    out: list[str] = []
    pending: list[tuple[int, int, bytes]] = []  # (out index, run length, truncated bytes)
    covered = 0
    whole = 0
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        lead = to_byte.get(char)
        size = _sequence_length(lead) if lead is not None else 0
        if size:
            raw = bytearray([lead])
            j = i + 1
            while j < n and len(raw) < size:
                nxt = to_byte.get(text[j])
                if nxt is None or not 0x80 <= nxt <= 0xBF:
                    break
                raw.append(nxt)
                j += 1
            if len(raw) == size:
                try:
                    decoded = bytes(raw).decode("utf-8")
                except UnicodeDecodeError:
                    decoded = ""
                if decoded:
                    out.append(decoded)
                    covered += sum(table.script_char(c, script) for c in text[i:j])
                    whole += 1
                    i = j
                    continue
            elif len(raw) == size - 1:
                pending.append((len(out), j - i, bytes(raw)))
                out.append(text[i:j])
                # A lone lead character proves nothing: genuine Thai is full of them.
                if len(raw) > 1:
                    covered += sum(table.script_char(c, script) for c in text[i:j])
                i = j
                continue
        out.append(char)
        i += 1

    if not evidence:
        in_script = sum(table.script_char(c, script) for c in text)
        if whole == 0 or in_script == 0 or covered / in_script < share or len(pending) > whole:
            return text, 0, 0

    filled = 0
    for index, _length, raw in pending:
        before = "".join(out[max(0, index - 2) : index])
        after = out[index + 1] if index + 1 < len(out) else ""
        char = _fill_lost_byte(raw, before, after)
        if char is not None:
            out[index] = char
            filled += 1
    return "".join(out), whole, filled


def _note(repairs: list[Repair], code_page: str, whole: int, filled: int) -> None:
    if whole:
        repairs.append(
            Repair("mojibake", f"UTF-8 that had been decoded as {code_page} re-decoded", whole)
        )
    if filled:
        repairs.append(
            Repair(
                "mojibake", f"restored characters whose last byte was lost ({code_page})", filled
            )
        )


# Mojibake can be layered (text mis-decoded twice: "Ãƒâ€™" for "’") and a
# pass peels one layer, so passes repeat until the text stops changing:
# repairing repaired text must change nothing.  Every pass that changes the
# text shortens it or replaces a damaged run, so a handful always suffices.
_MAX_PASSES = 8


def repair_mojibake(text: str) -> tuple[str, list[Repair]]:
    """Undo mojibake; return the text and a record of each kind of repair made."""
    repairs: list[Repair] = []
    for _ in range(_MAX_PASSES):
        fixed, found = _repair_once(text)
        if fixed == text:
            break
        repairs.extend(found)
        text = fixed
    return text, repairs


def _repair_once(text: str) -> tuple[str, list[Repair]]:
    repairs: list[Repair] = []
    # Own passes first: ftfy would misread a lost byte before a space as a
    # lost no-break space and turn a closing quote into a dagger.
    for code_page, script, share in _CODE_PAGES:
        text, whole, filled = _repair_code_page(text, code_page, script, share)
        _note(repairs, code_page, whole, filled)

    # ftfy (and its own badness test) costs ~0.7 ms a page; most pages
    # cannot hold what it fixes, and a regex says so in microseconds.
    if not _ftfy_suspect().search(text):
        return text, repairs
    fixed = ftfy.fix_and_explain(text, _FTFY_CONFIG)
    steps = ", ".join(f"{a} {b}" for a, b in fixed.explanation or [])
    if fixed.text != text:
        repairs.append(Repair("mojibake", f"ftfy: {steps}"))
        text = fixed.text
        # Pages that mix clean accented text with damage fail the coverage test
        # above; once ftfy has found the damage, the leftovers are trusted to be
        # the same damage with a lost last byte.
        if "1252" in steps or "inconsistent_utf8" in steps:
            code_page, script, share = _CODE_PAGES[1]
            text, whole, filled = _repair_code_page(text, code_page, script, share, evidence=True)
            _note(repairs, code_page, whole, filled)
    return text, repairs


def _normalise_charset(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except (LookupError, ValueError):  # ValueError: a NUL in the label
        return None


def decode(body: bytes, declared: str | None = None) -> tuple[str, list[Repair]]:
    """Decode page bytes, trusting valid UTF-8 first, then the declared charset,
    then detection; the returned repairs say which was used when not UTF-8."""
    repairs: list[Repair] = []
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if body.startswith(bom):
            try:
                return body.decode("utf-8-sig" if name == "utf-8" else name), repairs
            except UnicodeDecodeError:
                break
    try:
        return body.decode("utf-8"), repairs
    except UnicodeDecodeError:
        pass

    charset = _normalise_charset(declared)
    if charset and charset not in {"utf-8", "ascii"}:
        try:
            text = body.decode(charset)
        except UnicodeDecodeError:
            pass
        else:
            repairs.append(Repair("encoding", f"decoded as declared charset {charset}"))
            return text, repairs

    # With only a few non-ASCII bytes a detector has nothing to go on (it
    # picks code pages like cp775 for one "€"); Windows-1252 is by far the
    # most common legacy charset on the web, as WHATWG's default reflects.
    if sum(b >= 0x80 for b in body[:200_000]) < 20:
        try:
            text = body.decode("cp1252")
        except UnicodeDecodeError:
            pass
        else:
            repairs.append(
                Repair("encoding", "not valid UTF-8; few non-ASCII bytes, read as cp1252")
            )
            return text, repairs

    best = charset_normalizer.from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        try:
            text = body.decode(best.encoding)
        except (UnicodeDecodeError, LookupError):
            pass
        else:
            repairs.append(Repair("encoding", f"not valid UTF-8; detected {best.encoding}"))
            return text, repairs

    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    repairs.append(Repair("encoding", "invalid UTF-8 bytes replaced with U+FFFD", bad))
    return text, repairs
