"""Build the demo corpus's web archive from the HTML kept in ``warc_src/``.

The archive imitates a small crawl of the Valley Ledger: a ``warcinfo``
record, one ``request`` record, then one ``response`` record per page, each
response carrying the HTTP headers and the page.  A reader must yield the
three responses and skip the other two records.

The output is deterministic so the committed file can be checked against a
fresh build byte for byte: every WARC-Date, HTTP date and record id is fixed
here, and the gzip members warcio writes carry no timestamp.  Run
``python -m newsloom.demo.build_warc`` after editing a page in ``warc_src/``;
``--check`` only compares.
"""

from __future__ import annotations

import argparse
import io
import sys
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

__all__ = ["ARCHIVE_NAME", "PAGES", "ArchivedPage", "build", "main"]

DEMO_DIR = Path(__file__).resolve().parent
SOURCE_DIR = DEMO_DIR / "warc_src"
ARCHIVE_NAME = "valleyledger.warc.gz"
ARCHIVE_PATH = DEMO_DIR / "corpus" / "archive" / ARCHIVE_NAME

CRAWLER = "ledger-archiver/2.4 (+https://valleyledger.example/archive-policy/)"
WARCINFO_ID = "<urn:uuid:6f1d2c3a-8b47-4e0c-9a51-3d7e2f804c11>"
WARCINFO_DATE = "2026-03-23T18:00:00Z"
REQUEST_ID = "<urn:uuid:0c9b5e21-47d3-4f8a-b6e2-91a4c75d3e02>"


@dataclass(frozen=True, slots=True)
class ArchivedPage:
    source: str  # file name in warc_src/
    url: str
    warc_date: str  # when the crawler fetched it
    record_id: str


PAGES: tuple[ArchivedPage, ...] = (
    ArchivedPage(
        "queues-millrace-bridge-kestrel-closure-begins.html",
        "https://valleyledger.example/2026/03/04/queues-millrace-bridge-kestrel-closure-begins/",
        "2026-03-23T18:02:11Z",
        "<urn:uuid:a3e6f0d8-5c21-4b9e-8f37-2d14c6b09a51>",
    ),
    ArchivedPage(
        "eleven-votes-saltmarsh-result-heads-for-recount.html",
        "https://valleyledger.example/2026/03/07/eleven-votes-saltmarsh-result-heads-for-recount/",
        "2026-03-23T18:02:14Z",
        "<urn:uuid:b74d1e92-0f6a-4c38-a5d2-7e9b3c41f862>",
    ),
    ArchivedPage(
        "low-wharf-residents-demand-answers-flood-barrier.html",
        "https://valleyledger.example/2026/03/23/low-wharf-residents-demand-answers-flood-barrier/",
        "2026-03-23T18:02:17Z",
        "<urn:uuid:c85a2f03-9e7b-4d16-b1c4-58f2a6d07e93>",
    ),
)


def _http_date(warc_date: str) -> str:
    return format_datetime(datetime.fromisoformat(warc_date.replace("Z", "+00:00")), usegmt=True)


def _warcinfo(writer: WARCWriter) -> object:
    fields = (
        f"software: {CRAWLER}\r\n"
        "format: WARC File Format 1.0\r\n"
        "description: Demo crawl of valleyledger.example for the newsloom corpus\r\n"
        "robots: obey\r\n"
    ).encode()
    return writer.create_warc_record(
        "",
        "warcinfo",
        payload=io.BytesIO(fields),
        length=len(fields),
        warc_content_type="application/warc-fields",
        warc_headers_dict={
            "WARC-Record-ID": WARCINFO_ID,
            "WARC-Date": WARCINFO_DATE,
            "WARC-Filename": ARCHIVE_NAME,
        },
    )


def _request(writer: WARCWriter, page: ArchivedPage) -> object:
    parts = urlsplit(page.url)
    headers = StatusAndHeaders(
        f"GET {parts.path} HTTP/1.1",
        [
            ("Host", parts.netloc),
            ("User-Agent", CRAWLER),
            ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
            ("Accept-Encoding", "identity"),
            ("Connection", "close"),
        ],
        is_http_request=True,
    )
    return writer.create_warc_record(
        page.url,
        "request",
        http_headers=headers,
        warc_headers_dict={
            "WARC-Record-ID": REQUEST_ID,
            "WARC-Date": page.warc_date,
            "WARC-Concurrent-To": page.record_id,
            "WARC-Warcinfo-ID": WARCINFO_ID,
        },
    )


def _response(writer: WARCWriter, page: ArchivedPage, source_dir: Path) -> object:
    body = (source_dir / page.source).read_bytes()
    headers = StatusAndHeaders(
        "200 OK",
        [
            ("Date", _http_date(page.warc_date)),
            ("Server", "nginx"),
            ("Content-Type", "text/html; charset=UTF-8"),
            ("Content-Length", str(len(body))),
            ("Link", f'<{page.url}>; rel="canonical"'),
            ("Cache-Control", "max-age=300, public"),
            ("Connection", "close"),
        ],
        protocol="HTTP/1.1",
    )
    return writer.create_warc_record(
        page.url,
        "response",
        payload=io.BytesIO(body),
        length=len(body),
        http_headers=headers,
        warc_headers_dict={
            "WARC-Record-ID": page.record_id,
            "WARC-Date": page.warc_date,
            "WARC-Warcinfo-ID": WARCINFO_ID,
        },
    )


def build(source_dir: Path = SOURCE_DIR) -> bytes:
    """The gzipped WARC for ``PAGES``: warcinfo, one request, then the responses."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    writer.write_record(_warcinfo(writer))
    writer.write_record(_request(writer, PAGES[0]))
    for page in PAGES:
        writer.write_record(_response(writer, page, source_dir))
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the corpus instead of writing"
    )
    args = parser.parse_args(argv)
    data = build()
    if args.check:
        if ARCHIVE_PATH.is_file() and ARCHIVE_PATH.read_bytes() == data:
            return 0
        print(f"out of date: corpus/archive/{ARCHIVE_NAME}", file=sys.stderr)
        return 1
    ARCHIVE_PATH.parent.mkdir(parents=True, exist_ok=True)
    ARCHIVE_PATH.write_bytes(data)
    print(f"wrote {ARCHIVE_PATH.relative_to(DEMO_DIR)} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
