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

Three protocols, all in every run:

- *tuned on the scored data*: each baseline's setting is swept on the very
  data set it is scored on and the best kept (an upper bound of itself);
  newsloom runs once with its defaults (one setting for all data sets), and
  once more with its join threshold swept the same way (``newsloom (swept)``),
  so both sides are tuned likewise.
- *held-out halves* (2-fold): the stories (ECB+: the topics) of each data set
  are split into two halves by a seeded hash; each half is clustered on its
  own, with the setting that scored best on the other half, and the two
  halves' clusters are scored together.  No system sees the gold labels of
  the articles it is scored on.
- *one setting for every data set*: each baseline with the single setting of
  its sweep that has the highest mean B-cubed F1 over the data sets (each
  counted once), beside newsloom's defaults, which are likewise one setting
  chosen by looking at all the data sets.  Both sides are tuned on the scored
  data here, as in the first protocol, but neither per data set.

The held-out parts of the data sets (the ECB+ test topics are not in the
file, nor NeuS's test split) are never read.

Usage: ``.venv/bin/python eval/stories.py [--datasets ecbplus,neus,basil]
[--neus-stories N] [--seed N] [--model NAME] [--no-speed]``
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import platform
import random
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
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
JOIN_THRESHOLDS = [round(0.35 + 0.025 * i, 3) for i in range(11)]  # 0.35 .. 0.6


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
    # Every setting of the sweep with its B-cubed F1 against the story (tuned runs).
    curve: list[tuple[Any, float]] = field(default_factory=list)


@dataclass(slots=True)
class System:
    """A clusterer with a grid of settings.

    ``run(indices, setting)`` clusters the stream's articles at ``indices`` (in
    stream order) on their own and returns one label per article.
    """

    name: str
    grid: Sequence[Any]
    describe: Callable[[Any], str]
    run: Callable[[Sequence[int], Any], list[str]]
    setup_seconds: float = 0.0  # features of the whole stream


def halves(stream: Stream, seed: int) -> list[list[int]]:
    """Two halves of the stream's indices, split by topic (else story), seeded."""
    parts: list[list[int]] = [[], []]
    for index, item in enumerate(stream.items):
        key = item.topic if item.topic is not None else item.story
        digest = hashlib.sha256(f"{seed}:{stream.dataset}:{key}".encode()).digest()
        parts[digest[0] % 2].append(index)
    return parts


def tune(
    system: System, indices: Sequence[int], gold: list[str]
) -> tuple[Any, list[str], float, list[tuple[Any, float]]]:
    """Best setting on ``indices`` by B-cubed F1; its labels; seconds per clustering
    run; every setting's F1."""
    sub_gold = [gold[i] for i in indices]
    start = time.perf_counter()
    best, labels, curve = sweep(lambda setting: system.run(indices, setting), system.grid, sub_gold)
    return best, labels, (time.perf_counter() - start) / max(len(system.grid), 1), curve


def tuned_on_scored(system: System, gold: list[str]) -> Result:
    """The first protocol: the setting that scores best on the data scored."""
    everything = list(range(len(gold)))
    best, labels, per_run, curve = tune(system, everything, gold)
    return Result(system.name, system.describe(best), labels, system.setup_seconds + per_run, curve)


def report_one_setting(
    curves: dict[str, dict[str, list[tuple[Any, float]]]],
    describe: dict[str, Callable[[Any], str]],
    online: dict[tuple[str, str], float],
) -> None:
    """The third protocol: each baseline with the one setting that does best on all
    data sets together (highest mean B-cubed F1 against the story, each data set
    counted once), as newsloom's defaults are one setting for every data set.

    ``curves``: system → data set → (setting, F1) of its sweep; ``online``:
    (data set, order) → F1 of newsloom's defaults.  Batch systems score the
    same in every order of a data set."""
    datasets = sorted({dataset for dataset, _ in online})
    if len(datasets) < 2:
        return
    rows: list[list[Any]] = []
    for system, per_set in curves.items():
        if not set(datasets) <= set(per_set):
            continue
        f1s = {ds: dict(per_set[ds]) for ds in datasets}
        common = [s for s, _ in per_set[datasets[0]] if all(s in f1s[ds] for ds in datasets)]
        if not common:
            continue
        best = max(common, key=lambda s: statistics.mean(f1s[ds][s] for ds in datasets))
        mean = statistics.mean(f1s[ds][best] for ds in datasets)
        rows.append(
            [system, *(f"{f1s[ds][best]:.3f}" for ds, _ in online), f"{mean:.3f}",
             describe[system](best)]
        )  # fmt: skip
    per_dataset = [
        statistics.mean(f1 for (ds, _), f1 in online.items() if ds == dataset)
        for dataset in datasets
    ]
    rows.append(
        ["newsloom", *(f"{f1:.3f}" for f1 in online.values()),
         f"{statistics.mean(per_dataset):.3f}", "online, defaults"]
    )  # fmt: skip
    print("### One setting for every data set: B-cubed F1 against the story\n")
    print_table(["system", *(f"{ds}, {order}" for ds, order in online), "mean", "setting"], rows)


def held_out(
    system: System, parts: list[list[int]], gold: list[str], *, tuned: bool = True
) -> Result:
    """The second protocol: each half clustered with the setting tuned on the other
    half (``tuned=False``: with the system's defaults, setting ``None``)."""
    labels = [""] * len(gold)
    chosen = []
    for half, part in enumerate(parts):
        if not part:
            continue
        other = parts[1 - half]
        setting = tune(system, other, gold)[0] if tuned and other else None
        for index, label in zip(part, system.run(part, setting), strict=True):
            labels[index] = f"h{half}:{label}"
        chosen.append(system.describe(setting))
    setting = chosen[0] if len(set(chosen)) == 1 else " / ".join(chosen)
    return Result(system.name, setting, labels, 0.0)


def baseline_systems(stream: Stream, embedder: Embedder) -> list[System]:
    """The batch baselines over this stream's articles (features computed once)."""
    articles = [item.article for item in stream.items]
    texts = [full_text(a) for a in articles]
    matrices: dict[tuple[int, ...], Any] = {}

    def tfidf(indices: Sequence[int]) -> Any:
        # Fitted on the articles clustered (document frequencies are unsupervised).
        key = tuple(indices)
        if key not in matrices:
            vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=1)
            matrices[key] = vectorizer.fit_transform([texts[i] for i in indices])
        return matrices[key]

    start = time.perf_counter()
    tfidf(range(len(articles)))
    tfidf_seconds = time.perf_counter() - start
    start = time.perf_counter()
    vectors = embedder.embed([article_text_for_embedding(a) for a in articles])
    embed_seconds = time.perf_counter() - start

    def hdbscan(indices: Sequence[int], setting: tuple[int, int]) -> list[str]:
        size, samples = setting
        if len(indices) < 2:
            return [f"n{i}" for i in range(len(indices))]
        model = HDBSCAN(min_cluster_size=size, min_samples=samples, metric="euclidean", copy=True)
        return singletons_to_labels(model.fit_predict(vectors[list(indices)]))

    def distance(value: Any) -> str:
        return f"distance {value}"

    return [
        System(
            "tfidf+agglo", TFIDF_THRESHOLDS, distance,
            lambda ind, t: agglomerative(tfidf(ind), t), tfidf_seconds,
        ),
        System(
            "emb+hdbscan", HDBSCAN_GRID, lambda s: f"min_cluster_size {s[0]}, min_samples {s[1]}",
            hdbscan, embed_seconds,
        ),
        System(
            "emb+agglo", EMB_THRESHOLDS, distance,
            lambda ind, t: agglomerative(vectors[list(ind)], t), embed_seconds,
        ),
    ]  # fmt: skip


