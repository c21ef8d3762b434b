"""The story analysis step: what it reads of each article and how it shows the result."""

from __future__ import annotations

from datetime import UTC, datetime

from factories import make_article
from newsloom.analyse import analyse_story, bounded, pick_articles, provenance_tree
from newsloom.types import Provenance


def _edge(derived: str, source: str, relation: str = "near_copy") -> Provenance:
    return Provenance(derived, source, relation, 0.9, relation != "rewrite", [], True, {})


def test_a_long_article_is_cut_to_whole_paragraphs_keeping_its_start() -> None:
    paragraphs = [f"Paragraph {i} says the ferry runs late again." for i in range(1000)]
    article = make_article(paragraphs=paragraphs)
    cut = bounded(article, 500)
    assert len(cut.text) <= 500
    assert article.text.startswith(cut.text)
    assert cut.paragraphs == paragraphs[: len(cut.paragraphs)]
    assert bounded(article, 10**9) is article
    giant = make_article(paragraphs=["word " * 100_000])
    assert len(bounded(giant, 1000).text) == 1000


def test_a_capped_story_keeps_its_earliest_articles() -> None:
    day = lambda d: datetime(2026, 3, d, tzinfo=UTC)  # noqa: E731
    articles = [
        make_article("late", published=day(9)),
        make_article("undated"),
        make_article("first", published=day(1)),
        make_article("second", published=day(2)),
    ]
    assert [a.id for a in pick_articles(articles, 3)] == ["first", "second", "late"]
    assert [a.id for a in pick_articles(articles, 10)][-1] == "undated"


def test_a_story_of_one_article_has_nothing_to_compare() -> None:
    result = analyse_story([make_article()], embedder=False)
    assert result.provenance == [] and result.conflicts == [] and result.analysed == 1


def test_tree_puts_originals_at_the_root_and_copies_below() -> None:
    edges = [
        _edge("copy", "orig", "duplicate"),
        _edge("spun", "orig", "rewrite"),
        _edge("copy-of-copy", "copy"),
        _edge("other", "orig", "independent"),
    ]
    edges[-1].directed = False
    tree = provenance_tree(["orig", "copy", "spun", "copy-of-copy", "other", "alone"], edges)
    assert [n["article_id"] for n in tree] == ["orig", "other", "alone"]
    orig = tree[0]
    assert orig["relation"] == "original" and orig["source_id"] is None
    assert [(n["article_id"], n["relation"]) for n in orig["derived"]] == [
        ("copy", "duplicate"),
        ("spun", "rewrite"),
    ]
    assert orig["derived"][1]["attributed"] is False
    assert orig["derived"][0]["derived"][0]["article_id"] == "copy-of-copy"
    assert tree[1]["relation"] == "independent"


def test_a_cycle_never_loses_an_article() -> None:
    tree = provenance_tree(["a", "b"], [_edge("a", "b"), _edge("b", "a")])

    def ids(nodes):
        for node in nodes:
            yield node["article_id"]
            yield from ids(node["derived"])

    assert sorted(ids(tree)) == ["a", "b"]
