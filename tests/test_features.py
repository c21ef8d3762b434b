"""Clustering features: packaged embeddings, spaCy entities, tokens and TF-IDF.

The models load from installed packages (no network); each loads once per
test session through the modules' cached factories.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from factories import make_article
from newsloom.features import embed, entities, terms
from newsloom.types import Article


def article(title: str | None, paragraphs: list[str]) -> Article:
    return make_article("a1", title=title, paragraphs=paragraphs)


# --- embeddings ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedder() -> embed.Embedder:
    return embed.get_embedder()


def test_embeddings_are_unit_float32_rows(embedder: embed.Embedder) -> None:
    texts = ["The council approved the budget.", "", "Floods closed the bridge."]
    vectors = embedder.embed(texts)
    assert vectors.shape == (3, embedder.dimensions)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_embeddings_are_deterministic_and_batch_independent(embedder: embed.Embedder) -> None:
    texts = [f"Story number {i} about a storm hitting the coast." for i in range(40)]
    whole = embedder.embed(texts)
    # Another batch split and order must give the same vectors (padding is masked).
    alone = embedder.embed([texts[7]])
    assert np.allclose(whole[7], alone[0], atol=1e-4)
    assert np.array_equal(whole, embedder.embed(texts))


def test_paraphrases_are_closer_than_unrelated(embedder: embed.Embedder) -> None:
    a, b, c = embedder.embed(
        [
            "The prime minister resigned after losing a confidence vote in parliament.",
            "Parliament voted no confidence and the premier stepped down.",
            "The recipe needs two cups of flour and a pinch of salt.",
        ]
    )
    assert float(a @ b) > float(a @ c) + 0.2


def test_empty_input_gives_empty_matrix(embedder: embed.Embedder) -> None:
    assert embedder.embed([]).shape == (0, embedder.dimensions)


def test_get_embedder_is_shared() -> None:
    assert embed.get_embedder() is embed.get_embedder()


def test_every_packaged_model_loads() -> None:
    for name in embed.MODELS:
        vectors = embed.Embedder(name).embed(["A bridge closed for repairs."])
        assert vectors.shape == (1, embed.MODELS[name].dimensions)


def test_unknown_model_is_a_config_error() -> None:
    from newsloom.errors import ConfigError

    with pytest.raises(ConfigError):
        embed.Embedder("no-such-model")


def test_article_text_is_title_and_lead() -> None:
    body = ["Kestrel Bridge closes", "The bridge shuts on Monday.", "Repairs take weeks."]
    text = embed.article_text_for_embedding(article("Kestrel Bridge closes", [*body, "x " * 50]))
    # The repeated headline is dropped; the lead follows the title.
    assert text.splitlines() == ["Kestrel Bridge closes", body[1], body[2], ("x " * 50).strip()]


def test_article_lead_is_cut_at_the_word_budget() -> None:
    long = " ".join(f"w{i}" for i in range(500))
    text = embed.article_text_for_embedding(article(None, [long, "second paragraph"]))
    assert len(text.split()) == embed.LEAD_WORDS
    assert "second" not in text


# --- entities ------------------------------------------------------------------------


def test_entities_find_person_and_place() -> None:
    (found,) = entities.entities(
        ["Angela Merkel met Emmanuel Macron in Paris on Tuesday to discuss the treaty."]
    )
    labels = dict(found)
    assert labels.get("angela merkel") == "PERSON"
    assert labels.get("paris") == "GPE"
    assert all(label in entities.LABELS for _, label in found)


def test_entities_batch_keeps_order_and_handles_empty() -> None:
    out = entities.entities(["", "Floods hit Germany.", "nothing named here"])
    assert len(out) == 3
    assert out[0] == []
    assert ("germany", "GPE") in out[1]


def test_entity_normalisation() -> None:
    assert entities.normalize_entity("the White House's") == "white house"
    assert entities.normalize_entity("  NATO ") == "nato"
    assert entities.normalize_entity("“Barack  Obama”") == "barack obama"


# --- terms ---------------------------------------------------------------------------


def test_tokenize_drops_stopwords_and_folds_forms() -> None:
    tokens = terms.tokenize(
        "The protesters protested; protests said the U.S. and COVID-19 in 2020."
    )
    assert "the" not in tokens and "said" not in tokens and "2020" not in tokens
    assert tokens.count("protest") == 2
    assert "u.s" in tokens and "covid-19" in tokens
    assert terms.tokenize("Charges charged charge", stemming=True) == ["charg"] * 3
    assert terms.tokenize("charges", stemming=False) == ["charges"]


def test_document_frequencies_count_documents_and_round_trip() -> None:
    df = terms.DocumentFrequencies()
    df.add(["flood", "flood", "bridge"])
    df.add(["flood", "council"])
    assert df.documents == 2 and df["flood"] == 2 and df["bridge"] == 1
    assert df.idf("bridge") > df.idf("flood")
    assert df.idf("unseen") > df.idf("bridge")
    copy = terms.DocumentFrequencies.from_dict(json.loads(json.dumps(df.to_dict())))
    assert copy == df
    copy.remove(["flood", "council"])
    assert copy.documents == 1 and copy["council"] == 0 and "council" not in copy.counts


def test_tfidf_is_normalised_and_weighs_rare_terms() -> None:
    df = terms.DocumentFrequencies()
    for doc in (["flood", "river"], ["flood", "bridge"], ["flood", "council"]):
        df.add(doc)
    vec = terms.tfidf(["flood", "river", "river"], df)
    assert abs(sum(w * w for w in vec.values()) - 1.0) < 1e-9
    assert vec["river"] > vec["flood"]
    assert terms.tfidf([], df) == {}
    assert terms.top_terms(vec, 1) == ["river"]
    assert terms.top_terms({"b": 0.5, "a": 0.5, "c": 0.1}, 2) == ["a", "b"]


def test_cosine() -> None:
    a = {"flood": 0.6, "river": 0.8}
    assert terms.cosine(a, a) == pytest.approx(1.0)
    assert terms.cosine(a, {"bridge": 1.0}) == 0.0
    assert terms.cosine(a, {}) == 0.0
    assert terms.cosine({"flood": 2.0}, {"flood": 1.0, "x": 0.0}) == pytest.approx(1.0)


def test_embed_threads_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from newsloom.errors import ConfigError
    from newsloom.features.embed import THREADS_ENV, embed_threads

    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert embed_threads() == 2
    monkeypatch.setenv(THREADS_ENV, " 1 ")
    assert embed_threads() == 1
    for bad in ("0", "two", "-3", "1000"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(ConfigError, match=THREADS_ENV):
            embed_threads()
