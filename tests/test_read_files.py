from __future__ import annotations

import gzip
import json
import os
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsloom.read.files import read_path
from newsloom.settings import MB, Settings
from newsloom.types import Failure, Page
from read_helpers import WarcItem, article_html, build_warc

SETTINGS = Settings()


def read(path: Path, settings: Settings = SETTINGS) -> list[Page | Failure]:
    return list(read_path(path, settings))


def only(items: list[Page | Failure]) -> Page | Failure:
    assert len(items) == 1, items
    return items[0]


def test_html_file_becomes_page_with_mtime(tmp_path: Path) -> None:
    path = tmp_path / "story.html"
    path.write_text(article_html(), encoding="utf-8")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    page = only(read(path))
    assert isinstance(page, Page)
    assert page.kind == "html"
    assert page.source == str(path)
    assert page.url is None
    assert page.body == path.read_bytes()
    assert page.fetched_at == datetime.fromtimestamp(1_700_000_000, UTC)
    assert page.fetched_at.tzinfo is not None


def test_txt_holding_html_is_html_and_html_holding_text_is_text(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(article_html())
    (tmp_path / "b.html").write_text("Just words.\n\nNo markup at all here.")
    pages = read(tmp_path)
    assert [(Path(p.source).name, p.kind) for p in pages] == [("a.txt", "html"), ("b.html", "text")]


def test_cp1252_text_still_reads(tmp_path: Path) -> None:
    raw = ("Le président a dit « bonjour » – c’est “fini”. " * 30).encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    path = tmp_path / "note.txt"
    path.write_bytes(raw)
    page = only(read(path))
    assert isinstance(page, Page)
    assert page.kind == "text"
    assert page.body == raw


def test_binary_junk_and_empty_file_fail_clearly(tmp_path: Path) -> None:
    junk = tmp_path / "junk.html"
    junk.write_bytes(random.Random(1).randbytes(5000))
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    failure = only(read(junk))
    assert isinstance(failure, Failure)
    assert failure.error == "UnsupportedInputError"
    assert failure.reason == "binary data, not a page"
    failure = only(read(empty))
    assert isinstance(failure, Failure)
    assert (failure.error, failure.reason) == ("UnsupportedInputError", "empty file")


def test_fifty_megabyte_page_is_too_large(tmp_path: Path) -> None:
    path = tmp_path / "huge.html"
    with path.open("wb") as fh:
        # Real markup well past the sniffing window, then a sparse hole:
        # seeking past the end costs no disk and no time.
        fh.write(article_html(words=40_000).encode())
        fh.seek(50 * MB)
        fh.write(b"</html>")
    failure = only(read(path))
    assert isinstance(failure, Failure)
    assert failure.error == "TooLargeError"
    assert "50.0 MB" in failure.reason
    assert "10.0 MB" in failure.reason


def test_gzip_bomb_is_capped(tmp_path: Path) -> None:
    settings = SETTINGS.with_overrides(max_file_bytes=1 * MB)
    bomb = gzip.compress(b"<html><body><p>" + b"a" * (8 * MB), compresslevel=9)
    assert len(bomb) < 64 * 1024
    path = tmp_path / "bomb.html.gz"
    path.write_bytes(bomb)
    failure = only(read(path, settings))
    assert isinstance(failure, Failure)
    assert failure.error == "TooLargeError"
    assert "decompresses to more than 1.0 MB" in failure.reason


def test_gzip_html_reads_decompressed(tmp_path: Path) -> None:
    html = article_html().encode()
    path = tmp_path / "story.html.gz"
    path.write_bytes(gzip.compress(html))
    page = only(read(path))
    assert isinstance(page, Page)
    assert (page.kind, page.body) == ("html", html)


def test_json_object_and_list(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text(
        json.dumps(
            {
                "url": "https://news.example/a",
                "title": "A",
                "text": "Body A",
                "published": "2024-05-01",
                "authors": ["Ann", "Bo"],
            }
        )
    )
    many = tmp_path / "many.json"
    many.write_text(json.dumps([{"html": "<p>B</p>"}, {"title": "no body"}, 7]))
    page = only(read(one))
    assert isinstance(page, Page)
    assert page.url == "https://news.example/a"
    assert page.kind == "text"
    assert page.meta == {"title": "A", "published": "2024-05-01", "authors": "Ann; Bo"}
    items = read(many)
    assert isinstance(items[0], Page) and items[0].kind == "html"
    assert isinstance(items[1], Failure) and "no non-empty" in items[1].reason
    assert isinstance(items[2], Failure) and "expected a JSON object" in items[2].reason


def test_jsonl_gz_streams(tmp_path: Path) -> None:
    lines = [json.dumps({"url": f"https://n.example/{i}", "text": f"t{i}"}) for i in range(5)]
    path = tmp_path / "articles.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    pages = read(path)
    assert [p.url for p in pages] == [f"https://n.example/{i}" for i in range(5)]
    assert pages[2].source == f"{path}:3"


def test_warc_file_in_folder(tmp_path: Path) -> None:
    (tmp_path / "crawl.warc.gz").write_bytes(
        build_warc([WarcItem("https://n.example/a", article_html().encode())])
    )
    page = only(read(tmp_path))
    assert isinstance(page, Page)
    assert page.url == "https://n.example/a"
    assert page.source.startswith(str(tmp_path / "crawl.warc.gz") + "#")


def test_folder_walk_is_sorted_skips_hidden_and_assets(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.html").write_text(article_html())
    (tmp_path / "a.txt").write_text("first text")
    (tmp_path / "c.htm").write_text(article_html())
    (tmp_path / ".hidden.html").write_text(article_html())
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.html").write_text(article_html())
    (tmp_path / "b" / "style.css").write_text("body { color: red }")
    (tmp_path / "notes.md").write_text("A text file with an unlisted extension.")
    names = [Path(p.source).relative_to(tmp_path).as_posix() for p in read(tmp_path)]
    assert names == ["a.txt", "c.htm", "notes.md", "b/2.html"]


def test_symlink_out_of_tree_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.html").write_text(article_html("Secret"))
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "ok.html").write_text(article_html())
    (tree / "link.html").symlink_to(outside / "secret.html")
    (tree / "linkdir").symlink_to(outside, target_is_directory=True)
    items = read(tree)
    pages = [i for i in items if isinstance(i, Page)]
    assert [Path(p.source).name for p in pages] == ["ok.html"]
    refused = sorted(Path(i.source).name for i in items if isinstance(i, Failure))
    assert refused == ["link.html", "linkdir"]
    assert all(b"Secret" not in p.body for p in pages)


def test_missing_path_is_a_failure(tmp_path: Path) -> None:
    failure = only(read(tmp_path / "nope.html"))
    assert isinstance(failure, Failure)
    assert failure.error == "FileNotFoundError"


def test_local_feed_with_full_text_needs_no_fetcher(tmp_path: Path) -> None:
    words = " ".join(["word"] * 120)
    path = tmp_path / "feed.xml"
    path.write_text(
        f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Daily</title>
        <item><title>Full</title><link>https://n.example/full</link>
        <description>&lt;p&gt;{words}&lt;/p&gt;</description></item>
        <item><title>Short</title><link>https://n.example/short</link>
        <description>teaser only</description></item></channel></rss>"""
    )
    items = read(path)
    assert isinstance(items[0], Page) and items[0].url == "https://n.example/full"
    assert items[0].meta["site_name"] == "Daily"
    assert isinstance(items[1], Failure) and "fetching is off" in items[1].reason
