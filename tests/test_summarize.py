"""Story summaries: cited spans, copies collapsed, redundancy, key points, timeline."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import numpy as np
import pytest

from factories import make_article
from newsloom.demo import demo_articles, load_ground_truth
from newsloom.summarize import SummaryParams, sentence_when, summarize_article, summarize_story
from newsloom.types import Article, Provenance, StorySummary, SummarySentence

COPY_RELATIONS = {"duplicate", "near_copy", "rewrite"}


@pytest.fixture(scope="module")
def demo() -> tuple[dict[str, Article], dict]:
    return demo_articles(), load_ground_truth()


def _story(demo, story_id: str) -> tuple[list[Article], list[Provenance]]:
    """A demo story's articles and its ground-truth provenance as records."""
    articles, truth = demo
    story = next(s for s in truth["stories"] if s["id"] == story_id)
    members = {key: articles[key] for key in story["documents"]}
    edges = [
        Provenance(
            derived_id=members[e["derived"]].id,
            source_id=members[e["source"]].id,
            relation=e["relation"],
            score=1.0,
            attributed=e["attributed"],
            directed=e["relation"] != "independent",
        )
        for e in truth["provenance"]
        if e["derived"] in members and e["source"] in members
    ]
    return list(members.values()), edges


def _all_sentences(summary: StorySummary) -> list[SummarySentence]:
    out = [*summary.summary, *summary.key_points, *summary.timeline]
    for sentences in summary.articles.values():
        out.extend(sentences)
    return out


