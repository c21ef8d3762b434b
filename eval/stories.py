"""Story clustering quality: newsloom's online clusterer against two batch baselines.

Data (read in place from ``../shared/data``):

- ``ecbplus``: 772 articles, 33 topics, 66 sub-topics.  Gold story = sub-topic
  (two different real events of the same kind per topic, so harder than topic);
  also scored against the topic.  Run twice: in topic/sub-topic order and in a
  seeded shuffled order.
- ``neus_allsides``: AllSides round-ups, three outlets' title and lead per story;
  gold story = the item.  A seeded sample of ``--neus-stories`` items, shuffled.
- ``basil``: 70 events, three outlets each (Fox, NYT, HuffPost), with real
  publication dates; gold story = the event.  Run in date order.

ECB+ and NeuS articles have no dates.  The online clusterer lets a story go
quiet after some days without news, so undated articles get synthetic
timestamps one minute apart in stream order: the whole stream spans hours, and
time decay cannot split a story.  BASIL keeps its real dates (an article at
noon of its day), so there time decay is exercised.

Systems:

- ``tfidf+agglo`` (batch): scikit-learn ``TfidfVectorizer`` (English stopwords,
  sublinear tf) on title and full text, ``AgglomerativeClustering`` with cosine
  distance and average linkage; the distance threshold is swept on each data
  set here and the best (by sub-topic B-cubed F1) is reported with its value.
- ``emb+hdbscan`` (batch): newsloom's packaged sentence embedder on title and
  lead, ``sklearn.cluster.HDBSCAN``; noise points become singleton stories;
  ``min_cluster_size``/``min_samples`` swept likewise.
- ``emb+agglo`` (batch, for reference): the same embeddings with
  agglomerative clustering, to show what the embedding signal alone is worth.
- ``newsloom`` (online): ``newsloom.cluster.cluster_stream`` sees the articles
  one batch at a time in stream order; scored on each order.

Tuning the baselines on the data they are scored on makes them an upper bound
of what each would reach; the held-out parts of the data sets are never read.

Usage: ``.venv/bin/python eval/stories.py [--datasets ecbplus,neus,basil]
[--neus-stories N] [--seed N] [--model NAME]``
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import platform
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sklearn.cluster import HDBSCAN, AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer

from clustering_metrics import score
from common import data_dir, print_table
from newsloom.features.embed import DEFAULT_MODEL, MODELS, Embedder, article_text_for_embedding
from newsloom.types import Article

SYNTHETIC_START = datetime(2020, 1, 1, tzinfo=UTC)
TFIDF_THRESHOLDS = [round(0.5 + 0.025 * i, 3) for i in range(20)]  # 0.5 .. 0.975
EMB_THRESHOLDS = [round(0.3 + 0.025 * i, 3) for i in range(20)]  # 0.3 .. 0.775
HDBSCAN_GRID = [(2, 1), (2, 2), (3, 1), (3, 2), (5, 1), (5, 3), (8, 1), (8, 4)]


@dataclass(slots=True)
class Item:
    """One article of an evaluation stream with its gold labels."""

    article: Article
    story: str
    topic: str | None = None


@dataclass(slots=True)
class Stream:
    """A data set in one order; ``gold_levels`` name the labels it is scored on."""

    dataset: str
    order: str
    items: list[Item]

    @property
    def levels(self) -> list[str]:
        return ["story", "topic"] if self.items and self.items[0].topic is not None else ["story"]

    def gold(self, level: str) -> list[str]:
        return [str(item.story if level == "story" else item.topic) for item in self.items]


def make_article(
    key: str, title: str | None, paragraphs: list[str], published: datetime | None, source: str
) -> Article:
    words = sum(len(p.split()) for p in paragraphs)
    return Article(
        id=hashlib.sha256(key.encode()).hexdigest()[:16],
        url=None,
        canonical_url=None,
        site_name=source,
        title=title,
        authors=[],
        published=published,
        date_source="dataset" if published else None,
        language="en",
        paragraphs=paragraphs,
        word_count=words,
        read_minutes=max(1, round(words / 230)),
        source=key,
    )


def restamp(items: list[Item]) -> list[Item]:
    """Synthetic increasing timestamps, one minute apart, in stream order."""
    for index, item in enumerate(items):
        item.article.published = SYNTHETIC_START + timedelta(minutes=index)
        item.article.date_source = "synthetic"
    return items


def _natural(doc_id: str) -> tuple[int, str, int]:
    # "12_3ecbplus.xml" -> (12, "ecbplus", 3): sorts documents as the corpus numbers them.
    match = re.match(r"(\d+)_(\d+)(\D+)", doc_id)
    if not match:
        return (0, doc_id, 0)
    return (int(match.group(1)), match.group(3), int(match.group(2)))


def read_jsonl(path: Any) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_ecbplus(seed: int) -> list[Stream]:
    rows = read_jsonl(data_dir("ecbplus") / "ecbplus_docs.jsonl.gz")
    rows.sort(key=lambda r: (r["topic"], r["subtopic"], _natural(r["doc_id"])))

    def items() -> list[Item]:
        out = []
        for row in rows:
            sentences = [s for s in row["sentences"] if s.strip()]
            # No titles in ECB+: the first sentence is usually the headline.
            title = sentences[0] if sentences else None
            article = make_article(f"ecbplus/{row['doc_id']}", title, sentences[1:], None, "ecb+")
            out.append(Item(article, str(row["subtopic"]), str(row["topic"])))
        return out

    ordered = restamp(items())
    shuffled = items()
    random.Random(seed).shuffle(shuffled)
    return [
        Stream("ecbplus", "topic order", ordered),
        Stream("ecbplus", "shuffled", restamp(shuffled)),
    ]


def _clean_title(title: str) -> str:
    # NeuS titles end with an added period ("... Iran deal."); drop it.
    return title[:-1].rstrip() if title.endswith(".") else title


def load_neus(seed: int, stories: int) -> list[Stream]:
    rows = read_jsonl(data_dir("neus_allsides") / "neus_train_val.jsonl.gz")
    rng = random.Random(seed)
    if stories and stories < len(rows):
        rows = rng.sample(rows, stories)
    items = []
    for row in rows:
        for index, art in enumerate(row["articles"]):
            paragraphs = [p.strip() for p in re.split(r"\n+", art.get("text") or "") if p.strip()]
            title = _clean_title((art.get("title") or "").strip()) or None
            article = make_article(f"neus/{row['id']}/{index}", title, paragraphs, None, "allsides")
            items.append(Item(article, row["id"]))
    rng.shuffle(items)
    return [Stream("neus_allsides", "shuffled", restamp(items))]


def load_basil(seed: int) -> list[Stream]:
    rows = read_jsonl(data_dir("basil") / "basil.jsonl.gz")
    items = []
    for row in rows:
        day = date.fromisoformat(row["date"]) if row.get("date") else None
        # Noon, so a story's articles from one day lie within hours of each other.
        published = datetime(day.year, day.month, day.day, 12, tzinfo=UTC) if day else None
        paragraphs = [" ".join(p) for p in row.get("paragraphs") or [] if p]
        article = make_article(
            f"basil/{row['article_id']}", (row.get("title") or "").strip() or None,
            paragraphs, published, row.get("source") or "basil",
        )  # fmt: skip
        items.append(Item(article, row["event_id"]))
    random.Random(seed).shuffle(items)  # ties within a day in random order
    items.sort(key=lambda it: it.article.published or SYNTHETIC_START)
    return [Stream("basil", "date order", items)]


# --- systems ---------------------------------------------------------------------------


def singletons_to_labels(labels: np.ndarray) -> list[str]:
    """HDBSCAN's noise label -1 becomes one story per noise point."""
    return [f"c{lab}" if lab >= 0 else f"n{i}" for i, lab in enumerate(labels)]


