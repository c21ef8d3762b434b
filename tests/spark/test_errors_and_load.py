"""Bad input lands in ``errors`` without failing the job; ``load`` feeds ``show story``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from newsloom.cli import app
from newsloom.demo import corpus_path
from newsloom.store import open_store
from read_helpers import WarcItem, build_warc

runner = CliRunner()


def _bad_inputs(folder: Path) -> None:
    """A WARC cut off inside its last record, a JSONL file with one broken line,
    and a file of binary junk named like a page."""
    folder.mkdir()
    pages = sorted((corpus_path() / "html").rglob("*.html"))[:2]
    items = [WarcItem(f"https://warc.example/{p.stem}", p.read_bytes()) for p in pages]
    items.insert(1, WarcItem("https://warc.example/req", b"", record_type="request"))
    whole = build_warc(items)
    tail = build_warc([WarcItem("https://warc.example/late", pages[0].read_bytes())])
    (folder / "crawl.warc.gz").write_bytes(whole + tail[: len(tail) // 2])
    text = sorted((corpus_path() / "text").rglob("*.txt"))[0].read_text(encoding="utf-8")
    good = {"url": "https://lines.example/a", "title": "Recount notes", "text": text}
    (folder / "lines.jsonl").write_text(
        json.dumps(good) + "\n" + '{"url": "https://lines.example/b", "text": \n', encoding="utf-8"
    )
    (folder / "junk.html").write_bytes(bytes(range(256)) * 8)


def test_bad_records_become_errors_and_load_shows_stories(spark: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    _bad_inputs(bad)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["batch", str(corpus_path() / "html"), str(bad), "--out", str(out), "--master",
         "local[2]", "--partitions", "2", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["errors"] == 3

    errors = {Path(r["input"]).name: r for r in spark.read.parquet(str(out / "errors")).collect()}
    assert set(errors) == {"crawl.warc.gz", "lines.jsonl", "junk.html"}
    assert "truncated WARC" in errors["crawl.warc.gz"]["reason"]
    assert errors["lines.jsonl"]["record"] == "2"
    assert "invalid JSON" in errors["lines.jsonl"]["reason"]
    assert "binary" in errors["junk.html"]["reason"]
    articles = {r["source"]: r for r in spark.read.parquet(str(out / "articles")).collect()}
    # The records before the damage are kept; the request record is not a page.
    assert sum("crawl.warc.gz#" in source for source in articles) == 2
    assert str(bad / "lines.jsonl") + ":1" in articles

    db = tmp_path / "loaded.db"
    result = runner.invoke(app, ["load", str(out), "--store", f"sqlite:///{db}", "--json"])
    assert result.exit_code == 0, result.output
    loaded = json.loads(result.stdout)
    assert loaded["articles_in_store"] == len(articles) == report["articles"]
    assert loaded["errors"] == 3

    # The largest story, as the batch saw it, is what `show story` prints.
    members = spark.read.parquet(str(out / "stories")).collect()
    by_story: dict[str, list[str]] = {}
    for row in sorted(members, key=lambda r: r["ord"]):
        by_story.setdefault(row["story_id"], []).append(row["article_id"])
    story_id, ids = max(by_story.items(), key=lambda kv: (len(kv[1]), kv[0]))
    assert len(ids) > 1
    edges = spark.read.parquet(str(out / "provenance")).where(f"story_id = '{story_id}'").count()
    conflicts = spark.read.parquet(str(out / "conflicts")).where(f"story_id = '{story_id}'").count()
    assert edges > 0

    shown = runner.invoke(app, ["show", "story", story_id, "--store", f"sqlite:///{db}", "--json"])
    assert shown.exit_code == 0, shown.output
    story = json.loads(shown.stdout)
    assert [a["id"] for a in story["articles"]] == ids
    assert all(a["why"] for a in story["articles"])
    assert story["analysed_at"] is not None
    assert len(story["provenance_edges"]) == edges
    assert len(story["conflicts"]) == conflicts
    assert all(a["duplicate"] is not None for a in story["articles"])
    text = runner.invoke(app, ["show", "story", story_id, "--store", f"sqlite:///{db}"])
    assert text.exit_code == 0 and story["title"] in text.stdout
    # What each story keeps of its members came along, so a later ingest can
    # still split it.
    with open_store(f"sqlite:///{db}") as store:
        assert [m.article_id for m in store.story_index().members(story_id)] == ids