class CachingFeaturizer:
    """newsloom's models with their outputs remembered by text, so that re-running
    the clusterer (threshold sweeps, halves) costs the clustering only.  The
    features of an article do not depend on the others, so the results are the
    same as uncached; the timed default run is the first, uncached one."""

    def __init__(self) -> None:
        from newsloom.cluster import Featurizer, default_featurizer

        base = default_featurizer()
        self._vectors: dict[str, np.ndarray] = {}
        self._entities: dict[str, list[tuple[str, str]]] = {}
        self._embed, self._find = base.embed, base.entities
        self.featurizer = Featurizer(
            embed=self.embed, entities=self.entities, tokens=base.tokens, lead=base.lead
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            for text, vector in zip(missing, self._embed(missing), strict=True):
                self._vectors[text] = np.asarray(vector, dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])

    def entities(self, texts: Sequence[str]) -> list[list[tuple[str, str]]]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._entities]
        if missing:
            for text, found in zip(missing, self._find(missing), strict=True):
                self._entities[text] = found
        return [self._entities[t] for t in texts]


def online_system(stream: Stream, cache: CachingFeaturizer) -> System | str:
    """newsloom's online clusterer with its join threshold as the setting (None = defaults)."""
    try:
        from newsloom.cluster import ClusterParams, cluster_stream
    except ImportError as exc:
        return f"newsloom.cluster.cluster_stream is not available yet ({exc}); skipped"
    articles = [item.article for item in stream.items]

    def run(indices: Sequence[int], threshold: float | None) -> list[str]:
        params = ClusterParams() if threshold is None else ClusterParams(join_threshold=threshold)
        chosen = [articles[i] for i in indices]
        labels = cluster_stream(chosen, params, featurizer=cache.featurizer)
        if len(labels) != len(chosen):
            raise RuntimeError(f"cluster_stream returned {len(labels)} ids for {len(chosen)}")
        return [str(label) for label in labels]

    def describe(threshold: float | None) -> str:
        return "online, defaults" if threshold is None else f"online, join {threshold}"

    return System("newsloom", JOIN_THRESHOLDS, describe, run)