def agglomerative(matrix: Any, threshold: float) -> list[str]:
    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=threshold
    )
    dense = matrix.toarray() if hasattr(matrix, "toarray") else matrix
    return [f"c{lab}" for lab in model.fit_predict(dense)]


def sweep(
    run: Callable[[Any], list[str]], grid: Sequence[Any], gold: list[str]
) -> tuple[Any, list[str], list[tuple[Any, float]]]:
    """Best setting by B-cubed F1 against ``gold``; also every setting's F1."""
    best: tuple[float, Any, list[str]] | None = None
    curve = []
    for setting in grid:
        labels = run(setting)
        f1 = score(labels, gold)["b3_f1"]
        curve.append((setting, f1))
        if best is None or f1 > best[0]:
            best = (f1, setting, labels)
    assert best is not None
    return best[1], best[2], curve


def full_text(article: Article) -> str:
    return "\n".join([article.title or "", *article.paragraphs])


@dataclass(slots=True)
class Result:
    system: str
    setting: str
    labels: list[str]
    seconds: float


def run_baselines(stream: Stream, embedder: Embedder) -> list[Result]:
    gold = stream.gold("story")
    articles = [item.article for item in stream.items]
    results = []

    start = time.perf_counter()
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=1)
    tfidf = vectorizer.fit_transform([full_text(a) for a in articles])
    setup = time.perf_counter() - start
    start = time.perf_counter()
    best, labels, _ = sweep(lambda t: agglomerative(tfidf, t), TFIDF_THRESHOLDS, gold)
    per_run = (time.perf_counter() - start) / len(TFIDF_THRESHOLDS)
    results.append(Result("tfidf+agglo", f"distance {best}", labels, setup + per_run))

    start = time.perf_counter()
    vectors = embedder.embed([article_text_for_embedding(a) for a in articles])
    embed_seconds = time.perf_counter() - start

    def hdbscan(setting: tuple[int, int]) -> list[str]:
        size, samples = setting
        model = HDBSCAN(min_cluster_size=size, min_samples=samples, metric="euclidean", copy=True)
        return singletons_to_labels(model.fit_predict(vectors))

    start = time.perf_counter()
    best, labels, _ = sweep(hdbscan, HDBSCAN_GRID, gold)
    per_run = (time.perf_counter() - start) / len(HDBSCAN_GRID)
    setting = f"min_cluster_size {best[0]}, min_samples {best[1]}"
    results.append(Result("emb+hdbscan", setting, labels, embed_seconds + per_run))

    start = time.perf_counter()
    best, labels, _ = sweep(lambda t: agglomerative(vectors, t), EMB_THRESHOLDS, gold)
    per_run = (time.perf_counter() - start) / len(EMB_THRESHOLDS)
    results.append(Result("emb+agglo", f"distance {best}", labels, embed_seconds + per_run))
    return results


