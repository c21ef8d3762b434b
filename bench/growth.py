"""Cost of ingesting one article as the store grows, at 1k, 10k and 100k stored articles.

A synthetic stream is built at run time from the real articles in
``../shared/data`` (ECB+, NeuS/AllSides, BASIL: about 9,200 base articles).
Every base article is copied with light, seeded perturbations (a sentence or
two dropped or swapped, adjacent words swapped, numbers changed, an outlet
suffix on the title; one copy in ten is verbatim) and each copy gets its own
outlet and URL, so it is a distinct article.  Stories are re-dated over about
two years of synthetic time at a steady 140 articles a day: the articles of one
event (an ECB+ sub-topic, a NeuS or BASIL triplet) start on a random day, each
base article's copies follow within three days, so stories open and go quiet
as in real news.

The stream goes through the real ingest path, ``Pipeline.ingest_pages`` on a
SQLite store: text-mode extraction, article writes, exact and near-duplicate
detection, story placement.  It is fed as one ingest run per window (500 pages
by default), as periodic crawls would feed it, so each window also pays a run's
start-up checks.  The cost per article is measured on the windows that start
when the store holds about 1k, 3k, 10k, 30k and 100k articles.

Embedding and NER models cost a constant ~20 ms per article, which would make a
100k run last an hour without saying anything about growth.  So the embedding
vectors and entities of the ~9,200 base texts are computed once with the real
models (cached under ``bench/out/``), and each copy gets its base's vector
plus small seeded Gaussian noise (renormalised) and its base's entities.
TF-IDF tokens, document frequencies, candidate lookup, scoring and every store
write are computed for real.  The models' own per-article cost is measured on
a sample and printed beside the table.

Usage: ``.venv/bin/python bench/growth.py [--max N] [--window N] [--store PATH]
[--quick] [--profile]``; per-window numbers also go to ``bench/out/growth.csv``.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import gc
import gzip
import hashlib
import json
import math
import os
import pstats
import random
import re
import resource
import shutil
import sys
import tempfile
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eval"))

from common import REPO_ROOT, data_dir, print_table
from newsloom.cluster import Featurizer
from newsloom.features import embed as embed_features
from newsloom.features import entities as entity_features
from newsloom.features import terms as term_features
from newsloom.pipeline import IngestReport, Pipeline
from newsloom.settings import Settings
from newsloom.store import open_store
from newsloom.store.base import PutResult, Store
from newsloom.types import Article, Failure, Page

OUT_DIR = REPO_ROOT / "bench" / "out"
SEED = 20240601
# A steady rate: 100k articles span about two years, and the store holds a
# full quiet window of stories (7 days) before the 1k window starts.
ARTICLES_PER_DAY = 140
START = datetime(2023, 1, 2, tzinfo=UTC)
# Per-dimension noise on a copy's unit vector: cosine with its base is about
# 0.97, as for a lightly edited copy of the same article.
NOISE_SIGMA = 0.012
VERBATIM_SHARE = 0.1
CHECKPOINTS = (1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000)
MODEL_SAMPLE = 256

OUTLETS = (
    "Daily Ledger", "Northern Courier", "Evening Post", "Harbor Times", "Capital Wire",
    "Valley Gazette", "Metro Journal", "Coastal Herald", "Plains Tribune", "River Observer",
    "Summit Review", "Lakeside Chronicle", "Union Dispatch", "Civic Record", "Globe Bulletin",
    "Frontier Star", "Midland Sentinel", "Bay Examiner", "Granite Press", "Prairie Register",
)  # fmt: skip
TITLE_SUFFIXES = (" | {outlet}", " - {outlet}", " ({outlet})", ": what we know", " (updated)")

# After ".", "!" or "?" (and a closing quote), before a capital or an opening quote.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’)]))\s+(?=[\"“‘(]?[A-Z0-9])")
_NUMBER = re.compile(r"\d+")
_SLUG = re.compile(r"[^a-z0-9]+")


# -- base articles -----------------------------------------------------------------------


@dataclass(slots=True)
class Base:
    """One real article from a data set: the seed of its copies."""

    key: str
    event: str
    title: str
    paragraphs: list[list[str]]  # sentences per paragraph

    def lead(self) -> str:
        """Title and lead as the clusterer sees them, for the cached features."""
        article = Article(
            id=self.key, url=None, canonical_url=None, site_name=None, title=self.title,
            authors=[], published=None, date_source=None, language="en",
            paragraphs=[" ".join(p) for p in self.paragraphs], word_count=0, read_minutes=1,
        )  # fmt: skip
        return embed_features.article_text_for_embedding(article)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(paragraph.strip()) if s and s.strip()]


def load_bases() -> list[Base]:
    """ECB+, NeuS and BASIL articles with their event (the gold story), in data order."""
    bases: list[Base] = []
    for row in _read_jsonl(data_dir("ecbplus") / "ecbplus_docs.jsonl.gz"):
        sentences = [s.strip() for s in row["sentences"] if s.strip()]
        if not sentences:
            continue
        # ECB+ has no titles: its first sentence is usually the headline (a
        # one-sentence document keeps it as its text too).
        event = f"ecb/{row['topic']}/{row['subtopic']}"
        body = [sentences[i : i + 3] for i in range(1, len(sentences), 3)] or [sentences]
        bases.append(Base(f"ecb/{row['doc_id']}", event, sentences[0], body))
    for row in _read_jsonl(data_dir("neus_allsides") / "neus_train_val.jsonl.gz"):
        for index, art in enumerate(row["articles"]):
            title = (art.get("title") or "").strip().removesuffix(".").strip()
            body = [_sentences(p) for p in re.split(r"\n+", art.get("text") or "") if p.strip()]
            body = [p for p in body if p]
            if title and body:
                bases.append(Base(f"neus/{row['id']}/{index}", f"neus/{row['id']}", title, body))
    for row in _read_jsonl(data_dir("basil") / "basil.jsonl.gz"):
        title = (row.get("title") or "").strip()
        body = [[s.strip() for s in p if s.strip()] for p in row.get("paragraphs") or []]
        body = [p for p in body if p]
        if title and body:
            bases.append(
                Base(f"basil/{row['article_id']}", f"basil/{row['event_id']}", title, body)
            )
    return bases


# -- the synthetic stream ----------------------------------------------------------------


@dataclass(slots=True)
class Stream:
    """Which copy of which base comes at each position, and when it was published."""

    bases: list[Base]
    base_index: np.ndarray  # int32, per position
    copy_index: np.ndarray  # int32, per position
    published: np.ndarray  # float64 days after START, per position
    span_days: float
    seed: int

    def __len__(self) -> int:
        return len(self.base_index)

    def pages(self, start: int, stop: int) -> Iterator[Page]:
        for position in range(start, min(stop, len(self))):
            yield self.page(position)

    def page(self, position: int) -> Page:
        b, k = int(self.base_index[position]), int(self.copy_index[position])
        base = self.bases[b]
        rng = random.Random(f"{self.seed}:{b}:{k}")
        outlet = OUTLETS[rng.randrange(len(OUTLETS))]
        paragraphs = base.paragraphs
        title = base.title
        if k > 0:
            title += rng.choice(TITLE_SUFFIXES).format(outlet=outlet)
            if rng.random() >= VERBATIM_SHARE:
                paragraphs = perturb(paragraphs, rng)
        when = START + timedelta(days=float(self.published[position]))
        slug = _SLUG.sub("-", base.title.lower())[:60].strip("-") or "story"
        # Base and copy numbers end the URL, so the cached featurizer can find
        # the base of any stored article.
        url = (
            f"https://www.{_SLUG.sub('', outlet.lower())}.example/{when:%Y/%m/%d}/"
            f"{slug}-{b}-{k}.html"
        )
        body = "\n\n".join(" ".join(p) for p in paragraphs)
        meta = {"title": title, "published": when.isoformat(), "site_name": outlet}
        return Page(source=url, body=body.encode("utf-8"), url=url, kind="text", meta=meta)


def perturb(paragraphs: list[list[str]], rng: random.Random) -> list[list[str]]:
    """A lightly edited copy: what one outlet changes in another's report."""
    out = [list(p) for p in paragraphs]
    sentences = sum(len(p) for p in out)
    # Drop up to two sentences from longer texts, never the opening one.
    for _ in range(rng.randint(0, 2) if sentences > 5 else 0):
        places = [(i, j) for i, p in enumerate(out) for j in range(len(p)) if (i, j) != (0, 0)]
        i, j = rng.choice(places)
        del out[i][j]
        out = [p for p in out if p]
    # Swap two neighbouring sentences (or paragraphs), as re-edited copies do.
    if rng.random() < 0.5:
        long = [i for i, p in enumerate(out) if len(p) >= 2]
        if long:
            i = rng.choice(long)
            j = rng.randrange(len(out[i]) - 1)
            out[i][j], out[i][j + 1] = out[i][j + 1], out[i][j]
        elif len(out) >= 3:
            i = rng.randrange(1, len(out) - 1)
            out[i], out[i + 1] = out[i + 1], out[i]
    # A few swapped neighbouring words.
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(out))
        j = rng.randrange(len(out[i]))
        words = out[i][j].split()
        if len(words) >= 4:
            w = rng.randrange(len(words) - 1)
            words[w], words[w + 1] = words[w + 1], words[w]
            out[i][j] = " ".join(words)

    # Numbers restated: half of them change.
    def renumber(match: re.Match[str]) -> str:
        if rng.random() < 0.5:
            return match.group()
        return str(int(match.group()) + rng.randint(1, 9))

    return [[_NUMBER.sub(renumber, s) for s in p] for p in out]


