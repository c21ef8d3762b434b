"""Summary quality: ROUGE against the NeuS/AllSides human neutral summaries.

Each NeuS item is one story told by three outlets (left, centre, right: the
title and lead paragraphs AllSides quotes) with the AllSides editors' neutral
summary.  The three reports become three ``Article`` records (no dates, no
provenance) and every system summarizes them as one story:

- **newsloom**: ``newsloom.summarize.summarize_story`` (packaged sentence
  embedder, or TF-IDF vectors with ``--no-embed``);
- **LexRank** and **TextRank**: sumy's implementations, given newsloom's
  offline sentence splitter and a regex word tokenizer (sumy's default
  tokenizer needs an NLTK download), sumy's English stop words and Snowball
  stemmer, filled to the same word budget as newsloom;
- **lead-3**: the first three sentences of the three reports in the order
  the data set gives them; **lead-1 each** (an extra, stronger baseline): the
  first sentence of each report.

Scores are ROUGE-1/2/L F1 (Google's ``rouge-score``, Porter stemming; ROUGE-Lsum
with one sentence a line), averaged over stories, with a paired bootstrap 95%
interval for newsloom minus each baseline.  Also: the share of newsloom summary
sentences whose citation is an exact span of the cited article, and time per
story.  The defaults of ``SummaryParams`` were tuned with ``--tune`` on the
train split; the evaluation runs on the validation split (307 stories), which
tuning never sees.

    .venv/bin/python eval/summaries.py [--split val] [--sample 0] [--seed 13] [--no-embed]
        [--ablation] [--tune --tune-sample 300]
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import random
import re
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import data_dir, print_table
from newsloom.sentences import split_sentences
from newsloom.summarize import DEFAULT, SummaryParams, summarize_story
from newsloom.types import Article

METRICS = ("rouge1", "rouge2", "rougeL", "rougeLsum")
_WORD = re.compile(r"\w+(?:['’]\w+)*", re.UNICODE)


@dataclass(slots=True)
class Item:
    """One NeuS story: three reports and the human neutral summary."""

    id: str
    articles: list[Article]
    reference: str


def load_neus(split: str) -> list[Item]:
    """The NeuS items of ``split`` (``train`` or ``val``), read in place."""
    path = data_dir("neus_allsides") / "neus_train_val.jsonl.gz"
    items: list[Item] = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if not row["id"].startswith(f"{split}_"):
                continue
            articles = [
                _article(f"{row['id']}-{k}", a.get("title"), a.get("text") or "")
                for k, a in enumerate(row["articles"])
            ]
            items.append(Item(row["id"], articles, row["reference_summary"]))
    return items


def _article(article_id: str, title: str | None, text: str) -> Article:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]
    return Article(
        id=article_id,
        url=None,
        canonical_url=None,
        site_name=None,
        title=title,
        authors=[],
        published=None,
        date_source=None,
        language="en",
        paragraphs=paragraphs,
        word_count=sum(len(p.split()) for p in paragraphs),
        read_minutes=1,
    )


def sample(items: list[Item], size: int, seed: int) -> list[Item]:
    """A fixed seeded sample (all items when ``size`` is 0 or too large)."""
    if size <= 0 or size >= len(items):
        return items
    return sorted(random.Random(seed).sample(items, size), key=lambda i: i.id)


# --- systems ---------------------------------------------------------------------


class CachedEmbedder:
    """The packaged embedder with a text cache, so tuning embeds each sentence once."""

    def __init__(self) -> None:
        from newsloom.features.embed import get_embedder

        self._model = get_embedder()
        self._cache: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self._cache})
        if missing:
            for text, row in zip(missing, self._model.embed(missing), strict=True):
                self._cache[text] = row
        return np.stack([self._cache[t] for t in texts])


class OfflineTokenizer:
    """sumy's tokenizer interface on newsloom's splitter: no NLTK data needed."""

    language = "english"

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        return tuple(s.text for s in split_sentences(paragraph))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(_WORD.findall(sentence))


def _budget(max_words: int) -> Callable[[list[Any]], list[Any]]:
    """sumy count callable: best-rated sentences until ``max_words`` words."""

    def take(infos: list[Any]) -> list[Any]:
        out, words = [], 0
        for info in infos:
            if words >= max_words:
                break
            out.append(info)
            words += len(str(info.sentence).split())
        return out

    return take


def sumy_system(kind: str, max_words: int) -> Callable[[Item], list[str]]:
    from sumy.nlp.stemmers import Stemmer
    from sumy.parsers.plaintext import PlaintextParser
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.summarizers.text_rank import TextRankSummarizer
    from sumy.utils import get_stop_words

    summarizer = (LexRankSummarizer if kind == "lexrank" else TextRankSummarizer)(
        Stemmer("english")
    )
    summarizer.stop_words = get_stop_words("english")
    tokenizer = OfflineTokenizer()

    def run(item: Item) -> list[str]:
        text = "\n\n".join(a.text for a in item.articles)
        document = PlaintextParser.from_string(text, tokenizer).document
        return [str(s) for s in summarizer(document, _budget(max_words))]

    return run


def lead3(item: Item) -> list[str]:
    sentences = [s.text for a in item.articles for s in split_sentences(a.text)]
    return sentences[:3]


def lead_each(item: Item) -> list[str]:
    return [ss[0].text for a in item.articles if (ss := split_sentences(a.text))]


@dataclass(slots=True)
class Citations:
    sentences: int = 0
    exact: int = 0


def newsloom_system(
    embedder: Any, params: SummaryParams, citations: Citations | None = None
) -> Callable[[Item], list[str]]:
    def run(item: Item) -> list[str]:
        summary = summarize_story(item.articles, embedder=embedder, params=params)
        if citations is not None:
            texts = {a.id: a.text for a in item.articles}
            for s in summary.summary:
                citations.sentences += 1
                text = texts.get(s.article_id)
                citations.exact += int(text is not None and text[s.start : s.end] == s.text)
        return [s.text for s in summary.summary]

    return run


# --- scoring -----------------------------------------------------------------------


def _scorer() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)


def score(scorer: Any, item: Item, sentences: list[str]) -> dict[str, float]:
    """ROUGE F1 of one summary; Lsum reads one sentence a line on both sides."""
    reference = "\n".join(s.text for s in split_sentences(item.reference))
    scores = scorer.score(reference, "\n".join(sentences))
    return {m: scores[m].fmeasure for m in METRICS}


def run_system(
    system: Callable[[Item], list[str]], items: list[Item], scorer: Any
) -> tuple[list[dict[str, float]], float, float]:
    """Per-story scores, seconds per story and mean summary length in words."""
    per_story, words = [], []
    elapsed = 0.0
    for item in items:
        start = time.perf_counter()
        sentences = system(item)
        elapsed += time.perf_counter() - start
        words.append(sum(len(s.split()) for s in sentences))
        per_story.append(score(scorer, item, sentences))
    return per_story, elapsed / max(len(items), 1), statistics.mean(words) if words else 0.0


def mean(per_story: list[dict[str, float]], metric: str) -> float:
    return statistics.mean(s[metric] for s in per_story) if per_story else 0.0


def bootstrap(a: list[float], b: list[float], rounds: int = 2000, seed: int = 1) -> tuple:
    """Paired bootstrap 95% interval of mean(a - b)."""
    diff = np.asarray(a) - np.asarray(b)
    rng = np.random.default_rng(seed)
    means = np.sort(diff[rng.integers(0, len(diff), (rounds, len(diff)))].mean(axis=1))
    return float(diff.mean()), float(means[int(0.025 * rounds)]), float(means[int(0.975 * rounds)])


# --- tuning --------------------------------------------------------------------------


TUNE_GRID = {
    "max_words": (50, 60, 70),
    "w_support": (0.0, 0.5, 1.0),
    "w_title": (0.25, 0.5, 1.0),
    "w_lead": (0.0, 0.3, 0.6),
    "w_coverage": (0.5, 1.0, 2.0, 3.0),
}


def tune(items: list[Item], embedder: Any, scorer: Any) -> None:
    """Grid search of the main weights on ``items``; prints the best settings by
    the mean of ROUGE-1, -2 and -L."""
    results = []
    keys = list(TUNE_GRID)
    for values in itertools.product(*TUNE_GRID.values()):
        params = replace(DEFAULT, **dict(zip(keys, values, strict=True)))
        if embedder is False:
            params = replace(params, redundancy_tfidf=params.redundancy - 0.3)
        per_story, _, words = run_system(newsloom_system(embedder, params), items, scorer)
        r = [mean(per_story, m) for m in ("rouge1", "rouge2", "rougeL")]
        results.append((sum(r) / 3, r, words, dict(zip(keys, values, strict=True))))
    results.sort(key=lambda x: -x[0])
    print_table(
        ["mean", "R-1", "R-2", "R-L", "words", "params"],
        [
            (f"{m:.4f}", *(f"{x:.4f}" for x in r), f"{w:.1f}", json.dumps(p))
            for m, r, w, p in results[:15]
        ],
    )


# --- main -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="val", choices=("train", "val"))
    parser.add_argument("--sample", type=int, default=0, help="stories (0: the whole split)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--no-embed", action="store_true", help="newsloom on TF-IDF vectors")
    parser.add_argument("--ablation", action="store_true", help="newsloom without each signal")
    parser.add_argument("--tune", action="store_true", help="grid search on the train split")
    parser.add_argument("--tune-sample", type=int, default=300)
    args = parser.parse_args(argv)

    # sumy's LexRank divides by a zero norm on stories whose sentences share no word.
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="sumy")
    scorer = _scorer()
    embedder: Any = False if args.no_embed else CachedEmbedder()
    if args.tune:
        items = sample(load_neus("train"), args.tune_sample, args.seed)
        print(f"tuning on {len(items)} NeuS train stories (seed {args.seed})\n")
        tune(items, embedder, scorer)
        return 0

    items = sample(load_neus(args.split), args.sample, args.seed)
    if not args.no_embed:
        embedder.embed(["warm up"])  # load the model outside the timed runs
    citations = Citations()
    systems: dict[str, Callable[[Item], list[str]]] = {
        "newsloom" + (" (TF-IDF)" if args.no_embed else ""): newsloom_system(
            embedder, DEFAULT, citations
        ),
        "LexRank (sumy)": sumy_system("lexrank", DEFAULT.max_words),
        "TextRank (sumy)": sumy_system("textrank", DEFAULT.max_words),
        "lead-3": lead3,
        "lead-1 each source": lead_each,
    }
    if args.ablation:
        for name, change in (
            ("no support", {"w_support": 0.0}),
            ("no headline", {"w_title": 0.0}),
            ("no lead bonus", {"w_lead": 0.0}),
            ("no concept coverage", {"w_coverage": 0.0}),
            (
                "centrality only",
                {"w_support": 0.0, "w_title": 0.0, "w_lead": 0.0, "w_coverage": 0.0},
            ),
        ):
            systems[f"newsloom, {name}"] = newsloom_system(embedder, replace(DEFAULT, **change))

    results = {name: run_system(system, items, scorer) for name, system in systems.items()}
    print(f"NeuS/AllSides {args.split} split: {len(items)} stories, 3 reports each\n")
    print_table(
        ["system", "R-1", "R-2", "R-L", "R-Lsum", "words", "ms/story"],
        [
            (
                name,
                *(f"{mean(per_story, m):.4f}" for m in METRICS),
                f"{words:.1f}",
                f"{seconds * 1000:.1f}",
            )
            for name, (per_story, seconds, words) in results.items()
        ],
    )
    ours = next(iter(results.values()))[0]
    print("\nnewsloom minus baseline (mean, paired bootstrap 95% interval)\n")
    rows = []
    for name, (per_story, _, _) in itertools.islice(results.items(), 1, 5):
        cells = []
        for m in ("rouge1", "rouge2", "rougeL"):
            d, lo, hi = bootstrap([s[m] for s in ours], [s[m] for s in per_story])
            cells.append(f"{d:+.4f} [{lo:+.4f}, {hi:+.4f}]")
        rows.append((name, *cells))
    print_table(["baseline", "R-1", "R-2", "R-L"], rows)
    share = citations.exact / citations.sentences if citations.sentences else 0.0
    print(
        f"\ncitations: {citations.exact}/{citations.sentences} newsloom summary sentences "
        f"are exact spans of the cited article ({share:.1%})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
