"""Provenance: who copied, rewrote, summarised or quoted whom, and who gave credit."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from factories import make_article
from newsloom import trace as trace_mod
from newsloom.extract import extract
from newsloom.trace import TraceParams, align, names_source, trace_pair, trace_story
from newsloom.trace_align import is_furniture
from newsloom.types import Article, Citation

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# An invented report, long enough to be a story of its own.
REPORT = [
    "The Tollbridge water works will shut its eastern filter hall on Monday after engineers "
    "found cracks in two of the concrete settling tanks.",
    "About 18,000 homes in the Fenmoor district will be supplied from the western reservoir "
    "while the repairs go on, the utility said in a statement.",
    "Engineers expect the work to take at least six weeks and to cost around 3.1 million pounds.",
    "The cracks were spotted during a routine inspection carried out by an outside contractor "
    "last Thursday afternoon.",
    "Residents may notice lower water pressure in the early morning and should report any "
    "discoloured water to the helpline.",
    "“We would rather close the hall now than risk a failure in the middle of summer,” said "
    "Maren Oduya, the utility's head of operations.",
    "The filter hall was built in 1974 and was last refurbished twelve years ago.",
    "A public meeting about the closure will be held at the Fenmoor library on Wednesday evening.",
    "Local councillors have asked the utility to publish the inspection report in full.",
]

# Another outlet's own report of the same event: same facts, its own words.
OTHER_REPORT = [
    "Water customers across Fenmoor face weeks of disruption as part of the Tollbridge plant "
    "closes for repairs.",
    "A spokesman for the water company confirmed that damage had been discovered in the "
    "settling tanks during a check by contractors.",
    "Shopkeepers on Fenmoor Parade told us they were worried about the effect on cafes and "
    "hairdressers if pressure drops during the day.",
    "The company has promised to keep the helpline open every day until the plant reopens.",
    "Councillor Ysolde Rane said the community deserved a clear timetable and regular updates.",
]


def outlet(article_id: str, name: str, domain: str, paragraphs: list[str], **changes) -> Article:
    return make_article(
        article_id,
        paragraphs=paragraphs,
        site_name=name,
        url=f"https://{domain}/news/{article_id}",
        **changes,
    )


@pytest.fixture
def source() -> Article:
    return outlet("src", "Fenmoor Gazette", "fenmoorgazette.example", REPORT, published=T0)


# --- alignment ------------------------------------------------------------------


def test_aligned_spans_are_exact_slices_of_each_text(source: Article) -> None:
    copy = outlet(
        "copy",
        "Copy Hub",
        "copyhub.example",
        ["Home | News | Weather", " ".join(REPORT[:3]), *REPORT[3:]],
    )
    passages = align(copy, source, embedder=False)
    assert len(passages) == len(REPORT)
    for p in passages:
        assert copy.text[p.a_start : p.a_end] == p.a_text
        assert source.text[p.b_start : p.b_end] == p.b_text
        assert p.kind == "verbatim"


def test_unrelated_articles_share_no_passages(source: Article) -> None:
    other = outlet("other", "Fenmoor Post", "fenmoorpost.example", OTHER_REPORT)
    assert align(other, source, embedder=False) == []


# --- relations ------------------------------------------------------------------


def test_verbatim_copy_published_later_is_a_duplicate(source: Article) -> None:
    copy = outlet(
        "copy", "Copy Hub", "copyhub.example", list(REPORT), published=T0 + timedelta(hours=5)
    )
    result = trace_pair(source, copy, embedder=False)  # argument order must not matter
    assert (result.derived_id, result.source_id, result.relation) == ("copy", "src", "duplicate")
    assert result.directed and not result.attributed
    assert result.evidence["coverage_source"] == 1.0


def test_shuffled_copy_is_a_near_copy(source: Article) -> None:
    shuffled = [REPORT[k] for k in (4, 0, 7, 2, 8, 1, 6, 3, 5)]
    copy = outlet("copy", "Copy Hub", "copyhub.example", shuffled, published=T0 + timedelta(days=1))
    assert trace_pair(copy, source, embedder=False).relation == "near_copy"


def spin(sentence: str) -> str:
    swaps = {
        "will shut": "is set to close",
        "found": "uncovered",
        "homes": "households",
        "said": "stated",
        "expect": "anticipate",
        "at least": "no less than",
        "spotted": "detected",
        "routine": "regular",
        "may notice": "could experience",
        "report": "flag",
        "built": "constructed",
        "held": "staged",
        "asked": "urged",
        "publish": "release",
    }
    for old, new in swaps.items():
        sentence = sentence.replace(old, new)
    return sentence


def test_spun_rewrite_without_credit(source: Article) -> None:
    spun = outlet("spun", "Buzz Daily", "buzzdaily.example", [spin(s) for s in REPORT])
    result = trace_pair(spun, source, embedder=False)
    assert result.relation == "rewrite"
    assert result.derived_id == "spun"  # undated against a dated original
    assert result.attributed is False


def test_extractive_summary_with_credit(source: Article) -> None:
    summary = outlet(
        "brief",
        "Briefly",
        "briefly.example",
        [
            " ".join([REPORT[0], REPORT[2], REPORT[7]]),
            "Summary by Briefly. Source: Fenmoor Gazette.",
        ],
        published=T0,
        citations=[Citation(kind="summary_by", name="Briefly", text="Summary by Briefly")],
    )
    result = trace_pair(source, summary, embedder=False)
    assert (result.derived_id, result.relation, result.attributed) == ("brief", "summary", True)


def test_credited_quotations_are_quotes(source: Article) -> None:
    quoting = outlet(
        "quoting",
        "Fenmoor Post",
        "fenmoorpost.example",
        [
            *OTHER_REPORT[:3],
            "Maren Oduya told the Fenmoor Gazette: “We would rather close the hall now than "
            "risk a failure in the middle of summer.”",
            *OTHER_REPORT[3:],
        ],
        published=T0 + timedelta(hours=3),
    )
    result = trace_pair(quoting, source, embedder=False)
    assert (result.derived_id, result.relation, result.attributed) == ("quoting", "quotes", True)
    assert [p.kind for p in result.spans] == ["quote"]


def test_independent_reports_have_no_direction(source: Article) -> None:
    other = outlet("other", "Fenmoor Post", "fenmoorpost.example", OTHER_REPORT, published=T0)
    result = trace_pair(other, source, embedder=False)
    assert result.relation == "independent"
    assert result.directed is False and result.attributed is False


# --- direction and attribution ----------------------------------------------------


def test_credit_decides_direction_over_an_earlier_date(source: Article) -> None:
    # The republisher's clock says earlier, but it names the Gazette.
    copy = outlet(
        "copy",
        "Copy Hub",
        "copyhub.example",
        [*REPORT, "This article first appeared in the Fenmoor Gazette."],
        published=T0 - timedelta(hours=3),
    )
    result = trace_pair(source, copy, embedder=False)
    assert (result.derived_id, result.attributed) == ("copy", True)


def test_copied_self_reference_is_not_credit(source: Article) -> None:
    original = outlet(
        "src",
        "Fenmoor Gazette",
        "fenmoorgazette.example",
        [*REPORT, "The inspection report, seen by the Gazette, lists both tanks."],
    )
    copy = outlet("copy", "Copy Hub", "copyhub.example", list(original.paragraphs))
    assert names_source(copy, original) is False
    told = outlet("told", "Copy Hub", "copyhub.example", ["Engineers told the Gazette so."])
    assert names_source(told, original) is True


def test_credit_by_domain_url_byline_or_reference(source: Article) -> None:
    by_domain = outlet("a", "X", "x.example", ["Read the full story at fenmoorgazette.example."])
    by_url = outlet("b", "X", "x.example", [f"Source: {source.url}"])
    by_reference = outlet(
        "c",
        "X",
        "x.example",
        ["Text."],
        citations=[Citation(kind="reference", publisher="Fenmoor Gazette", text="...")],
    )
    byline_source = outlet(
        "s", "Fenmoor Gazette", "fenmoorgazette.example", REPORT, authors=["Ada Lusk"]
    )
    by_byline = outlet("d", "X", "x.example", REPORT, authors=["Ada Lusk"])
    for derived in (by_domain, by_url, by_reference):
        assert names_source(derived, source), derived.id
    assert names_source(by_byline, byline_source)
    assert not names_source(by_domain, outlet("o", "Other Times", "othertimes.example", REPORT))


# --- stories ------------------------------------------------------------------------


class CountingEmbedder:
    """A stand-in for the model: counts what it is asked to embed."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed(self, texts):
        import numpy as np

        self.texts.extend(texts)
        out = np.zeros((len(texts), 4), dtype=np.float32)
        out[:, 0] = 1.0
        return out