def run_online(stream: Stream) -> Result | str:
    """The system under test, or the reason it could not run."""
    try:
        from newsloom.cluster import cluster_stream
    except ImportError as exc:
        return f"newsloom.cluster.cluster_stream is not available yet ({exc}); skipped"
    articles = [item.article for item in stream.items]
    start = time.perf_counter()
    labels = cluster_stream(articles)
    seconds = time.perf_counter() - start
    if len(labels) != len(articles):
        return f"cluster_stream returned {len(labels)} ids for {len(articles)} articles"
    return Result("newsloom", "online, defaults", [str(x) for x in labels], seconds)


def report(stream: Stream, results: list[Result]) -> None:
    for level in stream.levels:
        gold = stream.gold(level)
        title = f"### {stream.dataset}, {stream.order}: gold = {level}"
        plural = "stories" if level == "story" else "topics"
        print(f"{title} ({len(gold)} articles, {len(set(gold))} {plural})\n")
        rows = []
        for res in results:
            s = score(res.labels, gold)
            rows.append(
                [res.system, s["b3_p"], s["b3_r"], s["b3_f1"], s["pair_p"], s["pair_r"],
                 s["pair_f1"], len(set(res.labels)), f"{res.seconds:.1f}", res.setting]
            )  # fmt: skip
        headers = ["system", "B3 P", "B3 R", "B3 F1", "pair P", "pair R", "pair F1"]
        print_table([*headers, "clusters", "seconds", "setting"], rows)


