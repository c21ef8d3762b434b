"""The newsloom command end to end, as a user runs it."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from newsloom.store import open_store

BODY = (
    "The Velmora harbour board voted on Thursday to keep the night ferry running through the "
    "winter, reversing a decision taken in September after more than 2,000 residents signed a "
    "petition. Board chair Ines Halloran said the service would cost about 310,000 euros a year."
)


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from newsloom.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def pages(tmp_path: Path) -> Path:
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "ferry.txt").write_text(f"Night ferry saved\n\n{BODY}\n", encoding="utf-8")
    html = (
        "<html lang='en'><head><title>Ferry vote</title></head><body><article><h1>Ferry vote</h1>"
        f"<p>{BODY}</p><p>{BODY.replace('Thursday', 'Friday')}</p></article></body></html>"
    )
    (folder / "ferry.html.gz").write_bytes(gzip.compress(html.encode()))
    return folder


def test_extract_json_is_one_object_with_the_contract_fields(pages: Path) -> None:
    result = run("extract", str(pages / "ferry.txt"), "--json", cwd=pages)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["title"] == "Night ferry saved"
    assert data["paragraphs"] == [BODY]
    for key in ("id", "published", "date_source", "citations", "repairs", "stated_views"):
        assert key in data


def test_extract_text_and_markdown(pages: Path) -> None:
    text = run("extract", str(pages / "ferry.txt"), "--text", cwd=pages)
    assert text.stdout.startswith("Night ferry saved\n\n")
    md = run("extract", str(pages / "ferry.txt"), "--markdown", cwd=pages)
    assert md.stdout.startswith("# Night ferry saved")
    both = run("extract", str(pages / "ferry.txt"), "--text", "--json", cwd=pages)
    assert both.returncode == 2


def test_ingest_is_idempotent_and_searchable(pages: Path, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'news.db'}"
    first = run("ingest", str(pages), "--store", store, "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["new"] == 2 and report["failures"] == []
    again = json.loads(run("ingest", str(pages), "--store", store, "--json", cwd=tmp_path).stdout)
    assert again["new"] == 0 and again["unchanged"] == 2 and again["articles_in_store"] == 2

    hits = json.loads(
        run("articles", "--search", "petition", "--store", store, "--json", cwd=tmp_path).stdout
    )
    assert len(hits) == 2 and all("[petition]" in h["snippet"] for h in hits)
    shown = run("show", "article", hits[0]["id"][:8], "--store", store, "--json", cwd=tmp_path)
    assert json.loads(shown.stdout)["id"] == hits[0]["id"]
    missing = run("show", "article", "ffffffffffff", "--store", store, cwd=tmp_path)
    assert missing.returncode == 1 and "no article" in missing.stderr


def test_bad_inputs_are_reported_and_the_batch_goes_on(pages: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "junk.bin").write_bytes(bytes(range(256)) * 20)
    (bad / "empty.txt").write_bytes(b"")
    (bad / "invalid-utf8.txt").write_bytes(
        b"Night ferry saved\n\n" + BODY.replace("euros", "€").encode("cp1252")
    )
    with (bad / "huge.html").open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    (bad / "feed.xml").write_bytes(b"<?xml version='1.0'?><rss><channel><item><title>cut off")
    (bad / "cut.warc").write_bytes(
        b"WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 5000\r\n\r\nHTTP/1.1"
    )
    store = f"sqlite:///{tmp_path / 'news.db'}"
    assert run("ingest", str(pages), "--store", store, cwd=tmp_path).returncode == 0

    result = run("ingest", str(bad), "http://127.0.0.1:9/page", "--store", store, cwd=tmp_path)
    assert result.returncode == 1
    err = result.stderr
    for name in ("junk.bin", "empty.txt", "huge.html", "feed.xml", "cut.warc", "127.0.0.1"):
        assert name in err, name
    assert "failed" in err
    assert "Traceback" not in err
    # The good page in the bad batch was stored and nothing stored before was lost.
    with open_store(store) as opened:
        assert opened.count_articles() == 3
        assert any("€" in (a.text or "") for a in opened.iter_articles())


def test_configuration_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "newsloom.toml").write_text("timeout = 'soon'\n")
    result = run("articles", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("newsloom: error:")
    assert "Traceback" not in result.stderr
    bad_store = run("articles", "--store", "mysql://x", cwd=tmp_path.parent)
    assert bad_store.returncode == 2 and "Traceback" not in bad_store.stderr