def test_story_tree_has_one_parent_per_copy_and_no_edge_for_independents(
    source: Article,
) -> None:
    later = [T0 + timedelta(hours=h) for h in (1, 2, 3)]
    copy1 = outlet("c1", "Copy One", "one.example", list(REPORT), published=later[0])
    copy2 = outlet("c2", "Copy Two", "two.example", list(REPORT), published=later[1])
    spun = outlet("spun", "Buzz", "buzz.example", [spin(s) for s in REPORT], published=later[2])
    other = outlet("other", "Fenmoor Post", "fenmoorpost.example", OTHER_REPORT, published=T0)
    embedder = CountingEmbedder()
    edges = trace_story([spun, copy2, other, source, copy1], embedder=embedder)
    parents = {e.derived_id: e.source_id for e in edges}
    assert set(parents) == {"c1", "c2", "spun"}
    assert parents["c1"] == "src"
    assert "src" not in parents and "other" not in parents
    # No cycles: following parents from any article ends at a root.
    for start in parents:
        seen, node = set(), start
        while node in parents:
            assert node not in seen
            seen.add(node)
            node = parents[node]
    # The model only sees candidate sentences, never the unrelated report.
    assert not set(embedder.texts) & set(OTHER_REPORT)


def test_story_of_unrelated_articles_never_calls_the_model() -> None:
    embedder = CountingEmbedder()
    articles = [
        make_article(f"a{k}", paragraphs=[f"Item {k} is about subject{k} and nothing else at all."])
        for k in range(40)
    ]
    assert trace_story(articles, embedder=embedder) == []
    assert embedder.texts == []