def measure_speed(streams: list[Stream], models: Sequence[str]) -> None:
    """Feature throughput on ECB+ text: sentences, and title + lead documents."""
    from newsloom.features.entities import entities, get_nlp
    from newsloom.features.terms import tokenize

    ecb = next((s for s in streams if s.dataset == "ecbplus"), None)
    if ecb is None:
        return
    sentences = [p for item in ecb.items for p in item.article.paragraphs][:2000]
    leads = [article_text_for_embedding(item.article) for item in ecb.items]
    rows: list[list[Any]] = []

    def rate(func: Callable[[list[str]], object], texts: list[str]) -> str:
        func(texts[:32])  # first call: session warm-up, allocations
        start = time.perf_counter()
        func(texts)
        return f"{len(texts) / (time.perf_counter() - start):.0f}"

    for name in models:
        embedder = Embedder(name)
        rows.append([f"embed {name}", rate(embedder.embed, sentences), rate(embedder.embed, leads)])
    get_nlp()
    rows.append(["entities (spaCy NER)", rate(entities, sentences), rate(entities, leads)])
    rows.append(
        ["tokenize (terms)", rate(lambda ts: [tokenize(t) for t in ts], sentences),
         rate(lambda ts: [tokenize(t) for t in ts], leads)]
    )  # fmt: skip
    print(f"### Feature speed (2 threads; {len(sentences)} sentences, {len(leads)} title+lead)\n")
    print_table(["feature", "sentences/s", "title+lead docs/s"], rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="ecbplus,neus,basil")
    parser.add_argument("--neus-stories", type=int, default=600, help="0 = all 2,759")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--model", default=DEFAULT_MODEL, help="embedding model for baselines")
    parser.add_argument("--no-speed", action="store_true", help="skip the feature speed table")
    args = parser.parse_args(argv)
    wanted = {name.strip() for name in args.datasets.split(",") if name.strip()}

    print(f"# Story clustering — {date.today()} — Python {platform.python_version()}")
    print(f"embedding model: {args.model}; seed {args.seed}\n")
    embedder = Embedder(args.model)
    streams: list[Stream] = []
    if "ecbplus" in wanted:
        streams += load_ecbplus(args.seed)
    if "neus" in wanted:
        streams += load_neus(args.seed, args.neus_stories)
    if "basil" in wanted:
        streams += load_basil(args.seed)

    if not args.no_speed:
        measure_speed(streams, list(MODELS))

    baselines: dict[str, list[Result]] = {}
    firsts: dict[str, Stream] = {}
    for stream in streams:
        # Batch baselines see everything at once, so the order does not matter to
        # them: run once per data set and show them beside each order's online run.
        if stream.dataset not in baselines:
            baselines[stream.dataset] = run_baselines(stream, embedder)
            firsts[stream.dataset] = stream
        first = firsts[stream.dataset]
        ordered = baselines[stream.dataset]
        if stream is not first:
            # Same articles in another order: carry the labels over by article id.
            by_id = {
                item.article.id: [res.labels[i] for res in ordered]
                for i, item in enumerate(first.items)
            }
            ordered = [
                Result(res.system, res.setting, [by_id[it.article.id][k] for it in stream.items],
                       res.seconds)
                for k, res in enumerate(ordered)
            ]  # fmt: skip
        online = run_online(stream)
        results = list(ordered)
        if isinstance(online, Result):
            results.append(online)
        report(stream, results)
        if isinstance(online, str):
            print(f"newsloom: {online}\n")


if __name__ == "__main__":
    main()
