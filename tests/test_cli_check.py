"""``newsloom check A B`` on the two seed pages, as a fact-checker runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CLI = "from newsloom.cli import main; main()"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


@pytest.fixture(scope="module")
def seed_check(request: pytest.FixtureRequest) -> dict:
    from conftest import seed_path

    done = run("check", str(seed_path("000")), str(seed_path("004")), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_check_json_has_the_documented_shape(seed_check: dict) -> None:
    assert set(seed_check) >= {
        "a",
        "b",
        "relation",
        "source",
        "attributed",
        "passages",
        "conflicts",
    }
    for side in ("a", "b"):
        assert set(seed_check[side]) >= {
            "id",
            "url",
            "title",
            "site_name",
            "published",
            "citations",
        }
    assert seed_check["source"] in ("a", "b", None)
    for conflict in seed_check["conflicts"]:
        assert set(conflict) >= {"kind", "a", "b", "explanation", "confidence"}
        assert conflict["a"]["article_id"] == seed_check["a"]["id"]
        assert conflict["b"]["article_id"] == seed_check["b"]["id"]


def test_the_rewritten_copy_is_flagged_uncredited_and_the_summary_credits_the_post(
    seed_check: dict,
) -> None:
    assert seed_check["a"]["uncredited"] is True
    assert seed_check["a"]["credits"] == []
    assert seed_check["b"]["uncredited"] is False
    assert "washingtonpost.com" in {c["domain"] for c in seed_check["b"]["credits"]}


def test_the_visit_length_conflict_is_found_and_nothing_else_about_talks_or_friends(
    seed_check: dict,
) -> None:
    durations = [c for c in seed_check["conflicts"] if c["kind"] == "duration"]
    assert any(
        "two-day" in c["a"]["sentence"] and "three-day" in c["b"]["sentence"] for c in durations
    )
    for conflict in seed_check["conflicts"]:
        both = (conflict["a"]["sentence"] + " " + conflict["b"]["sentence"]).lower()
        assert "friend" not in both, conflict  # "good friends" vs "dear friend" is no conflict
        assert "hours" not in both, conflict  # talks on two different days, each with its length


def test_sentences_are_quoted_as_they_read_in_the_clean_text(seed_check: dict, tmp_path) -> None:
    from conftest import seed_path

    for side, prefix in (("a", "000"), ("b", "004")):
        done = run("extract", str(seed_path(prefix)), "--json")
        text = json.loads(done.stdout)["text"]
        for conflict in seed_check["conflicts"]:
            assert conflict[side]["sentence"] in text


def test_check_names_a_bad_argument_and_exits_non_zero(tmp_path: Path) -> None:
    done = run(
        "check", str(tmp_path / "missing.html"), "nope", "--store", f"sqlite:///{tmp_path}/n.db"
    )
    assert done.returncode == 2
    assert "missing.html" in done.stderr
