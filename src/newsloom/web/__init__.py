"""The web app: server-rendered story and article pages, each with a ``.json`` twin.

``create_app(store_url)`` builds the FastAPI app; ``serve(...)`` runs it with
uvicorn (what ``newsloom serve`` and ``newsloom demo`` call).  No page needs
JavaScript, none sets a cookie, and a strict Content-Security-Policy keeps any
script that slipped into article text from running.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from newsloom.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["create_app", "serve"]


def create_app(store_url: str, settings: Settings | None = None) -> FastAPI:
    """The app over the store at ``store_url`` (opened now, so a bad URL fails here)."""
    from newsloom.web.app import StorePool, build_app

    return build_app(StorePool(store_url, settings))


def serve(
    store_url: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    settings: Settings | None = None,
) -> None:
    """Serve the app until interrupted (Ctrl-C)."""
    import gc

    import uvicorn

    app = create_app(store_url, settings)
    # Everything loaded so far (modules, models, templates) lives as long as the
    # server: frozen, full collections stop walking it.  They paused the
    # server for tens of milliseconds each under load (bench/web.py).
    gc.freeze()
    # No "Server: uvicorn" header and no access log of reader addresses.
    uvicorn.run(app, host=host, port=port, server_header=False, access_log=False)
