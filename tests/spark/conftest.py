"""Spark tests share one local[2] session; without pyspark or Java they skip,
or fail when NEWSLOOM_REQUIRE_SPARK=1 (``make test-spark``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsloom.batch.session import spark_available

REPO = Path(__file__).resolve().parents[2]
# B-cubed comes from the evaluation code, so the tests score what the evals score.
sys.path.insert(0, str(REPO / "eval"))


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    missing = spark_available()
    if missing:
        if os.environ.get("NEWSLOOM_REQUIRE_SPARK") == "1":
            pytest.fail(f"NEWSLOOM_REQUIRE_SPARK=1 but {missing}")
        pytest.skip(missing)
    from newsloom.batch import spark_session

    session = spark_session("local[2]", partitions=2)
    yield session
    session.stop()