def _fold(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


STORIES = ["kestrel-bridge", "saltmarsh-recount", "veltrazine-recall", "pell-flood"]


@pytest.fixture(scope="module")
def summaries(demo) -> dict[str, tuple[list[Article], list[Provenance], StorySummary]]:
    out = {}
    for story_id in STORIES:
        articles, edges = _story(demo, story_id)
        summary = summarize_story(articles, provenance=edges, story_id=story_id, embedder=False)
        out[story_id] = (articles, edges, summary)
    return out


@pytest.mark.parametrize("story_id", STORIES)
def test_every_sentence_is_an_exact_span_of_its_article(summaries, story_id):
    articles, _, summary = summaries[story_id]
    texts = {a.id: a.text for a in articles}
    sentences = _all_sentences(summary)
    assert summary.summary and sentences
    for s in sentences:
        assert s.article_id in texts
        assert texts[s.article_id][s.start : s.end] == s.text


@pytest.mark.parametrize("story_id", STORIES)
def test_summary_is_bounded_and_not_redundant(summaries, story_id):
    _, _, summary = summaries[story_id]
    words = [len(s.text.split()) for s in summary.summary]
    # The budget is reached by the last sentence, never far beyond it.
    assert sum(words[:-1]) < SummaryParams().max_words
    folded = [_fold(s.text) for s in summary.summary]
    assert len(set(folded)) == len(folded)


@pytest.mark.parametrize("story_id", STORIES)
def test_copies_are_never_cited_for_what_they_copied(summaries, story_id):
    articles, edges, summary = summaries[story_id]
    by_id = {a.id: a for a in articles}
    for edge in edges:
        if edge.relation not in COPY_RELATIONS:
            continue
        source_text = _fold(by_id[edge.source_id].text)
        for s in [*summary.summary, *summary.key_points, *summary.timeline]:
            if s.article_id == edge.derived_id:
                # Only what the copy adds may be quoted from it.
                assert _fold(s.text) not in source_text


def test_a_verbatim_duplicate_is_never_cited(summaries):
    _, edges, summary = summaries["kestrel-bridge"]
    duplicates = {e.derived_id for e in edges if e.relation == "duplicate"}
    assert duplicates
    cited = {s.article_id for s in [*summary.summary, *summary.key_points, *summary.timeline]}
    assert not cited & duplicates


@pytest.mark.parametrize("story_id", STORIES)
def test_demo_stories_have_key_points_and_a_dated_timeline(summaries, story_id):
    _, _, summary = summaries[story_id]
    assert 3 <= len(summary.key_points) <= 5
    points = [_fold(s.text) for s in summary.key_points]
    assert len(set(points)) == len(points)
    assert all(len(s.text.split()) <= 80 for s in summary.key_points)
    assert len(summary.timeline) >= 2
    whens = [s.when for s in summary.timeline]
    assert all(w is not None for w in whens)
    assert whens == sorted(whens)
    # One entry per day by default.
    days = [w.date() for w in whens]
    assert len(set(days)) == len(days)


def test_timeline_resolves_the_recount_declaration(summaries):
    _, _, summary = summaries["saltmarsh-recount"]
    days = {s.when.date().isoformat() for s in summary.timeline}
    # The first count (Friday 6 March) and the declaration (Tuesday 10 March).
    assert {"2026-03-06", "2026-03-10"} <= days


def test_every_article_gets_its_own_summary(summaries):
    for articles, _, summary in summaries.values():
        assert set(summary.articles) == {a.id for a in articles}
        for article_id, sentences in summary.articles.items():
            assert 1 <= len(sentences) <= 3
            assert all(s.article_id == article_id for s in sentences)


def test_summary_round_trips_through_dicts(summaries):
    _, _, summary = summaries["pell-flood"]
    assert StorySummary.from_dict(summary.to_dict()) == summary


# --- synthetic stories -------------------------------------------------------------

SOURCE = [
    "The regional water company has banned garden hosepipes across three counties after the "
    "driest spring in forty years.",
    "Reservoir levels fell to 41 percent of capacity last week, the company said.",
    "Farmers in the valley said their wells were already running low.",
]


def _when(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 5, day, hour, tzinfo=UTC)


def test_a_copy_contributes_only_what_it_adds():
    source = make_article("src", title="Hosepipe ban", paragraphs=SOURCE, published=_when(4))
    added = "The copying site added that a second ban could follow in the north if rain stays away."
    copy = make_article(
        "copy", title="Hosepipe ban", paragraphs=[*SOURCE, added], published=_when(5)
    )
    edge = Provenance("copy", "src", "near_copy", 0.95, attributed=False)
    summary = summarize_story(
        [copy, source], provenance=[edge], embedder=False, params=SummaryParams(max_words=200)
    )
    cited = {(s.article_id, s.text) for s in summary.summary}
    assert ("copy", added) in cited
    assert all(article_id == "src" for article_id, text in cited if text != added)
    assert {text for _, text in cited} >= set(SOURCE)


def test_without_provenance_a_repeated_sentence_is_cited_to_the_earliest_report():
    early = make_article("early", paragraphs=SOURCE, published=_when(4))
    late = make_article("late", paragraphs=SOURCE, published=_when(6))
    summary = summarize_story([late, early], embedder=False)
    assert summary.summary
    assert {s.article_id for s in summary.summary} == {"early"}


def test_redundant_sentences_from_independent_reports_are_dropped():
    a = make_article(
        "a",
        paragraphs=[
            "The council approved a new footbridge over the River Wend on Tuesday night.",
            "Work is due to start in June and cost 4 million pounds.",
        ],
        published=_when(4),
    )
    b = make_article(
        "b",
        paragraphs=[
            "The council approved the new footbridge over the River Wend on Tuesday evening.",
            "Residents had campaigned for a crossing since the old ferry stopped in 2019.",
        ],
        published=_when(5),
    )
    summary = summarize_story([a, b], embedder=False, params=SummaryParams(max_words=500))
    bridge = [s for s in summary.summary if "approved" in s.text]
    assert len(bridge) == 1
    # Everything else the two reports say is kept.
    assert len(summary.summary) == 3


class _BagOfWordsEmbedder:
    """A fake embedder: hashed word counts, so no model is loaded."""

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts):
        self.calls += 1
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 64] += 1.0
        return out


def test_a_supplied_embedder_is_used_and_output_is_deterministic(demo):
    articles, edges = _story(demo, "veltrazine-recall")
    fake = _BagOfWordsEmbedder()
    first = summarize_story(articles, provenance=edges, embedder=fake, story_id="v")
    second = summarize_story(
        list(reversed(articles)), provenance=list(reversed(edges)), embedder=fake, story_id="v"
    )
    assert fake.calls == 2
    assert first.to_dict() == second.to_dict()
    assert first.summary


