"""Cross-check quality: planted conflicts, SummEdits and real independent reports.

Run: ``.venv/bin/python eval/checks.py`` (options: ``--per-change``, ``--seed``,
``--summedits N``, ``--neus-stories N``).  Data is read in place from
``../shared/data``.

1. Planted set (``eval/checks_set.py``): an ECB+ article or NeuS lead against
   a copy with one planted change.  Seven changes are conflicts, four keep
   the facts true.  A flag is correct when it is on a conflict pair and pairs
   the changed sentence with its source sentence; every other flag is false.
   Reported: per-kind recall (found, and found with the right kind),
   precision of flags by the kind they carry, false flags on the safe changes.
2. SummEdits news: is the one-sentence summary consistent with its document?
   A pair is predicted inconsistent when ``check_pair(document, summary)``
   flags anything.  Balanced accuracy and the precision of what is flagged.
3. NeuS: three outlets' leads of one story, no planted change and no gold.
   The flags are listed so a reader can judge them; their count per story is
   an upper bound on false flags between real independent reports.

Time per pair is wall time of ``Checker.pair`` including sentence embedding
and spaCy, with each article analysed once (as a pipeline would).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checks_set import CONFLICT_CHANGES, SAFE_CHANGES, PlantedPair, build
from common import print_table, shared_dir
from newsloom.check import Checker
from newsloom.types import Article, Conflict


def article(text: str, published=None, prefix: str = "") -> Article:
    paragraphs = [p for p in text.split("\n\n") if p.strip()] or [text]
    digest = hashlib.sha1(f"{prefix}{published}{text}".encode()).hexdigest()[:16]
    return Article(
        id=digest,
        url=None,
        canonical_url=None,
        site_name=None,
        title=None,
        authors=[],
        published=published,
        date_source=None,
        language="en",
        paragraphs=paragraphs,
        word_count=len(text.split()),
        read_minutes=1,
    )


def _correct(p: PlantedPair, c: Conflict) -> bool:
    if not p.conflict:
        return False
    if p.change == "person":
        old = p.a_sentence.split()  # any sentence naming the person counts
        return p.marker in c.b.sentence and c.a.sentence in p.original and bool(old)
    return c.b.sentence == p.b_sentence and c.a.sentence == p.a_sentence


def planted(args: argparse.Namespace, checker: Checker) -> None:
    pairs = build(shared_dir(), per_change=args.per_change, seed=args.seed)
    flags: list[tuple[PlantedPair, Conflict, bool]] = []
    found: dict[str, int] = Counter()
    kind_right: dict[str, int] = Counter()
    start = time.perf_counter()
    for p in pairs:
        a = article(p.original, p.a_published, "a")
        b = article(p.changed, p.b_published, "b")
        conflicts = checker.pair(a, b)
        hits = [c for c in conflicts if _correct(p, c)]
        found[p.change] += bool(hits)
        kind_right[p.change] += any(c.kind == p.change for c in hits)
        flags.extend((p, c, _correct(p, c)) for c in conflicts)
    seconds = time.perf_counter() - start
    per_pair = seconds / len(pairs) * 1000
    print(f"## Planted set: {len(pairs)} pairs (seed {args.seed}), {per_pair:.0f} ms per pair\n")
    counts = Counter(p.change for p in pairs)
    rows = []
    for kind in CONFLICT_CHANGES:
        by_kind = [ok for _, c, ok in flags if c.kind == kind]
        precision = sum(by_kind) / len(by_kind) if by_kind else float("nan")
        n = counts[kind]
        rows.append(
            [
                kind,
                n,
                found[kind] / n if n else 0.0,
                kind_right[kind] / n if n else 0.0,
                len(by_kind),
                precision,
            ]
        )
    all_ok = [ok for _, _, ok in flags]
    n_conf = sum(counts[k] for k in CONFLICT_CHANGES)
    rows.append(
        [
            "all",
            n_conf,
            sum(found[k] for k in CONFLICT_CHANGES) / n_conf,
            sum(kind_right[k] for k in CONFLICT_CHANGES) / n_conf,
            len(all_ok),
            sum(all_ok) / len(all_ok) if all_ok else float("nan"),
        ]
    )
    print_table(
        ["kind", "planted", "recall (any kind)", "recall (right kind)", "flags", "precision"], rows
    )
    rows = []
    for change in SAFE_CHANGES:
        false = [c for p, c, _ in flags if p.change == change]
        with_flag = len({p.id for p, c, _ in flags if p.change == change})
        rows.append([change, counts[change], with_flag, len(false)])
    print_table(["safe change", "pairs", "pairs flagged", "false flags"], rows)
    wrong = [(p, c) for p, c, ok in flags if not ok]
    if wrong and args.show:
        print("False flags (first 12):\n")
        for p, c in wrong[:12]:
            print(f"- [{p.change} → {c.kind}] {c.explanation}")
        print()


def _label(value) -> int:
    return int(value)


def summedits(args: argparse.Namespace, checker: Checker) -> None:
    path = shared_dir() / "data/summedits_news/summedits_news.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        items = [json.loads(line) for line in fh][: args.summedits or None]
    tp = fp = tn = fn = 0
    by_edit: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    kinds: Counter[str] = Counter()
    start = time.perf_counter()
    for item in items:
        doc = article(item["doc"], prefix="doc")
        summary = article(item["summary"], prefix="sum")
        conflicts = checker.pair(doc, summary)
        flagged = bool(conflicts)
        inconsistent = _label(item["label"]) == 0
        kinds.update(c.kind for c in conflicts)
        tp += flagged and inconsistent
        fp += flagged and not inconsistent
        tn += not flagged and not inconsistent
        fn += not flagged and inconsistent
        if inconsistent:
            edits = item.get("edit_types") or "[]"
            for edit in json.loads(edits) if isinstance(edits, str) else edits:
                by_edit[edit][0] += 1
                by_edit[edit][1] += flagged
    seconds = time.perf_counter() - start
    tpr = tp / (tp + fn) if tp + fn else 0.0
    tnr = tn / (tn + fp) if tn + fp else 0.0
    print(f"## SummEdits news: {len(items)} pairs, {seconds / len(items) * 1000:.0f} ms per pair\n")
    print_table(
        [
            "pairs",
            "inconsistent",
            "flagged",
            "flag precision",
            "recall (inconsistent)",
            "specificity",
            "balanced accuracy",
        ],
        [
            [
                len(items),
                tp + fn,
                tp + fp,
                tp / (tp + fp) if tp + fp else float("nan"),
                tpr,
                tnr,
                (tpr + tnr) / 2,
            ]
        ],
    )
    if by_edit:
        print_table(
            ["edit type", "inconsistent pairs", "flagged"],
            [[k, v[0], v[1]] for k, v in sorted(by_edit.items())],
        )
    print(f"Flag kinds on SummEdits: {dict(kinds)}\n")


def neus(args: argparse.Namespace, checker: Checker) -> None:
    path = shared_dir() / "data/neus_allsides/neus_train_val.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        items = [json.loads(line) for line in fh][: args.neus_stories]
    flags: list[Conflict] = []
    pairs = 0
    start = time.perf_counter()
    for item in items:
        arts = [
            article(a["text"], prefix=f"{item['id']}:{k}") for k, a in enumerate(item["articles"])
        ]
        pairs += len(arts) * (len(arts) - 1) // 2
        flags.extend(checker.story(arts, story_id=item["id"]))
    seconds = time.perf_counter() - start
    per_pair = seconds / max(pairs, 1) * 1000
    print(
        f"## NeuS independent reports: {len(items)} stories, {pairs} pairs, "
        f"{per_pair:.0f} ms per pair\n"
    )
    kinds = dict(Counter(c.kind for c in flags))
    print(f"{len(flags)} flags ({len(flags) / len(items):.3f} per story): {kinds}\n")
    for c in flags[: args.show_neus]:
        print(f"- [{c.story_id} {c.kind}] {c.explanation}")
        print(f"    A: {c.a.sentence}")
        print(f"    B: {c.b.sentence}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-change", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--summedits", type=int, default=0, help="first N pairs (0 = all)")
    parser.add_argument("--neus-stories", type=int, default=300)
    parser.add_argument("--show", action="store_true", help="list false flags on the planted set")
    parser.add_argument("--show-neus", type=int, default=20)
    parser.add_argument("--only", choices=["planted", "summedits", "neus"])
    args = parser.parse_args()
    checker = Checker()
    checker.analyse(article("Warm-up sentence about 12 people in Leeds on Monday."))
    for name, run in (("planted", planted), ("summedits", summedits), ("neus", neus)):
        if args.only in (None, name):
            run(args, checker)
            checker.forget()


if __name__ == "__main__":
    main()
