from __future__ import annotations

import io
import json

from newsloom.read.jsonl import pages_from_jsonl
from newsloom.settings import Settings
from newsloom.types import Failure, Page


def read(lines: list[str], settings: Settings | None = None) -> list[Page | Failure]:
    data = "\n".join(lines).encode("utf-8")
    return list(pages_from_jsonl(io.BytesIO(data), "a.jsonl", settings or Settings()))


def test_html_and_text_lines_with_meta() -> None:
    items = read(
        [
            json.dumps(
                {
                    "url": "https://n.example/1",
                    "title": "One",
                    "html": "<p>Hello</p>",
                    "published": "2024-02-03T04:05:06Z",
                    "site_name": "N",
                    "authors": ["Ann Lee", {"name": "Bo Chan"}],
                }
            ),
            json.dumps({"url": "https://n.example/2", "text": "Plain body", "author": "Cy"}),
        ]
    )
    first, second = items
    assert isinstance(first, Page) and isinstance(second, Page)
    assert (first.kind, first.body, first.url) == ("html", b"<p>Hello</p>", "https://n.example/1")
    assert first.meta == {
        "title": "One",
        "published": "2024-02-03T04:05:06Z",
        "site_name": "N",
        "authors": "Ann Lee; Bo Chan",
    }
    assert (second.kind, second.body) == ("text", b"Plain body")
    assert second.meta == {"authors": "Cy"}
    assert (first.source, second.source) == ("a.jsonl:1", "a.jsonl:2")


def test_bad_lines_are_failures_and_others_go_on() -> None:
    items = read(
        [
            json.dumps({"text": "good one"}),
            "{not json",
            "[1, 2]",
            json.dumps({"title": "no body"}),
            "",
            json.dumps({"text": "   "}),
            json.dumps({"text": "good two"}),
        ]
    )
    kinds = [(type(i).__name__, i.source) for i in items]
    assert kinds == [
        ("Page", "a.jsonl:1"),
        ("Failure", "a.jsonl:2"),
        ("Failure", "a.jsonl:3"),
        ("Failure", "a.jsonl:4"),
        ("Failure", "a.jsonl:6"),
        ("Page", "a.jsonl:7"),
    ]
    assert items[1].reason.startswith("line 2: invalid JSON")
    assert items[2].reason == "line 3: expected a JSON object, got list"
    assert "line 4:" in items[3].reason and "'text' or 'html'" in items[3].reason


def test_overlong_line_skipped() -> None:
    settings = Settings().with_overrides(max_file_bytes=1000)
    items = read([json.dumps({"text": "x" * 5000}), json.dumps({"text": "fine"})], settings)
    assert isinstance(items[0], Failure) and items[0].error == "TooLargeError"
    assert isinstance(items[1], Page) and items[1].body == b"fine"
    assert items[1].source == "a.jsonl:2"


def test_invalid_utf8_line() -> None:
    data = b'{"text": "caf\xe9"}\n{"text": "ok"}\n'
    items = list(pages_from_jsonl(io.BytesIO(data), "b.jsonl", Settings()))
    assert isinstance(items[0], Failure) and "UTF-8" in items[0].reason
    assert isinstance(items[1], Page)
