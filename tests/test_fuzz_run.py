"""``make fuzz`` (fuzz/run.py): inputs split between workers add up, and a resumed run goes on."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parents[1] / "fuzz" / "run.py"


def fuzz(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUN), *args], capture_output=True, text=True, timeout=600, check=False
    )


def test_two_workers_share_the_inputs_and_a_resumed_run_adds_nothing(tmp_path: Path) -> None:
    out = tmp_path / "fuzz"
    first = fuzz(
        "--seed", "5", "--start", "100", "--count", "140", "--jobs", "2", "--out", str(out)
    )
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    assert re.search(r"seed 5: 40 inputs in", first.stdout), first.stdout
    shares = json.loads((out / "shards.json").read_text())["shards"]
    assert shares == [[100, 120], [120, 140]]
    for k, (start, stop) in enumerate(shares):
        state = json.loads((out / f"shard-{k}" / "state.json").read_text())
        assert state["next_index"] == stop and state["done"] == stop - start

    again = fuzz("--resume", "--jobs", "3", "--out", str(out))
    assert again.returncode == 0, again.stdout[-2000:]
    # The saved split is kept, every share is finished: the same 40 inputs.
    assert re.search(r"seed 5: 40 inputs in", again.stdout), again.stdout
