"""newsloom: news aggregation and verification.

The public API is small: ``extract`` turns HTML or text into an ``Article``,
``open_store`` opens a store by URL, ``Pipeline`` ingests sources into it,
``trace_pair`` says how two articles relate (who copied whom) and
``check_pair`` lists the facts they state differently.
"""

# Imported eagerly so that ``newsloom.extract`` is the function, not the
# subpackage of the same name (importing a submodule rebinds the attribute).
from newsloom.errors import (
    ExtractionError,
    FetchError,
    InputError,
    NewsloomError,
    StoreError,
)
from newsloom.extract import extract
from newsloom.settings import Settings, load_settings
from newsloom.types import Article, Citation, Conflict, Failure, Page, Provenance, Repair

__version__ = "0.1.0"

__all__ = [
    "Article",
    "Citation",
    "Conflict",
    "ExtractionError",
    "Failure",
    "FetchError",
    "InputError",
    "NewsloomError",
    "Page",
    "Pipeline",
    "Provenance",
    "Repair",
    "Settings",
    "StoreError",
    "__version__",
    "check_pair",
    "extract",
    "load_settings",
    "open_store",
    "trace_pair",
]


def __getattr__(name: str):  # lazy: the store and pipeline pull in more modules
    if name == "open_store":
        from newsloom.store import open_store

        return open_store
    if name == "Pipeline":
        from newsloom.pipeline import Pipeline

        return Pipeline
    if name == "trace_pair":
        from newsloom.trace import trace_pair

        return trace_pair
    if name == "check_pair":
        from newsloom.check import check_pair

        return check_pair
    raise AttributeError(name)
