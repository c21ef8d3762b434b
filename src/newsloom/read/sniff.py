"""Content sniffing: what a body is, judged by its bytes rather than its name.

File extensions and Content-Type headers on the open web are often wrong (a
``.txt`` holding saved HTML, RSS served as ``text/html``), so readers route on
what the bytes look like.  The name is only a tie-breaker (``.jsonl`` vs
``.json`` for a single-line file).
"""

from __future__ import annotations

import codecs
import json
import re

__all__ = ["HEAD_BYTES", "HTML_TYPES", "content_type_parts", "sniff"]

# Enough to see past an XML prolog, a doctype and a long <head> comment.
HEAD_BYTES = 64 * 1024
# Binary detection looks at this much decoded text.
_BINARY_WINDOW = 4096
# Share of control/undecodable characters above which a body is not text.
_MAX_CONTROL_RATIO = 0.05

# Formats whose first kilobytes can pass for text (a PDF header and its
# uncompressed objects) or that are common enough to name without decoding.
# Prefixes that could open a real sentence ("MZ", "ID3") are left to the
# NUL/control-character test, which such files fail anyway.
_MAGIC = (
    b"%PDF-",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"\x7fELF",
    b"\xfd7zXZ\x00",
    b"7z\xbc\xaf\x27\x1c",
    b"\x28\xb5\x2f\xfd",  # zstd
    b"SQLite format 3\x00",
)

# Legacy code pages tried after UTF-8: Western and Thai cover the mojibake the
# project sees in the wild; latin-1 is the catch-all that maps every byte.
_LEGACY = ("cp1252", "cp874", "cp1251", "latin-1")

_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v\x1b")

_HTML_STRUCTURE = re.compile(r"<(?:!doctype\s+html|html|head|body)[\s>]", re.IGNORECASE)
_HTML_TAG = re.compile(
    r"</?(?:p|div|span|a|br|hr|h[1-6]|ul|ol|li|table|tr|td|th|article|section|header|footer|"
    r"nav|main|aside|script|style|meta|link|title|img|em|strong|b|i|blockquote|figure|"
    r"figcaption|time|iframe|form|input|button|noscript|pre|code)\b[^<>]*>",
    re.IGNORECASE,
)
_XML_SKIP = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->|<!doctype[^>[]*(?:\[.*?\])?\s*>)", re.I | re.S)
_ROOT = re.compile(r"<([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)")

_FEED_ROOTS = frozenset({"rss", "feed", "rdf"})
_SITEMAP_ROOTS = frozenset({"urlset", "sitemapindex"})


def sniff(body: bytes, name: str = "") -> str:
    """Classify ``body`` as html, text, json, jsonl, warc, feed, sitemap, gzip, binary or empty.

    Only the first :data:`HEAD_BYTES` are examined, so callers may pass a file's head.
    """
    head = body[:HEAD_BYTES]
    if not head.strip():
        return "empty"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.lstrip().startswith(b"WARC/"):
        return "warc"
    text = _decode_head(head)
    if text is None:
        return "binary"
    return _classify_text(text.lstrip("\ufeff \t\r\n"), name.lower())


def _decode_head(head: bytes) -> str | None:
    """Decode the start of a body as text, or return None if it is binary."""
    if any(head.startswith(magic) for magic in _MAGIC):
        return None
    window = head[:_BINARY_WINDOW]
    wide = _wide_encoding(window)
    if wide is not None:
        return head.decode(wide, errors="replace")
    if b"\x00" in window:
        return None
    best: str | None = None
    best_ratio = 1.0
    for encoding in ("utf-8", *_LEGACY):
        decoded = _decode_prefix(window, encoding)
        ratio = _control_ratio(decoded)
        if ratio < best_ratio:
            best, best_ratio = encoding, ratio
        if ratio == 0.0:
            break
    if best is None or best_ratio > _MAX_CONTROL_RATIO:
        return None
    return head.decode(best, errors="replace")


