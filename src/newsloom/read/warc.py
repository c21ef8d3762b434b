"""WARC archives (plain or gzip-per-record, as in CC-NEWS) streamed record by record.

Only HTML responses become pages.  A damaged archive yields every page before
the damage and then one ``Failure`` saying how far reading got.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataException
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeadersParserException

from newsloom.errors import TooLargeError
from newsloom.read.compress import size_text
from newsloom.read.sniff import HTML_TYPES, content_type_parts, sniff
from newsloom.settings import Settings
from newsloom.types import Failure, Page

__all__ = ["pages_from_warc"]

_CHUNK = 64 * 1024
# Generic or missing types say nothing, so the payload is sniffed; any other
# non-HTML type (images, scripts, JSON) is skipped without reading it.
_SNIFF_TYPES = frozenset({"", "application/octet-stream", "text/plain", "unk", "no-type"})
_PAGE_RECORDS = frozenset({"response", "resource"})
# What a damaged payload (bad gzip, short chunk, mangled header) raises in warcio.
_PAYLOAD_ERRORS = (
    ArchiveLoadFailed,
    StatusAndHeadersParserException,
    ChunkedDataException,
    EOFError,
    OSError,
    ValueError,
    zlib.error,
)


class _CheckedIterator(ArchiveIterator):
    """ArchiveIterator that remembers whether the last gzip member was cut short.

    warcio silently stops at a truncated gzip member; the decompressor's
    ``eof`` flag, read just before warcio discards it, is the only trace.
    """

    truncated_member = False

    def close(self) -> None:
        decompressor = getattr(getattr(self, "reader", None), "decompressor", None)
        if decompressor is not None and not getattr(decompressor, "eof", True):
            self.truncated_member = True
        super().close()


def pages_from_warc(stream: BinaryIO, source: str, settings: Settings) -> Iterator[Page | Failure]:
    """Yield a Page for every HTML response record in a WARC stream."""
    records = 0
    try:
        iterator = _CheckedIterator(stream)
    except Exception as exc:  # warcio raises assorted errors on junk input
        yield _damaged(source, records, exc)
        return
    while True:
        try:
            record = next(iterator)
        except StopIteration:
            break
        except Exception as exc:  # corrupt headers surface as many exception types
            yield _damaged(source, records, exc)
            return
        try:
            item = _page_from_record(record, iterator, source, settings)
            truncated = _drain(record)
        except _PAYLOAD_ERRORS as exc:
            yield _damaged(source, records, exc)
            return
        if truncated:
            yield _truncated(source, records)
            return
        records += 1
        if item is not None:
            yield item
    if iterator.truncated_member:
        yield _truncated(source, records)


def _page_from_record(
    record: Any, iterator: ArchiveIterator, source: str, settings: Settings
) -> Page | Failure | None:
    if record.rec_type not in _PAGE_RECORDS:
        return None
    if record.rec_type == "response":
        if record.http_headers is None:
            return None
        status = record.http_headers.get_statuscode() or ""
        if not status.startswith("2"):
            return None
        content_type = record.http_headers.get_header("Content-Type")
    else:
        content_type = record.rec_headers.get_header("Content-Type")
    mime, charset = content_type_parts(content_type)
    if mime not in HTML_TYPES and mime not in _SNIFF_TYPES:
        return None
    cap = settings.max_file_bytes
    body = _read_capped(record.content_stream(), cap + 1)
    where = f"{source}#{iterator.get_record_offset()}"
    url = record.rec_headers.get_header("WARC-Target-URI")
    if len(body) > cap:
        error = TooLargeError(f"record payload is larger than {size_text(cap)}")
        return Failure(where, f"{url or 'record'}: {error}", type(error).__name__)
    if mime not in HTML_TYPES and sniff(body) != "html":
        return None
    meta = {"content_type": content_type or ""}
    record_id = record.rec_headers.get_header("WARC-Record-ID")
    if record_id:
        meta["warc_record_id"] = record_id
    # The crawler cut this payload short (size or time limit): still a page,
    # but extraction should know it may be incomplete.
    cut_short = record.rec_headers.get_header("WARC-Truncated")
    if cut_short:
        meta["warc_truncated"] = cut_short
    return Page(
        source=where,
        body=body,
        url=url or None,
        kind="html",
        fetched_at=_warc_date(record.rec_headers.get_header("WARC-Date")),
        encoding=charset,
        meta=meta,
    )


def _read_capped(stream: Any, limit: int) -> bytes:
    out = bytearray()
    while len(out) < limit:
        chunk = stream.read(min(_CHUNK, limit - len(out)))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def _drain(record: Any) -> bool:
    """Consume the rest of the record; True if the archive ended inside it."""
    raw = record.raw_stream
    while raw.read(_CHUNK):
        pass
    return getattr(raw, "limit", 0) > 0


def _warc_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _records(n: int) -> str:
    return f"{n} record" if n == 1 else f"{n} records"


def _truncated(source: str, records: int) -> Failure:
    return Failure(source, f"truncated WARC after {_records(records)}", "InputError")


def _damaged(source: str, records: int, exc: Exception) -> Failure:
    # warcio's own errors describe the damage; anything else (AttributeError
    # on a mangled header line) says nothing useful to a reader.
    message = str(exc).strip()
    if isinstance(exc, _PAYLOAD_ERRORS):
        detail = message.splitlines()[0] if message else "unreadable record"
    else:
        detail = "unreadable record header"
    return Failure(source, f"corrupt WARC after {_records(records)}: {detail}", "InputError")
