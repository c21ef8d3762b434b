"""Crash-safety harness for newsloom ingest (see crash.py)."""