def _wide_encoding(window: bytes) -> str | None:
    """Name UTF-16/32 text by its BOM, or by the NUL pattern of ASCII in UTF-16."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if window.startswith(bom):
            return encoding
    if len(window) < 8:
        return None
    even, odd = window[0::2], window[1::2]
    even_nul = even.count(0) / len(even)
    odd_nul = odd.count(0) / len(odd)
    # Mostly-ASCII UTF-16: every other byte is NUL and the rest almost never is.
    if odd_nul > 0.9 and even_nul < 0.05:
        candidate = "utf-16-le"
    elif even_nul > 0.9 and odd_nul < 0.05:
        candidate = "utf-16-be"
    else:
        return None
    usable = len(window) - len(window) % 2
    if _control_ratio(window[:usable].decode(candidate, errors="replace")) > _MAX_CONTROL_RATIO:
        return None
    return candidate


def _decode_prefix(window: bytes, encoding: str) -> str:
    # The window may cut a multi-byte UTF-8 sequence; an incremental decoder
    # without a final flush ignores that incomplete tail instead of flagging it.
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(window, final=False)


def _control_ratio(text: str) -> float:
    if not text:
        return 0.0
    bad = 0
    for char in text:
        code = ord(char)
        c1_or_junk = char == "\ufffd" or code == 0x7F or 0x80 <= code <= 0x9F
        if c1_or_junk or (code < 0x20 and char not in _ALLOWED_CONTROLS):
            bad += 1
    return bad / len(text)


def _classify_text(text: str, name: str) -> str:
    if not text:
        return "empty"
    first = text[0]
    if first in "{[":
        kind = _json_kind(text, name)
        if kind is not None:
            return kind
    if first == "<":
        markup = _markup_kind(text)
        if markup is not None:
            return markup
    return "html" if is_html(text) else "text"


def is_html(text: str) -> bool:
    """Web-page markup, as opposed to prose with a stray tag in it."""
    window = text[: _BINARY_WINDOW * 4]
    if _HTML_STRUCTURE.search(window):
        return True
    tags = _HTML_TAG.findall(window)
    # A few stray "<b>" in prose are not a page; several distinct tags are.
    return len(tags) >= 3 and len({t.split()[0].strip("</>").lower() for t in tags}) >= 2


def _json_kind(text: str, name: str) -> str | None:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first_line = lines[0]
    if first_line.startswith("{"):
        try:
            first_ok = isinstance(json.loads(first_line), dict)
        except ValueError:
            first_ok = False
        if first_ok:
            # The last line of a head may be cut mid-record, so only the
            # earlier lines are required to start a JSON object.
            others = lines[1:-1] if len(lines) > 2 else lines[1:]
            if others and all(line.startswith("{") for line in others):
                return "jsonl"
            if len(lines) == 1 and name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
                return "jsonl"
            if len(lines) == 1:
                return "json"
        # A pretty-printed object spans many lines.
        return "json" if re.match(r'\{\s*(?:"|\})', text) else None
    if re.match(r"\[\s*(?:[\{\[\"\]\d-]|true|false|null)", text):
        return "json"
    return None


def _markup_kind(text: str) -> str | None:
    pos = 0
    while True:
        skipped = _XML_SKIP.match(text, pos)
        if not skipped or skipped.end() == pos:
            break
        pos = skipped.end()
    rest = text[pos:].lstrip()
    if rest[:14].lower().startswith("<!doctype html"):
        return "html"
    root = _ROOT.match(rest)
    if root is None:
        return None
    local = root.group(1).split(":")[-1].lower()
    if local in _FEED_ROOTS:
        return "feed"
    if local in _SITEMAP_ROOTS:
        return "sitemap"
    # Any other markup (HTML fragments, XHTML, unknown XML) is left to the
    # extractor, which handles tag soup and reports when nothing is there.
    return "html"


def content_type_parts(value: str | None) -> tuple[str, str | None]:
    """Split a Content-Type header into (mime type, known charset or None)."""
    if not value:
        return "", None
    mime, _, params = value.partition(";")
    charset: str | None = None
    for param in params.split(";"):
        key, _, raw = param.partition("=")
        if key.strip().lower() == "charset":
            charset = _codec_name(raw.strip().strip("\"'").lower())
    return mime.strip().lower(), charset


def _codec_name(label: str) -> str | None:
    # WHATWG labels such as "windows-874" have no Python alias; "cp874" does.
    candidates = [label]
    if label.startswith("windows-"):
        candidates.append("cp" + label.removeprefix("windows-"))
    for candidate in candidates:
        if not candidate:
            continue
        try:
            return codecs.lookup(candidate).name
        except (LookupError, ValueError):  # ValueError: a NUL in the label
            continue
    # An unknown label is worse than none: extraction sniffs instead.
    return None


HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