def test_params_are_frozen_and_tunable(source: Article) -> None:
    strict = TraceParams(copy_source_coverage=1.01)
    partial = outlet("p", "X", "x.example", REPORT[:7], published=T0 + timedelta(hours=2))
    assert trace_pair(partial, source, embedder=False).relation == "near_copy"
    assert trace_pair(partial, source, embedder=False, params=strict).relation == "summary"
    with pytest.raises(AttributeError):
        strict.copy_source_coverage = 0.5  # type: ignore[misc]


# --- direction when the dates cannot tell (same day, no time) -------------------------

DAY = datetime(2026, 3, 2, tzinfo=UTC)  # a date without a time of day


def both_ways(a: Article, b: Article) -> list:
    return [trace_pair(a, b, embedder=False), trace_pair(b, a, embedder=False)]


def test_same_day_spin_is_told_by_its_rarer_words() -> None:
    # Ids sort the wrong way round, so the arbitrary fallback would pick the source.
    source = outlet("z-src", "Fenmoor Gazette", "fenmoorgazette.example", REPORT, published=DAY)
    spun = outlet("a-spun", "Buzz Daily", "buzzdaily.example", [spin(s) for s in REPORT])
    spun = replace(spun, published=DAY)
    for result in both_ways(source, spun):
        assert result.derived_id == "a-spun"
        assert result.evidence["direction"] == ["puts rarer words in place of plain ones"]


def test_rarer_words_measures_the_swapped_words_only() -> None:
    plain = "The mayor said the bridge will open next week after months of delay."
    odd = "The mayor stated the bridge will open next week following months of delay."
    a = make_article("a", paragraphs=[odd, REPORT[0]])
    b = make_article("b", paragraphs=[plain, REPORT[0]])
    passages = align(a, b, embedder=False)
    assert trace_mod._replaced_words(passages) == (["stated", "following"], ["said", "after"])
    assert trace_mod._rarer_words(passages) > 0.5  # a put in the rarer words
    assert trace_mod._rarer_words(align(b, a, embedder=False)) < -0.5
    # Names and numbers are facts, not wording: a changed name is no clue.
    renamed = make_article("c", paragraphs=[plain.replace("mayor", "Mayor Quell"), REPORT[0]])
    assert trace_mod._replaced_words(align(renamed, b, embedder=False)) == ([], [])


def test_surname_before_full_name_is_a_first_mention_fault() -> None:
    told = [
        "Maren Oduya said the hall would close.",
        "Oduya added that repairs would start soon.",
    ]
    assert trace_mod._early_surnames(told) == 0
    assert trace_mod._early_surnames(told[::-1]) == 1
    # Sentence openers are not first names: "In Fenmoor" names no one.
    assert trace_mod._early_surnames(["Fenmoor is wet.", "In Fenmoor it rains."]) == 0


