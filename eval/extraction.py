"""Extraction quality: newsloom's HTML extraction against plain trafilatura and htmldate.

Runs both systems side by side in one process on the shared data sets:

- ``zyte_article_extraction_benchmark``: shingle F1/precision/recall from the
  benchmark's own ``evaluate.py`` (imported from the data folder as shipped);
- ``trafilatura_eval``: snippet precision/recall/F1, counted as trafilatura's
  comparison script does;
- ``htmldate_eval``: share of pages whose publication day is exactly right.

The peer is ``trafilatura.extract`` with default settings (``find_date`` with
default settings for dates).  Each page is run through both systems back to
back, alternating which goes first, so load on the machine hits both alike.

``--ablation`` adds what each of newsloom's choices is worth: trafilatura's
fast mode, dropping reader comments, the boilerplate cleaning, htmldate's
quick search.  It runs last, as htmldate's extensive search warms up
dateparser, which would distort the timings above.

Usage: ``.venv/bin/python eval/extraction.py [--sets zyte,trafilatura,dates] [--no-split]
[--ablation]``
"""

from __future__ import annotations

import argparse
import logging
import platform
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import htmldate
import trafilatura

import newsloom
from common import (
    Doc,
    load_htmldate_eval,
    load_trafilatura_eval,
    load_zyte,
    print_table,
    side_by_side,
    snippet_metrics,
    zyte_metrics,
    zyte_scorer,
)
from newsloom.errors import ExtractionError
from newsloom.extract import html as nl_html
from newsloom.extract.html import extract_html


def newsloom_text(doc: Doc) -> str:
    """What a user of ``newsloom.extract`` gets: HTML extraction plus the shared
    finishing steps (mojibake repair, citations, language, identity)."""
    try:
        article = newsloom.extract(doc.html, url=doc.url, kind="html")
    except ExtractionError:
        return ""
    return article.text


def peer_text(doc: Doc) -> str:
    return trafilatura.extract(doc.html, url=doc.url) or ""


def newsloom_day(doc: Doc) -> str | None:
    try:
        draft = extract_html(doc.html, url=doc.url)
    except ExtractionError:
        return None
    return draft.published.date().isoformat() if draft.published else None


def htmldate_default(doc: Doc) -> str | None:
    return htmldate.find_date(doc.html, url=doc.url)


def htmldate_original(doc: Doc) -> str | None:
    return htmldate.find_date(doc.html, url=doc.url, original_date=True)


def evaluate_texts(
    label: str,
    docs: Sequence[Doc],
    score: Callable[[dict[str, str]], dict[str, float]],
) -> list[list[Any]]:
    systems = {"newsloom": newsloom_text, "trafilatura": peer_text}
    results, seconds = side_by_side(docs, systems)
    rows = []
    for name in systems:
        metrics = score(results[name])
        rows.append(
            [
                label,
                name,
                metrics["f1"],
                metrics["precision"],
                metrics["recall"],
                metrics["accuracy"],
                f"{len(docs) / seconds[name]:.1f}",
            ]
        )
    ratio = seconds["trafilatura"] / seconds["newsloom"]
    rows.append([label, "speed newsloom / trafilatura", "", "", "", "", f"{ratio:.2f}x"])
    return rows


def evaluate_dates(docs: Sequence[Doc], gold: dict[str, dict[str, str]]) -> list[list[Any]]:
    systems = {
        "newsloom (full extract_html)": newsloom_day,
        "htmldate (defaults)": htmldate_default,
        "htmldate (original_date=True)": htmldate_original,
    }
    results, seconds = side_by_side(docs, systems)
    rows = []
    for name in systems:
        found = results[name]
        right = sum(1 for doc in docs if found[doc.key] == gold[doc.key]["date"])
        missing = sum(1 for doc in docs if not found[doc.key])
        rows.append(
            [
                name,
                right / len(docs),
                f"{right}/{len(docs)}",
                missing,
                f"{len(docs) / seconds[name]:.1f}",
            ]
        )
    return rows


def uncleaned_text(doc: Doc) -> str:
    """newsloom's main text before its boilerplate cleaning (trafilatura fast mode, no comments)."""
    tree = nl_html._parse(doc.html)
    if tree is None:
        return ""
    try:
        blocks = nl_html._main_blocks(tree, doc.url)
    except ExtractionError:
        return ""
    return "\n\n".join(block.text for block in blocks)


TEXT_ABLATION: dict[str, Callable[[Doc], str]] = {
    "trafilatura.extract, defaults (the peer)": peer_text,
    "trafilatura.extract, fast=True": lambda doc: (
        trafilatura.extract(doc.html, url=doc.url, fast=True) or ""
    ),
    "trafilatura.extract, fast=True, include_comments=False": lambda doc: (
        trafilatura.extract(doc.html, url=doc.url, fast=True, include_comments=False) or ""
    ),
    "newsloom without boilerplate cleaning": uncleaned_text,
    "newsloom": newsloom_text,
}


def htmldate_quick(doc: Doc) -> str | None:
    return htmldate.find_date(doc.html, url=doc.url, original_date=True, extensive_search=False)


