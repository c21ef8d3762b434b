from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest

from newsloom.read.files import read_path
from newsloom.read.warc import pages_from_warc
from newsloom.settings import Settings
from newsloom.types import Failure, Page
from read_helpers import WarcItem, article_html, build_warc

SETTINGS = Settings()


def sample_items() -> list[WarcItem]:
    return [
        WarcItem("https://n.example/1", article_html("One").encode()),
        WarcItem("https://n.example/req", b"", record_type="request"),
        WarcItem("https://n.example/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(50), "image/png"),
        WarcItem("https://n.example/meta", b"outlinks: x", "application/warc-fields", "metadata"),
        WarcItem("https://n.example/404", article_html("Gone").encode(), status="404 Not Found"),
        WarcItem(
            "https://n.example/2",
            article_html("Two").encode("cp1252"),
            "text/html; charset=windows-1252",
        ),
        # No Content-Type at all: sniffed as HTML.
        WarcItem("https://n.example/3", article_html("Three").encode(), ""),
        WarcItem("https://n.example/4", b"plain words only", "application/octet-stream"),
    ]


def read(data: bytes, settings: Settings = SETTINGS) -> list[Page | Failure]:
    return list(pages_from_warc(io.BytesIO(data), "crawl.warc.gz", settings))


@pytest.mark.parametrize("compressed", [True, False])
def test_html_responses_only(compressed: bool) -> None:
    pages = read(build_warc(sample_items(), gzip=compressed))
    assert all(isinstance(p, Page) for p in pages)
    assert [p.url for p in pages] == [
        "https://n.example/1",
        "https://n.example/2",
        "https://n.example/3",
    ]
    first = pages[0]
    assert first.kind == "html"
    assert b"One" in first.body and first.body.startswith(b"<!DOCTYPE html>")
    assert isinstance(first.fetched_at, datetime) and first.fetched_at.tzinfo is not None
    assert first.source.startswith("crawl.warc.gz#")
    assert first.encoding == "utf-8"
    assert pages[1].encoding == "cp1252"
    offsets = [int(p.source.rsplit("#", 1)[1]) for p in pages]
    assert offsets == sorted(offsets) and len(set(offsets)) == 3


@pytest.mark.parametrize("compressed", [True, False])
def test_truncated_warc_keeps_earlier_pages(compressed: bool) -> None:
    items = [WarcItem(f"https://n.example/{i}", article_html(f"P{i}").encode()) for i in range(4)]
    data = build_warc(items, gzip=compressed)
    cut = data[: len(data) - 300]
    result = read(cut)
    pages, last = result[:-1], result[-1]
    assert [p.url for p in pages] == [f"https://n.example/{i}" for i in range(3)]
    assert isinstance(last, Failure)
    # warcinfo + three responses were read whole before the damage.
    assert last.reason == "truncated WARC after 4 records"


def test_garbage_after_records_is_reported() -> None:
    data = build_warc([WarcItem("https://n.example/a", article_html().encode())], gzip=False)
    result = read(data + b"NOT A WARC RECORD\r\n\r\n" * 3)
    assert isinstance(result[0], Page)
    assert isinstance(result[-1], Failure)
    assert "after 2 records" in result[-1].reason


def test_record_over_cap_is_a_failure_and_reading_goes_on() -> None:
    items = [
        WarcItem("https://n.example/big", article_html(words=5000).encode()),
        WarcItem("https://n.example/small", article_html(words=20).encode()),
    ]
    result = read(build_warc(items), SETTINGS.with_overrides(max_file_bytes=4096))
    assert isinstance(result[0], Failure) and result[0].error == "TooLargeError"
    assert "https://n.example/big" in result[0].reason
    assert isinstance(result[1], Page) and result[1].url == "https://n.example/small"


def test_warc_file_read_through_read_path(tmp_path: Path) -> None:
    path = tmp_path / "cc-news.warc.gz"
    path.write_bytes(build_warc(sample_items()))
    pages = list(read_path(path, SETTINGS))
    assert len(pages) == 3
    assert all(p.source.startswith(f"{path}#") for p in pages)
