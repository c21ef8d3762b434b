"""How a batch spreads work over cores: one file read by several tasks, and
stories dealt to partitions by their estimated cost.  No Spark needed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import newsloom.batch.job as job
from newsloom.batch.analysis import PARTITIONS_PER_CORE, plan_partitions, story_cost
from newsloom.batch.inputs import InputFile, order_of
from newsloom.demo import corpus_path
from newsloom.settings import Settings
from newsloom.types import Failure, Page
from read_helpers import WarcItem, build_warc


def _warc(folder: Path) -> Path:
    """Five pages, then a record cut off half-way (a Failure at the end)."""
    pages = sorted((corpus_path() / "html").rglob("*.html"))[:5]
    items = [WarcItem(f"https://warc.example/{p.stem}", p.read_bytes()) for p in pages]
    tail = build_warc([WarcItem("https://warc.example/late", pages[0].read_bytes())])
    path = folder / "crawl.warc.gz"
    path.write_bytes(build_warc(items) + tail[: len(tail) // 2])
    return path


def _read(item: InputFile, part: int, parts: int) -> list[tuple[int, str, str]]:
    found = job._read_file_safely(item, Settings(), part, parts)
    return [(order, type(result).__name__, result.source) for order, result in found]


def test_one_file_split_between_cores_reads_every_record_once(tmp_path: Path) -> None:
    item = InputFile(order_of(0, 0, 0), str(_warc(tmp_path)), local=True)
    slices = job.read_slices([item], width=2)
    assert [(s[1], s[2]) for s in slices] == [(0, 2), (1, 2)]

    whole = _read(item, 0, 1)
    first, second = (_read(*s) for s in slices)
    assert first and second
    assert not set(first) & set(second)
    assert sorted(first + second) == whole
    assert {kind for _, kind, _ in whole} == {Page.__name__, Failure.__name__}


def test_enough_files_are_read_whole() -> None:
    files = [InputFile(order_of(0, i, 0), f"/data/{i}.warc.gz", local=True) for i in range(3)]
    assert job.read_slices(files, width=2) == [(f, 0, 1) for f in files]
    # Fewer files than cores: each is split, into enough parts to fill them.
    assert [s[2] for s in job.read_slices(files, width=8)] == [3] * 9


def test_internal_error_in_a_split_file_is_reported_once(monkeypatch: pytest.MonkeyPatch) -> None:
    item = InputFile(order_of(0, 0, 0), "/data/broken.warc.gz", local=True)

    def three_then_crash(item: InputFile, settings: Settings) -> Iterator[tuple[int, Page]]:
        for index in range(3):
            yield item.base | index, Page(source=f"{item.location}#{index}", body=b"<p>x</p>")
        raise RuntimeError("parser bug")

    monkeypatch.setattr(job, "read_local", three_then_crash)
    found = _read(item, 0, 2) + _read(item, 1, 2)
    failures = [row for row in found if row[1] == Failure.__name__]
    assert failures == [(item.base | 3, Failure.__name__, item.location)]
    assert sorted(order for order, _, _ in found) == [0, 1, 2, 3]


def test_story_cost_counts_kept_articles_and_their_pairs() -> None:
    assert story_cost(1, 60) == 1
    assert story_cost(4, 60) == 4 + 6
    # analyse_story keeps at most max_articles members.
    assert story_cost(500, 60) == story_cost(60, 60)


def test_plan_partitions_balances_stories_by_cost() -> None:
    sizes = {"big": 40, "mid-a": 10, "mid-b": 10} | {f"small-{i:02d}": 2 for i in range(30)}
    plan = plan_partitions(sizes, width=2, max_articles=60)
    assert set(plan) == set(sizes)
    assert set(plan.values()) == set(range(2 * PARTITIONS_PER_CORE))
    # The big story costs more than all the others together: it runs alone.
    assert [s for s, p in plan.items() if p == plan["big"]] == ["big"]
    loads = [0] * (2 * PARTITIONS_PER_CORE)
    for story, part in plan.items():
        loads[part] += story_cost(sizes[story], 60)
    rest = sorted(load for part, load in enumerate(loads) if part != plan["big"])
    # Greedy largest-first: the others differ by at most one (largest) item.
    assert rest[-1] - rest[0] <= story_cost(10, 60)
    # The plan depends on the stories, not on the order they are listed in.
    assert plan_partitions(dict(reversed(sizes.items())), 2, 60) == plan


def test_plan_partitions_equal_stories_spread_evenly() -> None:
    plan = plan_partitions({f"s{i:02d}": 5 for i in range(16)}, width=2, max_articles=60)
    counts = [list(plan.values()).count(p) for p in range(2 * PARTITIONS_PER_CORE)]
    assert counts == [2] * (2 * PARTITIONS_PER_CORE)
    assert plan_partitions({"only": 3}, width=2, max_articles=60) == {"only": 0}
    assert plan_partitions({}, width=2, max_articles=60) == {}
