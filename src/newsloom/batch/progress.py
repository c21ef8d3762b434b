"""Stage and task progress of a running job, polled from ``sc.statusTracker()``.

Spark's own console bar is switched off (it fights with rich's); a thread
reads the tracker twice a second and hands a one-line description to the
caller, who decides how (and whether) to show it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark import SparkContext

__all__ = ["StageProgress", "poll_stages", "watch"]


@dataclass(slots=True, frozen=True)
class StageProgress:
    stage_id: int
    name: str
    done: int
    running: int
    failed: int
    total: int

    def describe(self) -> str:
        # A stage name is "operation at file:line"; the operation is enough.
        name = self.name.split(" at ")[0]
        text = f"stage {self.stage_id} ({name}): {self.done}/{self.total} tasks"
        if self.failed:
            text += f", {self.failed} retried"
        return text


def poll_stages(sc: SparkContext) -> list[StageProgress]:
    """The stages running now, lowest id first."""
    tracker = sc.statusTracker()
    out = []
    for stage_id in sorted(tracker.getActiveStageIds()):
        info = tracker.getStageInfo(stage_id)
        if info is None:
            continue
        out.append(
            StageProgress(
                stage_id,
                info.name,
                info.numCompletedTasks,
                info.numActiveTasks,
                info.numFailedTasks,
                info.numTasks,
            )
        )
    return out


@contextmanager
def watch(
    sc: SparkContext, show: Callable[[str], None], *, interval: float = 0.5
) -> Iterator[None]:
    """Call ``show`` with the running stages' progress until the block ends."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            try:
                stages = poll_stages(sc)
            except Exception:  # the context may be stopping; progress is best effort
                continue
            if stages:
                show("; ".join(stage.describe() for stage in stages))

    thread = threading.Thread(target=loop, name="newsloom-spark-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=2 * interval)
