"""Batch processing on Apache Spark: ``newsloom batch`` and ``newsloom load``.

``run_batch`` runs the steps of ``Pipeline.ingest`` (read, extract, dedup,
stories, provenance and checks) over many files on a Spark cluster or
``local[*]`` and writes Parquet tables; ``load_output`` puts those tables into
a store so ``newsloom serve`` shows them.  See docs/batch.md.

pyspark is optional (``pip install 'newsloom[spark]'``) and imported only
when a job runs.
"""

from __future__ import annotations

from newsloom.batch.job import BatchOptions, BatchReport, run_batch
from newsloom.batch.load import LoadReport, load_output
from newsloom.batch.session import spark_available, spark_session

__all__ = [
    "BatchOptions",
    "BatchReport",
    "LoadReport",
    "load_output",
    "run_batch",
    "spark_available",
    "spark_session",
]