def test_same_day_shuffle_is_told_by_its_reading_order() -> None:
    story = [
        "Maren Oduya, who runs the Tollbridge water works, will close its eastern filter hall "
        "on Monday for repairs.",
        "Engineers found cracks in two concrete settling tanks inside the filter hall last week.",
        "The cracked tanks were spotted by an outside contractor during a routine inspection.",
        "The contractor's inspection report will be published in full next month.",
        "Oduya said households in Fenmoor would get water from the western reservoir instead.",
        "The western reservoir can supply Fenmoor households for about six weeks.",
    ]
    source = outlet("z-src", "Fenmoor Gazette", "fenmoorgazette.example", story, published=DAY)
    order = (4, 2, 0, 5, 3, 1)
    copy = outlet("a-copy", "Copy Hub", "copyhub.example", [story[k] for k in order])
    copy = replace(copy, published=DAY)
    for result in both_ways(source, copy):
        assert result.derived_id == "a-copy"
        assert result.evidence["direction"] == ["its sentence order reads worse"]
    # Same order on both sides: no order clue at all.
    same = align(outlet("c", "C", "c.example", story), source, embedder=False)
    assert trace_mod._reading_order(same) == 0


def test_site_furniture_is_no_material_and_no_evidence_means_undecided() -> None:
    furniture = [
        "Home | World | Politics | Business",
        "Share this article: Facebook Twitter WhatsApp Email",
        "Sign up for our morning newsletter and get the top stories in your inbox.",
        "© 2026 Copy Hub. All rights reserved.",
    ]
    assert all(is_furniture(line) for line in furniture)
    assert not any(is_furniture(line) for line in REPORT)
    source = outlet("src", "Fenmoor Gazette", "fenmoorgazette.example", REPORT, published=DAY)
    chrome = outlet("copy", "Copy Hub", "copyhub.example", [furniture[0], *REPORT, *furniture[1:]])
    verbatim = outlet("copy2", "Copy Hub", "copyhub.example", list(REPORT))
    for copy in (chrome, verbatim):
        for result in both_ways(source, replace(copy, published=DAY)):
            # Nothing tells which came first: say so rather than invent a reason.
            assert result.evidence["direction"] == ["undecided (no evidence of direction)"]
            assert result.relation == "duplicate"


# --- the demo corpus and the seeds (real model) ---------------------------------------


@pytest.fixture(scope="module")
def demo():
    from newsloom.demo import demo_articles, load_ground_truth

    return demo_articles(), load_ground_truth()


def test_demo_relations_directions_and_credit_match_ground_truth(demo) -> None:
    articles, truth = demo
    for item in truth["provenance"]:
        derived, source = articles[item["derived"]], articles[item["source"]]
        result = trace_pair(source, derived)
        label = f"{item['derived']} -> {item['source']}"
        assert result.relation == item["relation"], label
        assert result.attributed == item["attributed"], label
        if item["relation"] != "independent":
            assert (result.derived_id, result.source_id) == (derived.id, source.id), label


def test_demo_story_trees_are_the_ground_truth_edges(demo) -> None:
    articles, truth = demo
    expected = {
        (articles[i["derived"]].id, articles[i["source"]].id, i["relation"])
        for i in truth["provenance"]
        if i["relation"] != "independent"
    }
    found = set()
    for story in truth["stories"]:
        edges = trace_story([articles[key] for key in story["documents"]])
        found |= {(e.derived_id, e.source_id, e.relation) for e in edges}
    assert found == expected


def test_seed_000_names_no_source(seed000) -> None:
    page = extract(seed000.read_bytes())
    guardian = outlet("g", "The Guardian", "theguardian.com", ["Text."])
    post = outlet("w", "The Washington Post", "washingtonpost.com", ["Text."])
    assert not names_source(page, guardian)
    assert not names_source(page, post)


def test_seed_004_credits_the_washington_post(seed004) -> None:
    page = extract(seed004.read_bytes())
    by_name = outlet("w", "The Washington Post", "example.org", ["Text."])
    by_domain = make_article("w2", url="https://www.washingtonpost.com/world/2023/03/21/x/")
    assert names_source(page, by_name)
    assert names_source(page, by_domain)
    assert not names_source(page, outlet("g", "The Guardian", "theguardian.com", ["Text."]))
    # The live-blog text it carries, as the Post's own page a few hours earlier:
    # the aggregator page is the derived one and credits it.
    body = page.paragraphs[len(page.paragraphs) // 2 :]
    original = outlet(
        "wapo",
        "The Washington Post",
        "washingtonpost.com",
        body,
        published=datetime(2023, 3, 21, 6, 0, tzinfo=UTC),
    )
    result = trace_pair(original, page)
    assert result.directed and result.derived_id == page.id and result.attributed
