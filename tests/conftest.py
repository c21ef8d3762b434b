"""Shared fixtures: the seed pages and data sets are read from ../shared at run time."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NEWSLOOM_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; a test that needs it is skipped where it is missing."""
    data = SHARED / "data"
    if not (data / "ecbplus").is_dir():
        pytest.skip(f"shared data sets not found under {data}")
    return data


def seed_path(prefix: str) -> Path:
    matches = sorted((SHARED / "seeds").glob(f"{prefix}_*.txt"))
    if not matches:
        pytest.skip(f"seed {prefix} not found under {SHARED / 'seeds'}")
    return matches[0]


@pytest.fixture
def seed000() -> Path:
    return seed_path("000")


@pytest.fixture
def seed004() -> Path:
    return seed_path("004")
