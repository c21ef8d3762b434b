"""Exact and near-duplicate detection: fingerprints, LSH in the store, groups."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from factories import make_article
from newsloom.dedup import (
    DedupConfig,
    Deduplicator,
    Fingerprinter,
    exact_hash,
    normalize,
    signature_similarity,
)
from newsloom.store import open_store
from newsloom.store.base import Store
from newsloom.types import Article

STORY = [
    "The city council voted on Tuesday to fund a new bridge over the River Tesk, "
    "ending a debate that had lasted for more than three years.",
    "Construction of the bridge should start next spring and take about eighteen months, "
    "according to the council's transport officer, Mira Castellane.",
    "The old crossing, built in 1931, was closed in March after engineers found corroded "
    "bearings during a routine inspection of the structure.",
    "Local businesses on both banks have complained that the closure cut their trade by "
    "almost a third, and several shops on Quay Street have shut.",
    "The council said the new bridge would carry two lanes of traffic, a cycle path and a "
    "wider footway, and would be built to last a hundred years.",
    "Opposition members said the cost, estimated at 42 million pounds, was too high and "
    "asked for the plan to be reviewed by an independent panel.",
]

# Same topic, same names and places, written independently.
OTHER_REPORT = [
    "Councillors in the Tesk valley have backed plans for a replacement crossing after "
    "years of arguments over money and design.",
    "Mira Castellane, who leads on transport, told reporters the bridge was the most "
    "important project the authority had taken on in a generation.",
    "Traders on Quay Street welcomed the vote but warned that many of them could not "
    "survive another two years of reduced footfall.",
    "The 1931 bridge will be demolished once the replacement opens, with some of its "
    "stonework kept for a memorial on the river bank.",
    "Critics of the scheme pointed to the budget of 42 million pounds and questioned "
    "whether the council had considered cheaper repairs.",
]


def article(article_id: str, paragraphs: list[str]) -> Article:
    return make_article(
        article_id,
        title="Council backs new bridge",
        paragraphs=paragraphs,
        url=f"https://news.example/{article_id}",
        site_name="Example",
    )


def ingest(store: Store, *articles: Article) -> list:
    dedup = Deduplicator(store)
    with store.transaction():
        store.put_articles(list(articles))
        return dedup.add(articles).infos


@pytest.fixture
def store(tmp_path: Path):
    with open_store(f"sqlite:///{tmp_path / 'news.db'}") as opened:
        yield opened


def test_normalisation_ignores_typography_and_case() -> None:
    a = 'He said "it is over" -- the end.'
    b = "HE  SAID “it is over” — the END"
    assert normalize(a) == normalize(b) == "he said it is over the end"
    assert exact_hash(normalize(a)) == exact_hash(normalize(b))
    assert len(exact_hash("x")) == 32


def test_exact_copy_with_other_quotes_and_spacing_is_found(store: Store) -> None:
    copy = [p.replace(",", " ,").replace("'", "’").upper() for p in STORY]
    first, second = ingest(store, article("orig01", STORY), article("copy01", copy))
    assert first.match == "none" and first.group_id == "orig01"
    assert second.match == "exact"
    assert (second.group_id, second.closest_id, second.similarity) == ("orig01", "orig01", 1.0)
    # The earlier article learns about its copy too.
    assert store.duplicates_of("orig01").closest_id == "copy01"
    assert store.duplicate_group("orig01") == ["orig01", "copy01"]


def test_near_copy_with_chrome_is_found(store: Store) -> None:
    chrome = [
        "Home | News | Politics | Sport",
        "By Valley Herald staff",
        *STORY,
        "Read more: Flood barrier delayed again (Valley Herald)",
        "© 2024 Valley Herald. All rights reserved.",
    ]
    ingest(store, article("orig02", STORY))
    (info,) = ingest(store, article("chrome2", chrome))
    assert info.match == "near"
    assert info.closest_id == "orig02" and info.group_id == "orig02"
    assert 0.5 <= info.similarity < 1.0


def test_same_topic_different_article_is_not_flagged(store: Store) -> None:
    ingest(store, article("orig03", STORY))
    (info,) = ingest(store, article("other3", OTHER_REPORT))
    assert info.match == "none" and info.closest_id is None
    assert info.group_id == "other3"
    assert store.duplicates_of("orig03").closest_id is None


def test_copies_inside_one_batch_find_each_other(store: Store) -> None:
    infos = ingest(store, article("orig04", STORY), article("copy04", [*STORY, "Advertisement"]))
    assert infos[1].match == "near" and infos[1].group_id == "orig04"


def test_restart_finds_candidates_through_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'restart.db'}"
    with open_store(url) as first:
        ingest(first, article("orig05", STORY))
    with open_store(url) as reopened:
        # A fresh process: the candidates come from the stored band index.
        fp = Fingerprinter().fingerprint("probe", "\n\n".join(STORY[:-1]))
        candidates = reopened.lsh_candidates(fp.band_keys)
        assert [c.article_id for c in candidates] == ["orig05"]
        (info,) = ingest(reopened, article("copy05", STORY[:-1]))
        assert info.match == "near" and info.closest_id == "orig05"


def test_updated_article_replaces_its_fingerprint(store: Store) -> None:
    ingest(store, article("orig06", STORY), article("copy06", STORY))
    assert store.duplicates_of("copy06").match == "exact"
    old_keys = Fingerprinter().fingerprint("x", "\n\n".join(STORY)).band_keys
    # The copy is rewritten into a different article: it leaves the group.
    (info,) = ingest(store, article("copy06", OTHER_REPORT))
    assert info.match == "none" and info.group_id == "copy06"
    assert store.duplicate_group("orig06") == ["orig06"]
    assert [c.article_id for c in store.lsh_candidates(old_keys)] == ["orig06"]


def test_group_is_renamed_when_its_first_member_changes(store: Store) -> None:
    ingest(store, article("orig07", STORY), article("copy07", STORY), article("copy07b", STORY))
    ingest(store, article("orig07", OTHER_REPORT))
    assert store.duplicate_group("copy07") == ["copy07", "copy07b"]
    assert store.duplicates_of("copy07b").group_id == "copy07"


def test_groups_merge_under_the_earliest_member(store: Store) -> None:
    # Two overlapping excerpts that are not near copies of each other, then
    # the whole text, which is a near copy of both: it bridges the groups.
    whole = [*STORY, *OTHER_REPORT]
    ingest(store, article("first8", whole[:7]), article("second8", whole[4:]))
    assert store.duplicates_of("second8").group_id == "second8"
    (bridge,) = ingest(store, article("bridge8", whole))
    assert bridge.match == "near" and bridge.group_id == "first8"
    assert store.duplicates_of("second8").group_id == "first8"
    assert store.duplicate_group("first8") == ["first8", "second8", "bridge8"]


def test_empty_and_short_texts_get_a_reason(store: Store) -> None:
    empty, short = ingest(store, article("empty9", []), article("short9", ["Three word text."]))
    assert empty.reason == "no text to fingerprint" and empty.exact_hash is None
    assert "too short" in short.reason and short.exact_hash is not None
    # Two empty articles are not exact copies of each other.
    (again,) = ingest(store, article("empty9b", ["  ", "—"]))
    assert again.match == "none" and again.group_id == "empty9b"
    # Short texts still match exactly.
    (twin,) = ingest(store, article("short9b", ["three WORD text"]))
    assert twin.match == "exact" and twin.closest_id == "short9"


def test_huge_text_is_bounded() -> None:
    config = DedupConfig(max_words=2_000)
    huge = " ".join(f"word{i % 5000}" for i in range(2_000_000))  # about 18 MB
    fingerprinter = Fingerprinter(config)
    fp = fingerprinter.fingerprint("huge", huge)
    assert fp.words == 2_000
    assert len(fingerprinter.shingles(normalize(huge))) == 2_000 - config.shingle_words + 1
    # The exact hash still covers the whole text.
    assert fp.exact_hash != fingerprinter.fingerprint("cut", huge[: len(huge) // 2]).exact_hash


def test_fingerprints_are_deterministic() -> None:
    text = "\n\n".join(STORY)
    a = Fingerprinter().fingerprint("a", text)
    b = Fingerprinter().fingerprint("a", text)
    assert a == b
    assert signature_similarity(a.signature, b.signature) == 1.0
    assert len(a.band_keys) == DedupConfig().bands


def test_config_checks_banding() -> None:
    with pytest.raises(ValueError, match="bands"):
        DedupConfig(bands=10, rows=4)


def test_catch_up_fingerprints_articles_stored_without_dedup(store: Store) -> None:
    store.put_articles([article("orig10", STORY), article("copy10", [*STORY, "Advertisement"])])
    assert store.articles_without_fingerprints() == ["orig10", "copy10"]
    result = Deduplicator(store).catch_up()
    assert result.near == 1
    assert store.articles_without_fingerprints() == []
    # An update that skipped dedup is found again.
    store.put_articles([replace(article("copy10", OTHER_REPORT))])
    assert store.articles_without_fingerprints() == ["copy10"]


def test_failed_batch_rolls_back_articles_and_fingerprints(store: Store) -> None:
    dedup = Deduplicator(store)
    with pytest.raises(RuntimeError), store.transaction():
        store.put_articles([article("gone11", STORY)])
        dedup.add([article("gone11", STORY)])
        raise RuntimeError("crash before commit")
    assert store.get_article("gone11") is None
    assert store.duplicates_of("gone11") is None
    assert store.exact_matches(exact_hash(normalize("\n\n".join(STORY)))) == []


def test_pipeline_hook_counts_duplicates(store: Store) -> None:
    from newsloom.pipeline import IngestReport, Pipeline

    pipeline = Pipeline(store)
    store.put_articles([article("old12", STORY)])  # stored before dedup ran
    report = IngestReport(run_id="t")
    pipeline.dedup_catch_up(report)
    batch = [
        article("exact12", STORY),
        article("near12", [*STORY, "Advertisement"]),
        article("empty12", []),
    ]
    with store.transaction():
        results = store.put_articles(batch)
        pipeline.dedup_batch(batch, results, report)
    assert (report.exact_duplicates, report.near_duplicates, report.unfingerprinted) == (1, 1, 1)
    assert report.to_dict()["near_duplicates"] == 1
    assert store.duplicate_group("old12") == ["old12", "exact12", "near12"]
