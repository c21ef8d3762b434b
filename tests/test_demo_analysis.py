"""The demo corpus ingested end to end: each story's provenance tree and conflicts.

The ground truth lists every copy, rewrite, summary and quoting page, and every
planted conflict; an ingest must find all of them and no other conflict, and
``newsloom show story --json`` must show them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from newsloom.demo import corpus_path, load_ground_truth
from newsloom.pipeline import Pipeline
from newsloom.store import open_store

TRUTH = load_ground_truth()
CLI = "from newsloom.cli import main; main()"
COPYING = [p for p in TRUTH["provenance"] if p["relation"] != "independent"]


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """The store URL and ground-truth document key → stored article id."""
    url = f"sqlite:///{tmp_path_factory.mktemp('analysis') / 'news.db'}"
    corpus = corpus_path()
    with open_store(url) as store:
        report = Pipeline(store).ingest([str(corpus)])
        assert report.failures == []
        assert report.stories_analysed == len(TRUTH["stories"])
        ids: dict[str, str] = {}
        for article in store.iter_articles(limit=None):
            source = Path(article.source.split("#")[0])
            if source.is_relative_to(corpus):
                ids[source.relative_to(corpus).as_posix()] = article.id
            if article.url:
                ids[article.url] = article.id
        assert store.stories_to_analyse() == []
    return url, {key: ids[key] for key in TRUTH["documents"]}


def _show_story(url: str, article_id: str) -> dict:
    with open_store(url) as store:
        story_id = store.stories_of([article_id])[article_id]
    done = subprocess.run(
        [sys.executable, "-c", CLI, "show", "story", story_id, "--store", url, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _walk(nodes: list[dict], parent: str | None = None):
    for node in nodes:
        yield node, parent
        yield from _walk(node["derived"], node["article_id"])


@pytest.mark.parametrize("story", TRUTH["stories"], ids=lambda s: s["id"])
def test_story_page_shows_who_copied_whom(ingested, story: dict) -> None:
    url, ids = ingested
    shown = _show_story(url, ids[story["documents"][0]])
    assert shown["analysed_at"] is not None
    nodes = {node["article_id"]: (node, parent) for node, parent in _walk(shown["provenance"])}
    # Every article of the story appears exactly once in the tree.
    assert sorted(nodes) == sorted(ids[d] for d in story["documents"])
    expected = {ids[p["derived"]]: p for p in COPYING if p["derived"] in story["documents"]}
    for article_id, (node, parent) in nodes.items():
        if article_id in expected:
            truth = expected[article_id]
            assert node["relation"] == truth["relation"], truth["derived"]
            assert parent == ids[truth["source"]], truth["derived"]
            assert node["attributed"] is truth["attributed"], truth["derived"]
        else:
            assert parent is None, f"{article_id} is not derived from anything in the truth"
            assert node["relation"] in ("original", "independent")


@pytest.mark.parametrize("story", TRUTH["stories"], ids=lambda s: s["id"])
def test_story_page_lists_exactly_the_planted_conflicts(ingested, story: dict) -> None:
    url, ids = ingested
    shown = _show_story(url, ids[story["documents"][0]])
    planted = [c for c in TRUTH["conflicts"] if c["story"] == story["id"]]
    want = {
        _key(
            c["kind"],
            ids[c["a"]["doc"]],
            c["a"]["sentence"],
            ids[c["b"]["doc"]],
            c["b"]["sentence"],
        )
        for c in planted
    }
    got = {
        _key(
            c["kind"],
            c["a"]["article_id"],
            c["a"]["sentence"],
            c["b"]["article_id"],
            c["b"]["sentence"],
        )
        for c in shown["conflicts"]
    }
    assert got == want
    for conflict in shown["conflicts"]:
        assert conflict["explanation"] and 0 < conflict["confidence"] <= 1


def _key(kind: str, a_id: str, a_sentence: str, b_id: str, b_sentence: str) -> tuple:
    """A conflict regardless of which side came first."""
    return kind, frozenset([(a_id, a_sentence), (b_id, b_sentence)])