def build_stream(bases: list[Base], total: int, seed: int) -> Stream:
    """``total`` pages: rounds of one copy of every base, dated by event, in arrival order."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(bases))
    positions = np.arange(total)
    base_index = order[positions % len(bases)].astype(np.int32)
    copy_index = (positions // len(bases)).astype(np.int32)
    span_days = total / ARTICLES_PER_DAY
    events = sorted({b.event for b in bases})
    event_start = dict(zip(events, rng.uniform(0.0, span_days, len(events)), strict=True))
    # A base article appears within 1.5 days of its event's start; its copies
    # within 3 days of it.
    base_day = np.array([event_start[b.event] for b in bases]) + rng.uniform(0.0, 1.5, len(bases))
    published = base_day[base_index] + np.where(copy_index > 0, rng.uniform(0.0, 3.0, total), 0.0)
    # Pages arrive up to six hours after publication, so the stream is only
    # roughly in date order, as crawls are.
    arrival = published + rng.uniform(0.0, 0.25, total)
    ranked = np.argsort(arrival, kind="stable")
    return Stream(bases, base_index[ranked], copy_index[ranked], published[ranked], span_days, seed)


# -- cached features ---------------------------------------------------------------------


@dataclass(slots=True)
class BaseFeatures:
    vectors: np.ndarray  # one unit row per base
    entities: list[list[tuple[str, str]]]


def model_features(leads: Sequence[str]) -> tuple[np.ndarray, list[list[tuple[str, str]]]]:
    vectors = embed_features.get_embedder().embed(list(leads))
    found = entity_features.entities(list(leads))
    return vectors, found


def base_features(bases: list[Base]) -> BaseFeatures:
    """Real embeddings and entities of every base lead, cached on disk by content."""
    leads = [b.lead() for b in bases]
    digest = hashlib.sha256()
    digest.update(f"{embed_features.DEFAULT_MODEL}|{entity_features.MODEL}".encode())
    for lead in leads:
        digest.update(lead.encode("utf-8") + b"\0")
    path = OUT_DIR / "growth_features.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as cached:
            meta = json.loads(str(cached["meta"]))
            if meta["digest"] == digest.hexdigest():
                print(f"features: cached in {path.relative_to(REPO_ROOT)}", file=sys.stderr)
                entities = [[(t, lab) for t, lab in ents] for ents in meta["entities"]]
                return BaseFeatures(np.array(cached["vectors"]), entities)
    print(f"features: embedding and NER over {len(leads):,} base leads...", file=sys.stderr)
    vectors, entities = model_features(leads)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    meta = {"digest": digest.hexdigest(), "entities": entities}
    np.savez(path, vectors=vectors.astype(np.float32), meta=np.array(json.dumps(meta)))
    return BaseFeatures(vectors.astype(np.float32), entities)


_URL_IDS = re.compile(r"-(\d+)-(\d+)\.html$")


class CachedFeaturizer:
    """A ``Featurizer`` whose model outputs come from the base articles' cache.

    ``featurize`` asks for each article's lead, then embeds and tags the leads;
    the lead text is remembered with its article's base and copy number so the
    vector and entities can be looked up.  A lead it cannot place (none in
    this stream) goes to the real models, and is counted.
    """

    def __init__(self, features: BaseFeatures, seed: int) -> None:
        self.features = features
        self.seed = seed
        # Bounded: a batch's leads are looked up right after they are made.
        self._origin: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self.misses = 0

    def featurizer(self) -> Featurizer:
        return Featurizer(
            embed=self.embed, entities=self.entities, tokens=term_features.tokenize, lead=self.lead
        )

    def lead(self, article: Article) -> str:
        text = embed_features.article_text_for_embedding(article)
        match = _URL_IDS.search(article.url or "")
        if match:
            self._origin[text] = (int(match.group(1)), int(match.group(2)))
            self._origin.move_to_end(text)
            while len(self._origin) > 4096:
                self._origin.popitem(last=False)
        return text

    def embed(self, leads: Sequence[str]) -> np.ndarray:
        dim = self.features.vectors.shape[1]
        out = np.zeros((len(leads), dim), dtype=np.float32)
        unknown = []
        for row, lead in enumerate(leads):
            origin = self._origin.get(lead)
            if origin is None:
                unknown.append(row)
                continue
            b, k = origin
            vector = self.features.vectors[b]
            if k > 0:
                noise = np.random.default_rng([self.seed, b, k]).normal(0.0, NOISE_SIGMA, dim)
                vector = vector + noise.astype(np.float32)
                vector = vector / np.linalg.norm(vector)
            out[row] = vector
        if unknown:
            self.misses += len(unknown)
            out[unknown] = embed_features.get_embedder().embed([leads[i] for i in unknown])
        return out

    def entities(self, leads: Sequence[str]) -> list[list[tuple[str, str]]]:
        out: list[list[tuple[str, str]] | None] = []
        unknown = []
        for row, lead in enumerate(leads):
            origin = self._origin.get(lead)
            out.append(None if origin is None else self.features.entities[origin[0]])
            if origin is None:
                unknown.append(row)
        if unknown:
            for row, found in zip(
                unknown, entity_features.entities([leads[i] for i in unknown]), strict=True
            ):
                out[row] = found
        return [found or [] for found in out]


def measure_models(bases: list[Base]) -> tuple[float, float]:
    """Seconds per article of the real embedding and NER models on a sample of leads."""
    rng = random.Random(SEED)
    leads = [b.lead() for b in rng.sample(bases, min(MODEL_SAMPLE, len(bases)))]
    embedder = embed_features.get_embedder()
    embedder.embed(leads[:8])
    entity_features.entities(leads[:8])  # loads both models before timing
    start = time.perf_counter()
    embedder.embed(leads)
    middle = time.perf_counter()
    entity_features.entities(leads)
    end = time.perf_counter()
    return (middle - start) / len(leads), (end - middle) / len(leads)


# -- timing ------------------------------------------------------------------------------


@dataclass(slots=True)
class Clock:
    """Wall and CPU seconds spent in one step, summed over calls."""

    wall: float = 0.0
    cpu: float = 0.0

    @contextmanager
    def timing(self) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall += time.perf_counter() - wall
            self.cpu += time.process_time() - cpu

    def copy(self) -> Clock:
        return Clock(self.wall, self.cpu)


# "transaction" spans a batch's article writes, dedup and commit; the commit is
# what it holds beyond the other two.  "gc" is Python's cyclic collector.
STEPS = ("start", "write", "dedup", "transaction", "stories", "gc")


@dataclass(slots=True)
class Clocks:
    steps: dict[str, Clock] = field(default_factory=lambda: {s: Clock() for s in STEPS})

    def snapshot(self) -> dict[str, Clock]:
        return {name: clock.copy() for name, clock in self.steps.items()}


class TimedPipeline(Pipeline):
    """The real pipeline, timing its store-dependent steps as they run."""

    def __init__(self, store: Store, settings: Settings, featurizer: Featurizer) -> None:
        # Story analysis (trace and check) is its own step with its own cost,
        # bounded per story; this benchmark measures what grows with the store.
        super().__init__(store, settings, stories=True, analyse=False, featurizer=featurizer)
        self.clocks = Clocks()
        original = store.put_articles

        def put_articles(articles: Sequence[Article]) -> list[PutResult]:
            with self.clocks.steps["write"].timing():
                return original(articles)

        whole = store.transaction

        @contextmanager
        def transaction() -> Iterator[None]:
            with self.clocks.steps["transaction"].timing(), whole():
                yield

        # Instance attributes shadow the methods: the pipeline's own calls are timed.
        store.put_articles = put_articles  # type: ignore[method-assign]
        store.transaction = transaction  # type: ignore[method-assign]
        gc_clock = self.clocks.steps["gc"]
        gc_started: list[float] = []

        def on_gc(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                gc_started[:] = [time.perf_counter()]
            elif gc_started:
                gc_clock.wall += time.perf_counter() - gc_started.pop()

        gc.callbacks.append(on_gc)
        self._on_gc = on_gc

    def close(self) -> None:
        """Stop timing the collector (the callback outlives the pipeline otherwise)."""
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def dedup_batch(
        self, batch: list[Article], results: list[PutResult], report: IngestReport
    ) -> None:
        with self.clocks.steps["dedup"].timing():
            super().dedup_batch(batch, results, report)

    def place_in_stories(self, article_ids: list[str], report: IngestReport) -> None:
        with self.clocks.steps["stories"].timing():
            super().place_in_stories(article_ids, report)


@dataclass(slots=True)
class Window:
    position: int
    stored: int
    new: int
    wall: float
    cpu: float
    steps: dict[str, Clock]
    rss_mb: float
    store_mb: float
    load: float  # one-minute load average: other jobs on the machine
    report: IngestReport

    def ms(self, seconds: float) -> float:
        return 1000.0 * seconds / max(self.new, 1)


def rss_mb() -> float:
    """Resident memory now (not the peak), from /proc when there is one."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return float("nan")
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux and bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def store_mb(path: Path) -> float:
    files = [path, path.with_name(path.name + "-wal")]
    return sum(f.stat().st_size for f in files if f.exists()) / 2**20