def test_a_new_article_updates_the_summary():
    a = make_article("a", paragraphs=SOURCE, published=_when(4))
    news = (
        "On Friday the company lifted the hosepipe ban after three days of heavy rain refilled "
        "the reservoirs across the three counties."
    )
    b = make_article("b", title="Hosepipe ban lifted", paragraphs=[news], published=_when(9))
    before = summarize_story([a], embedder=False)
    after = summarize_story([a, b], embedder=False)
    assert "b" not in {s.article_id for s in before.timeline}
    assert any(s.article_id == "b" for s in after.summary + after.timeline)


def test_empty_and_tiny_stories():
    assert summarize_story([], embedder=False).summary == []
    tiny = make_article("t", title=None, paragraphs=["Rain."])
    summary = summarize_story([tiny], embedder=False)
    assert summary.summary == []
    assert [s.text for s in summary.articles["t"]] == ["Rain."]


def test_timeline_falls_back_to_publication_dates():
    a = make_article(
        "a",
        paragraphs=["The museum reopened its east wing to visitors after a long restoration."],
        published=_when(4, 10),
    )
    b = make_article(
        "b",
        paragraphs=["Visitors queued around the block to see the restored painted ceiling."],
        published=_when(5, 8),
    )
    timeline = summarize_story([b, a], embedder=False).timeline
    assert [(s.article_id, s.when) for s in timeline] == [("a", _when(4, 10)), ("b", _when(5, 8))]


# --- single-article summaries --------------------------------------------------------


def test_single_article_summary_is_short_in_order_and_exact(demo):
    articles, _ = demo
    for article in articles.values():
        sentences = summarize_article(article)
        assert 1 <= len(sentences) <= 3
        starts = [s.start for s in sentences]
        assert starts == sorted(starts)
        for s in sentences:
            assert s.article_id == article.id
            assert article.text[s.start : s.end] == s.text
    one = next(iter(articles.values()))
    assert len(summarize_article(one, max_sentences=1)) == 1
    assert summarize_article(one, max_sentences=0) == []


def test_single_article_summary_skips_headings_and_the_repeated_title():
    article = make_article(
        "x",
        title="Library to open on Sundays",
        paragraphs=[
            "Library to open on Sundays",
            "LATEST NEWS",
            "The central library will open on Sundays from next month, the council said.",
            "Opening hours will be 10am to 4pm.",
        ],
    )
    texts = [s.text for s in summarize_article(article)]
    assert texts[0].startswith("The central library")
    assert "LATEST NEWS" not in texts and "Library to open on Sundays" not in texts


# --- dates in sentences ---------------------------------------------------------------

PUBLISHED = datetime(2026, 3, 11, 7, 0, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("The result was declared at 4.40pm on Tuesday 10 March.", datetime(2026, 3, 10, 16, 40)),
        ("The first count ended last Friday.", datetime(2026, 3, 6)),
        ("The council said the bridge will reopen on Monday.", datetime(2026, 3, 16)),
        ("Pryor asked for a recount on Monday.", datetime(2026, 3, 9)),
        ("A drop-in session is planned for Friday.", datetime(2026, 3, 13)),
        ("Counting resumed yesterday at 9am.", datetime(2026, 3, 10, 9, 0)),
        ("The rest centre stays open until Friday, March 27.", datetime(2026, 3, 27)),
    ],
)
def test_sentence_when(sentence, expected):
    assert sentence_when(sentence, PUBLISHED) == expected.replace(tzinfo=UTC)


def test_sentence_without_a_day_or_a_publication_date():
    assert sentence_when("Officials gave no further details.", PUBLISHED) is None
    assert sentence_when("It happened on Monday.", None) is None
    assert sentence_when("It happened on 3 March 2025.", None) == datetime(2025, 3, 3, tzinfo=UTC)


def test_an_aggregator_summary_of_a_source_in_the_story_is_never_cited() -> None:
    from newsloom.trace import trace_story

    truth = load_ground_truth()
    docs = demo_articles()
    story = next(s for s in truth["stories"] if s["id"] == "kestrel-bridge")
    articles = [docs[key] for key in story["documents"]]
    summaries = [
        docs[p["derived"]].id
        for p in truth["provenance"]
        if p["relation"] in ("summary", "duplicate") and p["derived"] in story["documents"]
    ]
    result = summarize_story(articles, provenance=trace_story(articles), embedder=False)
    cited = {s.article_id for s in [*result.summary, *result.key_points, *result.timeline]}
    assert summaries and not cited & set(summaries)
