"""Shared helpers for the quality evaluations and benchmarks.

The data sets live outside the repository (``../shared/data`` beside the repo,
or ``$NEWSLOOM_SHARED/data``) and are read in place, never copied in.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """The shared folder: ``$NEWSLOOM_SHARED`` if set, else ``../shared`` beside the repo."""
    override = os.environ.get("NEWSLOOM_SHARED")
    return Path(override) if override else REPO_ROOT.parent / "shared"


def data_dir(name: str) -> Path:
    """One data set's folder; exits with a clear message when it is missing."""
    path = shared_dir() / "data" / name
    if not path.is_dir():
        sys.exit(f"data set not found: {path} (set NEWSLOOM_SHARED to the shared folder)")
    return path


def decode_html(raw: bytes) -> str:
    """Bytes to text the way a caller of ``extract_html`` would: UTF-8, else a detected charset.

    Both extractors under comparison get this same string, so decoding is not
    part of what is measured.
    """
    from trafilatura.utils import decode_file

    return decode_file(raw)


def read_gz_html(path: Path) -> str:
    return decode_html(gzip.decompress(path.read_bytes()))


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(slots=True)
class Doc:
    """One evaluation page: its key in the gold file, its URL and decoded HTML."""

    key: str
    url: str | None
    html: str


def load_zyte() -> tuple[list[Doc], dict[str, dict[str, str]]]:
    """Pages and ground truth of the Zyte article extraction benchmark, sorted by id."""
    root = data_dir("zyte_article_extraction_benchmark")
    truth: dict[str, dict[str, str]] = load_json(root / "ground-truth.json")
    docs = [
        Doc(key, truth[key].get("url"), read_gz_html(root / "html" / f"{key}.html.gz"))
        for key in sorted(truth)
    ]
    return docs, truth


def load_trafilatura_eval() -> tuple[list[Doc], dict[str, dict[str, Any]]]:
    """Pages and snippet gold of trafilatura's evaluation set, keyed by URL."""
    root = data_dir("trafilatura_eval")
    gold: dict[str, dict[str, Any]] = load_json(root / "evaldata.json")
    docs = [Doc(url, url, read_gz_html(root / "html" / item["file"])) for url, item in gold.items()]
    return docs, gold


def load_htmldate_eval() -> tuple[list[Doc], dict[str, dict[str, str]]]:
    """Pages and gold publication days of htmldate's evaluation set, keyed by URL."""
    root = data_dir("htmldate_eval")
    gold: dict[str, dict[str, str]] = load_json(root / "gold_dates.json")
    docs = [Doc(url, url, read_gz_html(root / "html" / item["file"])) for url, item in gold.items()]
    return docs, gold


def zyte_scorer() -> ModuleType:
    """The benchmark's own ``evaluate.py``, imported from the data folder as it ships."""
    path = data_dir("zyte_article_extraction_benchmark") / "evaluate.py"
    spec = importlib.util.spec_from_file_location("zyte_evaluate", path)
    if spec is None or spec.loader is None:
        sys.exit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def zyte_metrics(
    scorer: ModuleType, truth: dict[str, dict[str, str]], texts: dict[str, str]
) -> dict[str, float]:
    """F1, precision, recall and accuracy as the benchmark computes them.

    The scorer's bootstrap only adds confidence intervals; it is switched off so
    runs are deterministic and fast.
    """
    prediction = {key: {"articleBody": texts.get(key, "")} for key in truth}
    metrics = scorer.evaluate(truth, prediction, n_bootstrap=0)
    return {name: metrics[name] for name in ("f1", "precision", "recall", "accuracy")}


def snippet_counts(text: str | None, item: dict[str, Any]) -> tuple[int, int, int, int]:
    """(tp, fn, fp, tn) for one page, as trafilatura's own comparison script counts them."""
    if not text:
        return 0, len(item["with"]), 0, len(item["without"])
    tp = sum(1 for snippet in item["with"] if snippet in text)
    fp = sum(1 for snippet in item["without"] if snippet in text)
    return tp, len(item["with"]) - tp, fp, len(item["without"]) - fp


def snippet_metrics(gold: dict[str, dict[str, Any]], texts: dict[str, str]) -> dict[str, float]:
    """Precision, recall, F1 and accuracy over all snippets of all pages."""
    tp = fn = fp = tn = 0
    for key, item in gold.items():
        a, b, c, d = snippet_counts(texts.get(key), item)
        tp, fn, fp, tn = tp + a, fn + b, fp + c, tn + d
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    total = tp + fn + fp + tn
    accuracy = (tp + tn) / total if total else 0.0
    return {"f1": f1, "precision": precision, "recall": recall, "accuracy": accuracy}


def timed_map(func: Callable[[Doc], Any], docs: Sequence[Doc]) -> tuple[dict[str, Any], float]:
    """Apply ``func`` to every page; return results by key and the total seconds spent."""
    results: dict[str, Any] = {}
    start = time.perf_counter()
    for doc in docs:
        results[doc.key] = func(doc)
    return results, time.perf_counter() - start


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A Markdown table, so output can be pasted into docs/quality.md as is."""

    def cell(value: Any) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    body = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(headers)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in body:
        print("| " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) + " |")
    print()


def side_by_side(
    docs: Sequence[Doc], systems: dict[str, Callable[[Doc], Any]]
) -> tuple[dict[str, dict[str, Any]], dict[str, float]]:
    """Run every system on every page, rotating the order per page; results and seconds."""
    names = list(systems)
    results: dict[str, dict[str, Any]] = {name: {} for name in names}
    seconds = dict.fromkeys(names, 0.0)
    # One untimed page first: imports, regex compilation and caches are not throughput.
    for name in names:
        systems[name](docs[0])
    for index, doc in enumerate(docs):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            results[name][doc.key] = systems[name](doc)
            seconds[name] += time.perf_counter() - start
    return results, seconds


def warm_up() -> None:
    """Pay newsloom's start-up costs (the language model) before anything is timed."""
    import newsloom

    newsloom.extract(
        "Warm-up\n\nA short page about the weather in a small town today.", kind="text"
    )


def read_jsonl_gz(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a gzipped JSON Lines file, blank lines skipped."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def split_on(text: str, sentence_end: re.Pattern[str]) -> tuple[str, ...]:
    """Lines of ``text`` cut into stripped sentences where ``sentence_end`` matches.

    The set generators keep their own simple splitters (not newsloom's), so the
    sets they build do not change when newsloom's splitter does.
    """
    out: list[str] = []
    for paragraph in text.split("\n"):
        out += [s.strip() for s in sentence_end.split(paragraph) if s.strip()]
    return tuple(out)
