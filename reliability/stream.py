"""The crash harness's input: one JSONL file of re-dated, perturbed news pages.

The pages come from ``bench/growth.py``'s synthetic stream (imported, not
copied): real articles from the shared data sets, re-dated over synthetic
time, each with lightly edited copies from other outlets and one copy in ten
verbatim, so exact and near duplicates and multi-article stories all occur.
Only enough whole events are taken for about three pages per base article, so
a small input still has copies.  Two more kinds of line make resumes
meaningful: a page repeated word for word under its own URL (a re-crawl: the
second sighting is "unchanged") and a few unusable lines, which every run
reports as failures.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT / "bench") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "bench"))

import growth  # noqa: E402  (bench/ is not a package)

__all__ = ["InputFile", "build_input"]

COPIES_PER_BASE = 3
# A re-crawled page every 100 lines and an unusable line every 1,500.
REPEAT_EVERY = 100
BAD_EVERY = 1500


@dataclass(slots=True, frozen=True)
class InputFile:
    path: Path
    pages: int  # distinct pages (each a distinct article)
    repeats: int  # pages seen a second time, unchanged
    bad_lines: int  # lines every run reports as failures


def _bad_line(number: int) -> str:
    # Alternately an object with no text and a line that is not JSON.
    if number % 2:
        return json.dumps({"url": f"https://bad.example/{number}", "title": "no body"})
    return "{not json " + str(number)


def build_input(folder: Path, pages: int, seed: int) -> InputFile:
    """Write ``pages`` distinct pages (plus repeats and bad lines) to ``folder/pages.jsonl``."""
    if pages < 1:
        raise ValueError("pages must be at least 1")
    bases = growth.load_bases()
    by_event: dict[str, list[int]] = {}
    for index, base in enumerate(bases):
        by_event.setdefault(base.event, []).append(index)
    events = sorted(by_event)
    rng = random.Random(seed)
    rng.shuffle(events)
    wanted = -(-pages // COPIES_PER_BASE)
    chosen: list[int] = []
    for event in events:
        if len(chosen) >= wanted:
            break
        chosen += by_event[event]
    stream = growth.build_stream([bases[i] for i in chosen], pages, seed)

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pages.jsonl"
    repeats = bad = 0
    written: list[str] = []
    with path.open("w", encoding="utf-8") as handle:
        for position, page in enumerate(stream.pages(0, len(stream))):
            meta = page.meta or {}
            line = json.dumps(
                {
                    "url": page.url,
                    "title": meta.get("title"),
                    "published": meta.get("published"),
                    "site_name": meta.get("site_name"),
                    "text": page.body.decode("utf-8"),
                },
                ensure_ascii=False,
            )
            handle.write(line + "\n")
            written.append(line)
            if position and position % REPEAT_EVERY == 0:
                handle.write(written[rng.randrange(len(written) - 1)] + "\n")
                repeats += 1
            if position and position % BAD_EVERY == BAD_EVERY // 2:
                bad += 1
                handle.write(_bad_line(bad) + "\n")
        if bad == 0:
            bad += 1
            handle.write(_bad_line(bad) + "\n")
    return InputFile(path, len(stream), repeats, bad)