def run_online(system: System, stream: Stream) -> Result:
    """The system under test with its defaults, timed (features included when uncached)."""
    start = time.perf_counter()
    labels = system.run(range(len(stream.items)), None)
    return Result("newsloom", system.describe(None), labels, time.perf_counter() - start)


def carry_over(results: list[Result], first: Stream, stream: Stream) -> list[Result]:
    """Batch results of one order shown for another: labels follow the article ids."""
    if stream is first:
        return list(results)
    position = {item.article.id: i for i, item in enumerate(first.items)}
    return [
        Result(res.system, res.setting,
               [res.labels[position[item.article.id]] for item in stream.items], res.seconds)
        for res in results
    ]  # fmt: skip


def report(
    stream: Stream, results: list[Result], levels: Sequence[str] | None = None, note: str = ""
) -> None:
    for level in levels or stream.levels:
        gold = stream.gold(level)
        title = f"### {stream.dataset}, {stream.order}{note}: gold = {level}"
        plural = "stories" if level == "story" else "topics"
        print(f"{title} ({len(gold)} articles, {len(set(gold))} {plural})\n")
        rows = []
        for res in results:
            s = score(res.labels, gold)
            rows.append(
                [res.system, s["b3_p"], s["b3_r"], s["b3_f1"], s["pair_p"], s["pair_r"],
                 s["pair_f1"], len(set(res.labels)), f"{res.seconds:.1f}" if res.seconds else "-",
                 res.setting]
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

    cache = CachingFeaturizer()
    curves: dict[str, dict[str, list[tuple[Any, float]]]] = {}
    describe: dict[str, Callable[[Any], str]] = {}
    online_f1: dict[tuple[str, str], float] = {}
    oracle: dict[str, list[Result]] = {}
    crossed: dict[str, list[Result]] = {}
    firsts: dict[str, Stream] = {}
    for stream in streams:
        gold = stream.gold("story")
        parts = halves(stream, args.seed)
        # Batch baselines see everything at once, so the order does not matter to
        # them: run once per data set and show them beside each order's online run.
        if stream.dataset not in oracle:
            systems = baseline_systems(stream, embedder)
            oracle[stream.dataset] = [tuned_on_scored(system, gold) for system in systems]
            for system, result in zip(systems, oracle[stream.dataset], strict=True):
                curves.setdefault(system.name, {})[stream.dataset] = result.curve
                describe[system.name] = system.describe
            crossed[stream.dataset] = [held_out(system, parts, gold) for system in systems]
            firsts[stream.dataset] = stream
        first = firsts[stream.dataset]
        results = carry_over(oracle[stream.dataset], first, stream)
        held = carry_over(crossed[stream.dataset], first, stream)
        online = online_system(stream, cache)
        if isinstance(online, System):
            results.append(run_online(online, stream))
            f1 = score(results[-1].labels, gold)["b3_f1"]
            online_f1[(stream.dataset, stream.order)] = f1
            swept = tuned_on_scored(online, gold)
            results.append(replace(swept, system="newsloom (swept)", seconds=results[-1].seconds))
            held.append(held_out(online, parts, gold, tuned=False))
            held.append(replace(held_out(online, parts, gold), system="newsloom (swept)"))
        report(stream, results)
        sizes = f"halves of {len(parts[0])} and {len(parts[1])} articles"
        report(stream, held, ["story"], f", held-out halves ({sizes})")
        if isinstance(online, str):
            print(f"newsloom: {online}\n")
    report_one_setting(curves, describe, online_f1)


if __name__ == "__main__":
    main()
