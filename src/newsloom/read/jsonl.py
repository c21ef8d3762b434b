"""Articles stored as JSON: one object per line (JSONL) or a ``.json`` object/list.

Each object carries ``url``, ``title``, ``text`` or ``html``, ``published``,
and optionally ``site_name`` and ``authors``/``author``.  A bad line becomes a
``Failure`` naming its line number; the other lines go on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO

from newsloom.errors import InputError, TooLargeError
from newsloom.read.compress import size_text
from newsloom.settings import Settings
from newsloom.types import Failure, Page

__all__ = ["page_from_record", "pages_from_json", "pages_from_jsonl"]

_DRAIN_CHUNK = 1024 * 1024


def page_from_record(record: Any, source: str, *, fetched_at: datetime | None = None) -> Page:
    """Turn one article object into a Page; raises ``InputError`` if it has no content."""
    if not isinstance(record, dict):
        raise InputError(f"expected a JSON object, got {type(record).__name__}")
    html = record.get("html")
    text = record.get("text")
    if isinstance(html, str) and html.strip():
        body, kind = html.encode("utf-8"), "html"
    elif isinstance(text, str) and text.strip():
        body, kind = text.encode("utf-8"), "text"
    else:
        raise InputError("object has no non-empty 'text' or 'html' string")
    url = record.get("url")
    meta: dict[str, str] = {}
    for key in ("title", "published", "site_name"):
        value = record.get(key)
        if value is not None and str(value).strip():
            meta[key] = str(value).strip()
    authors = _authors(record.get("authors", record.get("author")))
    if authors:
        meta["authors"] = authors
    return Page(
        source=source,
        body=body,
        url=url.strip() if isinstance(url, str) and url.strip() else None,
        kind=kind,
        fetched_at=fetched_at,
        encoding="utf-8",
        meta=meta,
    )


def _authors(value: Any) -> str:
    if value is None:
        return ""
    items = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else item
        if name is not None and str(name).strip():
            names.append(str(name).strip())
    return "; ".join(names)


def pages_from_jsonl(
    stream: BinaryIO,
    source: str,
    settings: Settings,
    *,
    fetched_at: datetime | None = None,
) -> Iterator[Page | Failure]:
    """Read one article per line from a binary stream, streaming line by line."""
    line_cap = settings.max_file_bytes
    number = 0
    while True:
        raw = stream.readline(line_cap + 1)
        if not raw:
            return
        number += 1
        where = f"{source}:{number}"
        if len(raw) > line_cap and not raw.endswith(b"\n"):
            _drain_line(stream)
            error = TooLargeError(f"line {number} is longer than {size_text(line_cap)}")
            yield Failure(where, str(error), type(error).__name__)
            continue
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            yield Failure(where, f"line {number}: not valid UTF-8", "InputError")
            continue
        except ValueError as exc:
            yield Failure(where, f"line {number}: invalid JSON ({exc})", "InputError")
            continue
        try:
            yield page_from_record(record, where, fetched_at=fetched_at)
        except InputError as exc:
            yield Failure(where, f"line {number}: {exc}", type(exc).__name__)


def _drain_line(stream: BinaryIO) -> None:
    while chunk := stream.readline(_DRAIN_CHUNK):
        if chunk.endswith(b"\n"):
            return


def pages_from_json(
    body: bytes, source: str, *, fetched_at: datetime | None = None
) -> Iterator[Page | Failure]:
    """Read a JSON document holding one article object or a list of them."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError:
        yield Failure(source, "JSON file is not valid UTF-8", "InputError")
        return
    except ValueError as exc:
        yield Failure(source, f"invalid JSON ({exc})", "InputError")
        return
    if isinstance(data, list):
        for index, record in enumerate(data):
            where = f"{source}[{index}]"
            try:
                yield page_from_record(record, where, fetched_at=fetched_at)
            except InputError as exc:
                yield Failure(where, f"item {index}: {exc}", type(exc).__name__)
        return
    try:
        yield page_from_record(data, source, fetched_at=fetched_at)
    except InputError as exc:
        yield Failure(source, str(exc), type(exc).__name__)
