"""``spark-submit`` to a standalone Spark cluster on loopback gives the single process's results.

The other Spark tests run the driver and executors in one ``local[2]``
session.  Here a real standalone master and worker (two more JVMs, started
with pyspark's own ``spark-class``) run the executors, ``spark-submit``
launches ``newsloom/batch/submit.py`` as docs/batch.md describes, and every
task's data crosses process boundaries as it would on a cluster.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from helpers import partition, single_process

import newsloom.batch.submit as submit
from clustering_metrics import bcubed
from newsloom.demo import corpus_path

START_SECONDS = 90.0
JOB_SECONDS = 900.0


def _free_ports(count: int) -> list[int]:
    """Distinct free ports: every socket stays open until all are bound, so the
    OS cannot hand the same port out twice."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _spark_bin() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin"


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_LOG_DIR=str(tmp / "logs"),
        SPARK_WORKER_DIR=str(tmp / "work"),
    )
    return env


def _ui_port(master_log: Path, asked: int) -> int:
    """The port the master's web UI really bound: Spark moves to the next port
    when the one asked for is taken, and says so only in its log."""
    try:
        text = master_log.read_text(errors="replace")
    except OSError:
        return asked
    bound = re.search(r"Bound MasterWebUI to \S+? and started at \S+:(\d+)", text)
    return int(bound.group(1)) if bound else asked


def _alive_workers(ui_port: int, master_url: str) -> int:
    """Alive workers of *our* master; 0 while the UI is not up or the port
    answers with something else (another service, an HTML page)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as answer:
            state = json.load(answer)
    except (OSError, ValueError):
        return 0
    if not isinstance(state, dict) or state.get("url") != master_url:
        return 0
    return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")


@contextmanager
def standalone_cluster(tmp: Path) -> Iterator[str]:
    """A master and one two-core worker on loopback; yields the master URL."""
    port, ui, worker_ui = _free_ports(3)
    url = f"spark://127.0.0.1:{port}"
    env = _env(tmp)
    spark_class = str(_spark_bin() / "spark-class")
    logs = []
    processes = []
    try:
        for name, argv in (
            (
                "master",
                [
                    "org.apache.spark.deploy.master.Master",
                    *("--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui)),
                ],
            ),
            (
                "worker",
                [
                    "org.apache.spark.deploy.worker.Worker",
                    *("--host", "127.0.0.1", "--cores", "2", "--memory", "3g"),
                    *("--webui-port", str(worker_ui), "--work-dir", str(tmp / "work"), url),
                ],
            ),
        ):
            log = (tmp / f"{name}.log").open("wb")
            logs.append(log)
            processes.append(
                subprocess.Popen(
                    [spark_class, *argv],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # killed with its children below
                )
            )
        deadline = time.monotonic() + START_SECONDS
        while _alive_workers(_ui_port(tmp / "master.log", ui), url) < 1:
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                text = "\n".join(
                    (tmp / f"{n}.log").read_text()[-2000:] for n in ("master", "worker")
                )
                pytest.fail(f"the standalone cluster did not start:\n{text}")
            time.sleep(0.5)
        yield url
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for log in logs:
            log.close()


def test_spark_submit_on_a_standalone_cluster_matches_the_single_process(
    spark: Any, tmp_path: Path
) -> None:
    inputs = [str(corpus_path())]
    single, _report = single_process(inputs, tmp_path / "single.db", analyse=True)
    out = tmp_path / "out"
    with standalone_cluster(tmp_path) as master:
        launched = subprocess.run(
            [
                str(_spark_bin() / "spark-submit"),
                "--master",
                master,
                "--conf",
                "spark.executor.memory=2g",
                submit.__file__,
                *inputs,
                "--out",
                str(out),
                "--partitions",
                "2",
            ],
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=JOB_SECONDS,
            check=False,
        )
        assert launched.returncode == 0, launched.stderr[-4000:]
        # The job ran on the cluster's executors, not in a local session.
        executors = list((tmp_path / "work").glob("app-*/*/stderr"))
        assert executors, "no executor ran on the worker"

    rows = spark.read.parquet(str(out / "articles")).select("id", "group_id", "story_id").collect()
    groups = {r["id"]: r["group_id"] for r in rows}
    stories = {r["id"]: r["story_id"] for r in rows}
    assert groups == single.groups
    assert bcubed(list(stories.values()), [single.stories[a] for a in stories]).f1 >= 0.99
    if partition(stories) == partition(single.stories):
        edges = {
            (r["derived_id"], r["source_id"], r["relation"])
            for r in spark.read.parquet(str(out / "provenance")).collect()
        }
        assert edges == single.edges
    assert spark.read.parquet(str(out / "errors")).count() == 0
