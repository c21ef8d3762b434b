"""Crash safety on PostgreSQL: the short version of ``reliability/crash.py --postgres``.

Both the uninterrupted run R and the killed-and-resumed store S are
PostgreSQL databases, so the kill delays follow PostgreSQL's pace; after
every kill and at the end, ``amcheck`` checks every btree index of S.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from postgres.server import PostgresServer

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from reliability.crash import run_harness  # noqa: E402


def test_a_killed_postgres_ingest_resumes_to_the_uninterrupted_run(
    pg_server: PostgresServer, tmp_path: Path, shared_data: Path
) -> None:
    reference = pg_server.url(pg_server.create_database())
    resumed = pg_server.url(pg_server.create_database())
    outcome = run_harness(
        200, 3, seed=4, workdir=tmp_path, store_url=resumed, reference_url=reference,
        models="light",
    )  # fmt: skip
    assert outcome.reference_articles >= 190
    assert any(r.killed for r in outcome.rounds)
    for r in outcome.rounds:
        assert r.problems == [], f"round {r.number}"
    assert outcome.problems == []


def test_the_reference_and_the_resumed_store_must_differ(
    pg_server: PostgresServer, tmp_path: Path
) -> None:
    url = pg_server.url(pg_server.create_database())
    with pytest.raises(RuntimeError, match="must differ"):
        run_harness(10, 1, seed=1, workdir=tmp_path, store_url=url, reference_url=url)