def ingest_window(
    pipeline: TimedPipeline, pages: Iterable[Page], profile: cProfile.Profile | None
) -> tuple[IngestReport, float, float, float]:
    """One ingest run over ``pages``; its report, wall and CPU seconds, and
    the wall seconds before the first page was asked for (the run's start-up checks)."""
    first_pull: list[float] = []

    def feed() -> Iterator[Page | Failure]:
        first_pull.append(time.perf_counter())
        yield from pages

    wall, cpu = time.perf_counter(), time.process_time()
    if profile is not None:
        profile.enable()
    report = pipeline.ingest_pages(feed())
    if profile is not None:
        profile.disable()
    end_wall, end_cpu = time.perf_counter(), time.process_time()
    started = (first_pull[0] if first_pull else end_wall) - wall
    return report, end_wall - wall, end_cpu - cpu, started


# -- report ------------------------------------------------------------------------------


def table(rows: list[Window], *, again_label: bool = False) -> None:
    first = rows[0]

    def ratio(value: float, base: float) -> str:
        return f"{value / base:.2f}×" if base else "-"

    body = []
    for index, w in enumerate(rows):
        steps = {name: w.ms(clock.wall) for name, clock in w.steps.items()}
        commit = steps["transaction"] - steps["write"] - steps["dedup"]
        # Extraction and the rest; collector pauses are in whichever step they hit.
        rest = w.ms(w.wall) - steps["start"] - steps["transaction"] - steps["stories"]
        label = f"{w.stored:,}"
        if again_label and index == len(rows) - 1:
            label += " (again)"
        body.append(
            [
                label,
                f"{w.ms(w.wall):.2f}",
                f"{w.ms(w.cpu):.2f}",
                f"{steps['start']:.2f}",
                f"{steps['write']:.2f}",
                f"{steps['dedup']:.2f}",
                f"{commit:.2f}",
                f"{steps['stories']:.2f}",
                f"{rest:.2f}",
                ratio(per_article(w), per_article(first)),
                ratio(per_article(w, True), per_article(first, True)),
                f"{w.rss_mb:.0f}",
                f"{w.store_mb:.0f}",
                f"{w.load:.1f}",
            ]
        )
    headers = [
        "stored articles", "total ms/article", "CPU ms/article", "run start", "article writes",
        "dedup", "commit", "stories", "extract + rest", "× 1k (wall)", "× 1k (CPU)", "RSS MB",
        "store MB", "load",
    ]  # fmt: skip
    print_table(headers, body)