def time_split(sets: dict[str, Sequence[Doc]]) -> tuple[list[str], list[list[Any]]]:
    """Where newsloom's time goes, stage by stage, beside the peer's whole run (ms per page)."""
    from newsloom.extract.html_clean import clean_blocks
    from newsloom.extract.html_meta import canonical_url, declared_language

    columns: list[dict[str, float]] = []
    for docs in sets.values():
        spent: dict[str, float] = {}

        def clock(
            stage: str,
            func: Callable[..., Any],
            *args: Any,
            spent: dict[str, float] = spent,
            **kwargs: Any,
        ) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                spent[stage] = spent.get(stage, 0.0) + time.perf_counter() - start

        for doc in docs:
            clock("trafilatura.extract (peer, whole run)", peer_text, doc)
            tree = clock("parse (trafilatura.load_html)", nl_html._parse, doc.html)
            if tree is None:
                continue
            meta = clock("metadata (meta tags, JSON-LD, title)", nl_html._metadata, tree)
            try:
                blocks = clock(
                    "main text (trafilatura fast mode)", nl_html._main_blocks, tree, doc.url
                )
            except ExtractionError:
                continue
            clock("links and link density", nl_html._block_links, tree, blocks, doc.url)
            clock("boilerplate cleaning", clean_blocks, blocks, titles=[meta.title])
            clock("date (structured + htmldate)", nl_html._publication_date, tree, doc.url)
            clock("authors (meta, else byline search)", nl_html._authors, tree, meta)
            clock("canonical URL, language", canonical_url, tree, doc.url)
            clock("canonical URL, language", declared_language, tree)
        columns.append({stage: 1000 * sec / len(docs) for stage, sec in spent.items()})
    stages = list(columns[0])
    rows = [[stage, *(f"{column.get(stage, 0.0):.2f}" for column in columns)] for stage in stages]
    ours = [
        sum(v for k, v in column.items() if not k.startswith("trafilatura.")) for column in columns
    ]
    rows.append(["newsloom, all stages", *(f"{total:.2f}" for total in ours)])
    return ["stage", *sets], rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="zyte,trafilatura,dates")
    parser.add_argument("--no-split", action="store_true", help="skip the per-stage timing")
    parser.add_argument("--ablation", action="store_true", help="add the quality ablation")
    args = parser.parse_args(argv)
    chosen = set(args.sets.split(","))
    # The extractors log every discarded page; the tables are the output here.
    for name in ("trafilatura", "htmldate", "courlan"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    print(
        f"# newsloom extraction evaluation, {date.today().isoformat()}, "
        f"trafilatura {trafilatura.__version__}, htmldate {htmldate.__version__}, "
        f"Python {platform.python_version()}\n"
    )
    # Model loading (the language identifier) is start-up cost, not throughput:
    # pay it before anything is timed.
    newsloom.extract(
        "Warm-up\n\nA short page about the weather in a small town today.", kind="text"
    )
    rows: list[list[Any]] = []
    scored: dict[str, tuple[Sequence[Doc], Callable[[dict[str, str]], dict[str, float]]]] = {}
    if "zyte" in chosen:
        docs, truth = load_zyte()
        scorer = zyte_scorer()
        scored["zyte"] = (docs, lambda texts: zyte_metrics(scorer, truth, texts))
    if "trafilatura" in chosen:
        docs, gold = load_trafilatura_eval()
        scored["trafilatura_eval"] = (docs, lambda texts: snippet_metrics(gold, texts))
    for name, (docs, score) in scored.items():
        rows += evaluate_texts(f"{name} ({len(docs)} pages)", docs, score)
    if rows:
        print("## Main text\n")
        headers = ["data set", "system", "F1", "precision", "recall", "accuracy", "pages/s"]
        print_table(headers, rows)
    date_docs: Sequence[Doc] = []
    if "dates" in chosen:
        date_docs, date_gold = load_htmldate_eval()
        print(f"## Publication date (htmldate_eval, {len(date_docs)} pages, exact day)\n")
        headers = ["system", "accuracy", "right", "no date", "pages/s"]
        print_table(headers, evaluate_dates(date_docs, date_gold))
    if scored and not args.no_split:
        print("## Time split (ms per page)\n")
        print_table(*time_split({name: docs for name, (docs, _) in scored.items()}))
    if args.ablation:
        print("## Ablation (quality only)\n")
        rows = []
        for name, (docs, score) in scored.items():
            for system, func in TEXT_ABLATION.items():
                metrics = score({doc.key: func(doc) for doc in docs})
                rows.append([name, system, metrics["f1"], metrics["precision"], metrics["recall"]])
        if rows:
            print_table(["data set", "system", "F1", "precision", "recall"], rows)
        if date_docs:
            rows = []
            for system, func in {
                "htmldate original_date=True, extensive_search=False": htmldate_quick,
                "htmldate original_date=True (extensive search on)": htmldate_original,
                "newsloom": newsloom_day,
            }.items():
                right = sum(1 for doc in date_docs if func(doc) == date_gold[doc.key]["date"])
                rows.append([system, right / len(date_docs), f"{right}/{len(date_docs)}"])
            print_table(["date system", "accuracy", "right"], rows)


if __name__ == "__main__":
    main()
