"""Cross-source fact checks: the extractors, the comparison rules, the demo corpus and the seeds.

Unit tests use invented sentences and pair them by word overlap
(``embedder=False``) so they run without the sentence model; the demo and seed
tests run the real models, as the pipeline does.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from factories import make_article
from newsloom.check import CheckParams, check_pair, check_story
from newsloom.facts import (
    extract_dates,
    extract_places,
    extract_quantities,
    extract_quotes,
    negation_count,
    negation_targets,
    phase_words,
)
from newsloom.types import Passage, Provenance

MONDAY = datetime(2025, 6, 16, 9, 0, tzinfo=UTC)


def _one(sentence: str):
    found = extract_quantities(sentence)
    assert len(found) == 1, found
    return found[0]


# --- extractors ----------------------------------------------------------------


def test_quantity_hedges_become_ranges() -> None:
    about = _one("About 200 sheep were moved off the hill.")
    assert about.unit == "sheep" and (about.low, about.high) == pytest.approx((180, 220))
    more = _one("More than 4,000 tickets were sold.")
    assert more.low == 4000 and more.high == float("inf")
    nearly = _one("Nearly 90 volunteers turned up.")
    assert nearly.low < 90 and nearly.high == 90
    exact = _one("The club has 1,250 members.")
    assert exact.exact and exact.value == 1250 and exact.significant == 3


def test_quantity_units_convert_to_one_base() -> None:
    km = _one("The route adds 8 km to the journey.")
    miles = _one("The route adds 5 miles to the journey.")
    assert km.dimension == miles.dimension == "length"
    assert abs(miles.value - 8046.7) < 1
    assert _one("The storm lasted 36 hours.").value == _one("a storm of one and a half days").value


def test_quantity_durations_words_and_compounds() -> None:
    assert _one("a three-week strike at the port").value == 21 * 86400
    assert _one("They talked for two and a half hours.").value == 2.5 * 3600
    assert _one("The hotline runs for the next 21 days.").value == _one("for three weeks").value


def test_quantity_skips_years_times_dates_and_bare_numbers() -> None:
    text = "In 2019 the bridge shut at 6am on 4 May, when she was 81."
    assert extract_quantities(text) == []


def test_quantity_money_and_percent() -> None:
    pounds = _one("The scheme will cost £3.5 million.")
    assert (pounds.unit, pounds.value) == ("GBP", 3_500_000)
    assert _one("costing 3.5 million pounds").unit == "GBP"
    assert _one("Turnout was 41.2 per cent.").dimension == "percent"


def test_quantity_partitive_and_change_share_the_unit() -> None:
    values = sorted(q.value for q in extract_quantities("Two of the nine pumps failed."))
    assert values == [2, 9]
    values = sorted(
        q.value for q in extract_quantities("Her lead fell from twelve votes to seven.")
    )
    assert values == [7, 12]


def test_dates_resolve_against_publication() -> None:
    (until,) = extract_dates("The road stays shut until Thursday 19 June.", MONDAY)
    assert until.role == "until" and until.day is not None and until.day.isoformat() == "2025-06-19"
    (last,) = extract_dates("The vote, held last Wednesday, was close.", MONDAY)
    assert last.day is not None and last.day.isoformat() == "2025-06-11"
    (plain,) = extract_dates("The fair opens on Saturday.", MONDAY)
    assert plain.day is None and plain.weekday == 5
    (us,) = extract_dates("It will reopen on Friday, June 20, officials said.", MONDAY)
    assert us.day is not None and us.day.weekday() == 4


def test_places_need_a_name_or_a_place_noun() -> None:
    places = [
        p.text for p in extract_places("The hearing was held in the old drill hall on Friday.")
    ]
    assert places == ["the old drill hall"]
    assert extract_places("He will not challenge it in court or in a hurry.") == []
    (cut,) = extract_places("Tests at its Brenford factory found a fault.")
    assert cut.text == "its Brenford factory"


def test_quotes_negation_and_phases() -> None:
    (quote,) = extract_quotes("She said: “We will rebuild the pier by the summer.”")
    assert quote.text == "We will rebuild the pier by the summer."
    assert negation_count("The mayor did not resign and won't.") == 2
    assert negation_targets("There is not much doubt about the plan.") == {"doubt"}
    assert phase_words("After the recount she led.") == {"re"}
    assert phase_words("The first count put her ahead.") == {"first"}
    assert phase_words("It was the second day of the visit.") == frozenset()


# --- comparison rules ------------------------------------------------------------


def _pair(a_text: str, b_text: str, **kwargs: object):
    a = make_article("a", paragraphs=[a_text], published=kwargs.pop("a_published", MONDAY))
    b = make_article("b", paragraphs=[b_text], published=kwargs.pop("b_published", MONDAY))
    kwargs.setdefault("nlp", False)
    return check_pair(a, b, embedder=False, **kwargs)


BASE = "{n} people were evacuated from their homes in Dunmore on Saturday after the river flooded."


def test_number_conflict_keeps_both_sentences() -> None:
    a = BASE.format(n="About 120")
    b = BASE.format(n="Around 160")
    (conflict,) = _pair(a, b)
    assert conflict.kind == "number"
    assert (conflict.a.article_id, conflict.a.sentence) == ("a", a)
    assert (conflict.b.article_id, conflict.b.sentence) == ("b", b)
    assert "120" in conflict.explanation and "160" in conflict.explanation
    assert 0 < conflict.confidence <= 1
    assert conflict.to_dict()["a"]["span"] == [0, len(a)]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Some 1,480", "Nearly 1,500"),  # rounding with hedges
        ("1,480", "1,500"),  # plain rounding
        ("312,000", "More than 300,000"),
        ("Well over a hundred", "130"),
    ],
)
def test_number_rounding_and_hedges_agree(a: str, b: str) -> None:
    assert _pair(BASE.format(n=a), BASE.format(n=b)) == []


def test_rounding_is_not_stretched() -> None:
    (conflict,) = _pair(BASE.format(n="15"), BASE.format(n="20"))
    assert conflict.kind == "number"


def test_unit_conversion_agrees_and_wrong_conversion_does_not() -> None:
    text = "The diversion adds {d} to the trip between Ashby and Coln, the council said."
    assert _pair(text.format(d="8 km"), text.format(d="5 miles")) == []
    (conflict,) = _pair(text.format(d="8 km"), text.format(d="7 miles"))
    assert conflict.kind == "number"


def test_durations_in_other_units_agree() -> None:
    text = "The hotline will stay open for the next {d}, the health board said."
    assert _pair(text.format(d="14 days"), text.format(d="two weeks")) == []
    (conflict,) = _pair(text.format(d="14 days"), text.format(d="three weeks"))
    assert conflict.kind == "duration"


def test_two_occasions_are_not_a_conflict() -> None:
    a = "On Monday the ministers held talks for four hours at the palace."
    b = "On Wednesday the ministers held formal talks for two hours at the palace."
    assert _pair(a, b) == []


def test_first_count_and_recount_are_not_a_conflict() -> None:
    a = "The first count put Ms Ortega on 2,310 votes in the Eastfield ward."
    b = "After the recount, Ms Ortega had 2,306 votes in the Eastfield ward."
    assert _pair(a, b) == []


def test_date_conflict_and_agreeing_relative_date() -> None:
    a = "The shelter at Holm Park School will stay open until Thursday 19 June, the council said."
    b = "The shelter at Holm Park School will stay open until Saturday 21 June, the council said."
    (conflict,) = _pair(a, b)
    assert conflict.kind == "date" and "19" in conflict.explanation
    c = "The count ended on Tuesday 10 June with the mayor re-elected."
    d = "The count ended last Tuesday with the mayor re-elected."
    assert _pair(c, d, b_published=MONDAY) == []


def test_place_conflict_between_rewrites() -> None:
    text = (
        "Election staff checked every ballot paper by hand {p} on Monday, with each bundle "
        "checked twice and watched by agents for both candidates."
    )
    a, b = text.format(p="in the sports hall"), text.format(p="in the chamber of Ruxley Town Hall")
    (conflict,) = _pair(a, b)
    assert conflict.kind == "place"
    assert _pair(a, text.format(p="in the leisure centre's sports hall")) == []


def test_negation_flip() -> None:
    a = "The inspectors said the dam was safe to use after the repairs were finished."
    b = "The inspectors said the dam was not safe to use after the repairs were finished."
    (conflict,) = _pair(a, b)
    assert conflict.kind == "negation"


def test_negation_of_something_the_other_does_not_say_is_not_a_flip() -> None:
    a = "There is not much doubt before the council meeting on the harbour plan for the old quay."
    c = "There is much doubt before the council meeting on the harbour plan for the old quay."
    assert _pair(a, "The council meeting on the harbour plan for the old quay is on Friday.") == []
    assert [x.kind for x in _pair(a, c)] == ["negation"]


def test_unrelated_sentences_are_never_compared() -> None:
    a = "The ferry carried 300 passengers across the bay on Friday."
    b = "The museum will display 40 paintings by local artists next month."
    assert _pair(a, b) == []


# --- names and quotes (spaCy) ------------------------------------------------------


def test_person_spelling_drift_but_not_diacritics() -> None:
    a = "The returning officer, Morag Whitlaw, declared the result at the town hall on Friday."
    b = "The result was declared at the town hall on Friday by returning officer Morag Whitlow."
    c = "The result was declared at the town hall on Friday by returning officer Mórag Whitlaw."
    (conflict,) = _pair(a, b, nlp=None)
    assert conflict.kind == "person" and "Whitlow" in conflict.explanation
    assert _pair(a, c, nlp=None) == []


def test_quote_reworded_by_the_same_speaker() -> None:
    a = (
        "Ines Okafor, the mayor, said: “We are closing the pier as a precaution, "
        "and I am sorry for the trouble this causes.”"
    )
    b = (
        "The mayor, Ines Okafor, said: “We are closing the pier out of an abundance "
        "of caution, and we regret any trouble caused.”"
    )
    other = "Ines Okafor said: “The lifeboat station will open in the spring and save lives.”"
    label = "Ines Okafor called the harbour master “a good friend”."
    (conflict,) = _pair(a, b, nlp=None)
    assert conflict.kind == "quote"
    assert _pair(a, other, nlp=None) == []
    assert _pair(label, "Ines Okafor called the harbour master “a dear friend”.", nlp=None) == []


# --- stories ------------------------------------------------------------------


def test_story_skips_duplicates_and_reports_a_disagreement_once() -> None:
    a = make_article("a", paragraphs=[BASE.format(n="About 120")], published=MONDAY)
    b = make_article("b", paragraphs=[BASE.format(n="Around 160")], published=MONDAY)
    c = make_article("c", paragraphs=[BASE.format(n="About 160")], published=MONDAY)
    found = check_story([a, b, c], story_id="s1", embedder=False, nlp=False)
    assert len(found) == 1 and found[0].story_id == "s1"
    assert found == check_story([a, b, c], story_id="s1", embedder=False, nlp=False)
    dup = Provenance("b", "a", "duplicate", 1.0, True)
    found = check_story([a, b, c], provenance=[dup], embedder=False, nlp=False)
    assert [(x.a.article_id, x.b.article_id) for x in found] == [("a", "c")]


def test_params_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CheckParams().pair_similarity = 0.1  # type: ignore[misc]


# --- demo corpus and seeds (real models) -------------------------------------------


@pytest.fixture(scope="module")
def demo():
    from newsloom.demo import demo_articles, load_ground_truth

    return demo_articles(), load_ground_truth()


@pytest.fixture(scope="module")
def demo_conflicts(demo):
    articles, truth = demo
    provenance = [
        Provenance(
            articles[p["derived"]].id, articles[p["source"]].id, p["relation"], 1.0, p["attributed"]
        )
        for p in truth["provenance"]
    ]
    out = {}
    for story in truth["stories"]:
        docs = [articles[d] for d in story["documents"]]
        out[story["id"]] = check_story(docs, provenance=provenance, story_id=story["id"])
    return out


def _sentences(conflict) -> frozenset[str]:
    return frozenset({conflict.a.sentence, conflict.b.sentence})


def test_demo_every_planted_conflict_found_with_its_kind(demo, demo_conflicts) -> None:
    _, truth = demo
    for planted in truth["conflicts"]:
        want = frozenset({planted["a"]["sentence"], planted["b"]["sentence"]})
        kinds = [c.kind for c in demo_conflicts[planted["story"]] if _sentences(c) == want]
        assert kinds == [planted["kind"]], planted["explanation"]


def test_demo_no_conflict_beyond_the_planted_ones(demo, demo_conflicts) -> None:
    _, truth = demo
    planted = {frozenset({p["a"]["sentence"], p["b"]["sentence"]}) for p in truth["conflicts"]}
    extra = [
        c.to_dict()
        for found in demo_conflicts.values()
        for c in found
        if _sentences(c) not in planted
    ]
    assert extra == []


def test_demo_without_provenance_finds_the_same(demo, demo_conflicts) -> None:
    articles, truth = demo
    for story in truth["stories"][:2]:
        docs = [articles[d] for d in story["documents"]]
        plain = check_story(docs, story_id=story["id"])
        assert [_sentences(c) for c in plain] == [
            _sentences(c) for c in demo_conflicts[story["id"]]
        ]


def test_demo_traps_are_not_flagged(demo) -> None:
    articles, truth = demo
    for trap in truth["non_conflicts"]:
        a, b = articles[trap["a"]["doc"]], articles[trap["b"]["doc"]]
        pair = frozenset({trap["a"]["sentence"], trap["b"]["sentence"]})
        flagged = [c for c in check_pair(a, b) if _sentences(c) == pair]
        assert flagged == [], trap["why"]


def _extract(path):
    from newsloom.extract import extract

    return extract(path.read_bytes())


def test_seeds_visit_length_conflict_but_not_talks_or_friends(seed000, seed004) -> None:
    a, b = _extract(seed000), _extract(seed004)
    found = check_pair(a, b, story_id="seed")
    durations = [c for c in found if c.kind == "duration"]
    assert any("two-day" in c.a.sentence and "three-day" in c.b.sentence for c in durations)
    for c in found:
        hours = [
            q for side in (c.a, c.b) for q in extract_quantities(side.sentence) if "hour" in q.text
        ]
        assert not (c.kind == "duration" and hours), c.explanation
        assert c.kind != "quote", c.explanation
    assert all(c.a.article_id == a.id and c.b.article_id == b.id for c in found)


def test_aligned_passages_pair_sentences_the_words_alone_would_not() -> None:
    a_text = "Officials in Dunmore said about 120 people left their homes overnight as water rose."
    b_text = "Around 160 people left homes in Dunmore, a statement from the county fire team said."
    a = make_article("a", paragraphs=[a_text], published=MONDAY)
    b = make_article("b", paragraphs=[b_text], published=MONDAY)
    assert check_pair(a, b, embedder=False, nlp=False) == []
    passage = Passage(0, len(a_text), 0, len(b_text), a_text, b_text, 0.8, "paraphrase")
    (conflict,) = check_pair(a, b, passages=[passage], embedder=False, nlp=False)
    assert conflict.kind == "number"
