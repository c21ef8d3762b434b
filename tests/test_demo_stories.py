"""The demo corpus (and the two seeds) ingested with the real models: stories as documented."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SHARED
from newsloom.demo import corpus_path, load_ground_truth
from newsloom.pipeline import Pipeline
from newsloom.store import open_store

TRUTH = load_ground_truth()


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'news.db'}"
    sources = [str(corpus_path())]
    if (SHARED / "seeds").is_dir():
        sources.append(str(SHARED / "seeds"))
    with open_store(url) as store:
        report = Pipeline(store).ingest(sources)
    assert report.failures == []
    return url


def _story_of_documents(store) -> dict[str, str]:
    corpus = corpus_path()
    by_doc: dict[str, str] = {}
    articles = list(store.iter_articles(limit=None))
    owners = store.stories_of([a.id for a in articles])
    for article in articles:
        source = Path(article.source.split("#")[0])
        key = source.relative_to(corpus).as_posix() if source.is_relative_to(corpus) else None
        if key not in TRUTH["documents"]:
            key = article.url if article.url in TRUTH["documents"] else article.source
        by_doc[key] = owners[article.id]
    return by_doc


def test_demo_stories_match_the_ground_truth(store_url: str) -> None:
    with open_store(store_url) as store:
        placed = _story_of_documents(store)
    for story in TRUTH["stories"]:
        found = {placed[doc] for doc in story["documents"]}
        assert len(found) == 1, f"{story['id']} split over {len(found)} stories"
    firsts = [placed[s["documents"][0]] for s in TRUTH["stories"]]
    assert len(set(firsts)) == len(TRUTH["stories"]), "two documented stories were merged"


def test_the_two_seeds_share_a_story(store_url: str) -> None:
    if not (SHARED / "seeds").is_dir():
        pytest.skip("seeds not available")
    with open_store(store_url) as store:
        placed = _story_of_documents(store)
        seeds = [v for k, v in placed.items() if "/seeds/" in k]
    assert len(seeds) == 2 and seeds[0] == seeds[1]


def test_cli_lists_and_shows_stories(store_url: str, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", "from newsloom.cli import main; main()", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)

    listed = json.loads(run("stories", "--store", store_url, "--json").stdout)
    assert len(listed) == len(TRUTH["stories"]) + (1 if (SHARED / "seeds").is_dir() else 0)
    assert all(story["size"] >= 2 for story in listed)
    # Piped output is 80 columns wide: every id must still stand whole on a line,
    # ready to be pasted into `show story`.
    lines = run("stories", "--store", store_url).stdout.splitlines()
    for story in listed:
        assert any(story["id"] in line for line in lines), story["id"]
    found = json.loads(
        run("stories", "--search", "Veltrazine", "--store", store_url, "--json").stdout
    )
    assert len(found) == 1 and found[0]["size"] == 5
    shown = json.loads(
        run("show", "story", found[0]["id"][:8], "--store", store_url, "--json").stdout
    )
    assert len(shown["articles"]) == 5
    joined = [a for a in shown["articles"] if not a["why"].get("new_story")]
    assert joined and all(a["why"]["score"] > 0 for a in joined)
    assert run("show", "story", "nope-nope", "--store", store_url).returncode == 1
    since = json.loads(
        run("stories", "--since", "2026-03-18", "--store", store_url, "--json").stdout
    )
    assert since and all(s["updated"] >= "2026-03-18" for s in since)


def test_odd_articles_still_get_a_story_decision(tmp_path: Path) -> None:
    from newsloom.types import Page

    body = "Der Stadtrat von Velmora hat am Dienstag die Sanierung der Hafenbrücke beschlossen. "
    paragraph = "The harbour board met again to discuss the ferry timetable and the budget. "
    pages = [
        Page(
            source="german.txt",
            body=(f"Hafenbrücke wird saniert\n\n{body * 5}").encode(),
            kind="text",
        ),
        Page(
            source="huge.txt",
            body=("Harbour board budget\n\n" + (paragraph * 60 + "\n\n") * 1000).encode(),
            kind="text",
        ),
        Page(
            source="too-big.txt",
            body=("Harbour board budget\n\n" + (paragraph * 60 + "\n\n") * 2300).encode(),
            kind="text",
        ),
        Page(
            source="undated.txt", body=f"Ferry timetable\n\n{paragraph * 3}".encode(), kind="text"
        ),
    ]
    assert len(pages[1].body) > 4_000_000 and len(pages[2].body) > 10_000_000
    with open_store(f"sqlite:///{tmp_path / 'odd.db'}") as store:
        report = Pipeline(store).ingest_pages(pages)
        # Past the extraction limit the reason is given and the rest goes on.
        assert [(f.source, f.error) for f in report.failures] == [
            ("too-big.txt", "ExtractionError")
        ]
        assert "too long" in report.failures[0].reason
        ids = report.article_ids
        assert len(ids) == 3
        assert set(store.stories_of(ids)) == set(ids)
        assert store.articles_without_story() == []
