"""newsloom: news aggregation and verification.

The public API is small: ``extract`` turns HTML or text into an ``Article``,
``open_store`` opens a store by URL, and ``Pipeline`` ingests sources into it.
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
from newsloom.types import Article, Citation, Failure, Page, Repair

__version__ = "0.1.0"

__all__ = [
    "Article",
    "Citation",
    "ExtractionError",
    "Failure",
    "FetchError",
    "InputError",
    "NewsloomError",
    "Page",
    "Pipeline",
    "Repair",
    "Settings",
    "StoreError",
    "__version__",
    "extract",
    "load_settings",
    "open_store",
]


def __getattr__(name: str):  # lazy: the store and pipeline pull in more modules
    if name == "open_store":
        from newsloom.store import open_store

        return open_store
    if name == "Pipeline":
        from newsloom.pipeline import Pipeline

        return Pipeline
    raise AttributeError(name)