def write_csv(path: Path, windows: list[Window]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(
            ["position", "stored", "new", "wall_ms", "cpu_ms"]
            + [f"{s}_ms" for s in STEPS]
            + ["rss_mb", "store_mb", "load", "near", "exact", "started", "joined", "merged"]
            + ["failures"]
        )
        for w in windows:
            out.writerow(
                [w.position, w.stored, w.new, f"{w.ms(w.wall):.3f}", f"{w.ms(w.cpu):.3f}"]
                + [f"{w.ms(w.steps[s].wall):.3f}" for s in STEPS]
                + [f"{w.rss_mb:.1f}", f"{w.store_mb:.1f}", f"{w.load:.2f}"]
                + [w.report.near_duplicates]
                + [w.report.exact_duplicates, w.report.stories_started]
                + [w.report.stories_joined, w.report.stories_merged, len(w.report.failures)]
            )


def dump_profile(profile: cProfile.Profile, label: str) -> Path:
    path = OUT_DIR / f"growth_profile_{label}.txt"
    # The binary form too, for comparing two windows function by function.
    profile.dump_stats(path.with_suffix(".prof"))
    with path.open("w", encoding="utf-8") as handle:
        stats = pstats.Stats(profile, stream=handle)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(60)
    return path


# -- main --------------------------------------------------------------------------------


def checkpoints(maximum: int, window: int) -> list[int]:
    wanted = {c for c in CHECKPOINTS if c <= maximum} | {maximum}
    return sorted({max(window, round(c / window) * window) for c in wanted})


@dataclass(slots=True)
class Ingested:
    """What feeding a stream into one store measured."""

    windows: list[Window]
    totals: IngestReport
    stored: int
    stories: int
    seconds: float


def feed(
    store_path: Path,
    stream: Stream,
    featurizer: Featurizer,
    *,
    stop: int,
    window: int,
    marks: Sequence[int],
    profile: bool = False,
    progress: bool = True,
    label: str = "",
) -> Ingested:
    """Ingest positions ``[0, stop)`` of the stream, one run per window, timing each."""
    store = open_store(f"sqlite:///{store_path}")
    pipeline = TimedPipeline(store, Settings(), featurizer)
    windows: list[Window] = []
    stored = 0
    totals = IngestReport(run_id="bench")
    began = time.perf_counter()
    try:
        for position in range(0, stop, window):
            profiler = cProfile.Profile() if profile and position in marks else None
            before = pipeline.clocks.snapshot()
            report, wall, cpu, started = ingest_window(
                pipeline, stream.pages(position, position + window), profiler
            )
            after = pipeline.clocks.snapshot()
            steps = {
                n: Clock(after[n].wall - before[n].wall, after[n].cpu - before[n].cpu)
                for n in STEPS
            }
            # A run's start-up checks (dedup catch-up, articles left without a
            # story) are what passes before it asks for its first page.
            steps["start"] = Clock(started, 0.0)
            measured = Window(
                position, stored, report.new, wall, cpu, steps, rss_mb(), store_mb(store_path),
                os.getloadavg()[0], report,
            )  # fmt: skip
            windows.append(measured)
            if profiler is not None:
                OUT_DIR.mkdir(parents=True, exist_ok=True)
                path = dump_profile(profiler, f"{stored}{label}")
                print(f"profile: {path.relative_to(REPO_ROOT)}", file=sys.stderr)
            stored += report.new
            totals.new += report.new
            totals.exact_duplicates += report.exact_duplicates
            totals.near_duplicates += report.near_duplicates
            totals.stories_started += report.stories_started
            totals.stories_joined += report.stories_joined
            totals.stories_merged += report.stories_merged
            totals.failures += report.failures
            if progress:
                elapsed = time.perf_counter() - began
                done = position + window
                eta = elapsed / done * (stop - done)
                print(
                    f"{done:>8,}/{stop:,} pages  stored {stored:,}  "
                    f"{measured.ms(wall):6.2f} ms/article  "
                    f"elapsed {elapsed / 60:5.1f} min  eta {eta / 60:5.1f} min",
                    file=sys.stderr,
                )
        stories = store.count_stories()
    finally:
        pipeline.close()
        store.close()
    return Ingested(windows, totals, stored, stories, time.perf_counter() - began)


def per_article(window: Window, cpu: bool = False) -> float:
    return (window.cpu if cpu else window.wall) / max(window.new, 1)


def run(args: argparse.Namespace, store_path: Path) -> None:
    began = time.perf_counter()
    bases = load_bases()
    counts = {
        name: sum(1 for b in bases if b.key.startswith(name)) for name in ("ecb", "neus", "basil")
    }
    features = base_features(bases)
    embed_s, ner_s = measure_models(bases)
    marks = checkpoints(args.max, args.window)
    total = marks[-1] + args.window
    stream = build_stream(bases, total, SEED)
    cached = CachedFeaturizer(features, SEED)
    prepared = time.perf_counter() - began

    main_run = feed(
        store_path, stream, cached.featurizer(), stop=total, window=args.window, marks=marks,
        profile=args.profile,
    )  # fmt: skip
    wanted = [w for w in main_run.windows if w.position in marks]
    # The machine's load drifts over a long run (other jobs share the cores), so
    # the first window is measured again on a fresh store right after the last.
    print("re-measuring the first window on a fresh store...", file=sys.stderr)
    folder = Path(tempfile.mkdtemp(prefix="newsloom-growth-ref-"))
    try:
        again = feed(
            folder / "reference.db", stream, cached.featurizer(), stop=marks[0] + args.window,
            window=args.window, marks=marks[:1], profile=args.profile, progress=False,
            label="_again",
        )  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    reference = again.windows[-1]

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    write_csv(OUT_DIR / "growth.csv", main_run.windows)
    print(
        f"Stream: {total:,} pages from {len(bases):,} base articles (ECB+ {counts['ecb']}, "
        f"NeuS {counts['neus']}, BASIL {counts['basil']}), up to "
        f"{math.ceil(total / len(bases))} copies each ({VERBATIM_SHARE:.0%} verbatim, the rest "
        f"lightly perturbed), dated over {stream.span_days:.0f} days ({ARTICLES_PER_DAY}/day)."
    )
    print(
        "Features: embeddings and entities are the real models' outputs for the base texts, "
        "cached; each copy gets its base's vector plus Gaussian noise "
        f"(σ = {NOISE_SIGMA} per dimension, renormalised) and its base's entities; "
        f"TF-IDF tokens are computed for real ({cached.misses} leads went to the models)."
    )
    print(
        f"The models themselves cost {1000 * (embed_s + ner_s):.1f} ms/article "
        f"(embedding {1000 * embed_s:.1f}, NER {1000 * ner_s:.1f}; {MODEL_SAMPLE} leads), "
        "a constant not in the table."
    )
    print(
        f"Window: {args.window} pages, one ingest run each (batches of 50); the last row "
        "is the first window again, on a fresh store, after the largest."
    )
    if args.profile:
        print("Profiled run: the measured windows ran under cProfile and cost more.")
    print()
    table([*wanted, reference], again_label=True)
    first, last = wanted[0], wanted[-1]
    ratios = {
        "first": per_article(last) / per_article(first),
        "again": per_article(last) / per_article(reference),
        "cpu": per_article(last, True) / per_article(first, True),
        "cpu_again": per_article(last, True) / per_article(reference, True),
    }
    worst = max(ratios["first"], ratios["again"])
    verdict = "met" if worst <= 1.3 else "not met"
    print(
        f"Cost at {last.stored:,} stored vs {first.stored:,}: {ratios['first']:.2f}× wall, "
        f"{ratios['cpu']:.2f}× CPU; vs the first window measured again: "
        f"{ratios['again']:.2f}× wall, {ratios['cpu_again']:.2f}× CPU "
        f"(goal ≤ 1.3×: {verdict})."
    )
    totals = main_run.totals
    print(
        f"Stored {main_run.stored:,} articles in {main_run.stories:,} live stories; "
        f"{totals.exact_duplicates:,} exact and {totals.near_duplicates:,} near copies found; "
        f"stories started {totals.stories_started:,}, joined {totals.stories_joined:,}, "
        f"merged {totals.stories_merged:,}; {len(totals.failures)} pages failed extraction "
        "(nothing left once the repeated headline is removed)."
    )
    print(
        f"Peak memory: {peak_rss_mb():.0f} MB RSS (getrusage maxrss, the embedding and spaCy "
        f"models loaded); store {last.store_mb:.0f} MB at {last.stored:,} articles."
    )
    print(
        f"Run time: {(time.perf_counter() - began) / 60:.1f} min "
        f"({prepared:.0f} s loading data, features and the model sample; "
        f"{main_run.seconds / 60:.1f} min ingesting)."
    )
    if cached.misses:
        print(f"warning: {cached.misses} leads had no cached features", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--max", type=int, default=100_000, help="largest store size measured")
    parser.add_argument("--window", type=int, default=500, help="pages per measured window")
    parser.add_argument(
        "--store", type=Path, help="SQLite file to create and keep (must not exist)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: --max 12000")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the measured windows into bench/out/"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.max = min(args.max, 12_000)
    if args.window < 50 or args.max < args.window:
        parser.error("--window must be at least 50 and --max at least --window")
    if args.store is not None:
        if args.store.exists():
            parser.error(f"{args.store} exists; the benchmark needs a new store")
        run(args, args.store)
        return
    folder = Path(tempfile.mkdtemp(prefix="newsloom-growth-"))
    try:
        run(args, folder / "growth.db")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
