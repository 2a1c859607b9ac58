"""uvicorn for the app: one event loop (idle connections cost a socket, not a thread), a
long listen backlog, keep-alive and header limits, and an access log without query strings
(`/?token=...` must never reach a log)."""

from __future__ import annotations

import logging
import re

import uvicorn

from face_assets.api.app import create_app, settings_options
from face_assets.defs.launcher import DagsterRuns
from face_assets.settings import DEFAULT_APP_HOST, DEFAULT_APP_PORT, Settings
from face_assets.store import Store

BACKLOG = 2048  # pending connections the kernel queues (http.server's was 5)
# Connections + running requests before uvicorn answers 503: far above the 200 idle
# connections a busy browser fleet holds, far below the process's file descriptor limit.
LIMIT_CONCURRENCY = 1000
TIMEOUT_KEEP_ALIVE = 5  # seconds an idle keep-alive connection is kept (uvicorn's default)
H11_MAX_INCOMPLETE_EVENT_SIZE = 64 * 1024  # request line + headers; larger gets a 400
TIMEOUT_GRACEFUL_SHUTDOWN = 10  # seconds running requests get on Ctrl-C / SIGTERM
_QUERY = re.compile(r"\?[^ \"]*")


class _NoQueryStrings(logging.Filter):
    """Drop query strings from uvicorn's access log lines (they may carry the token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_QUERY.sub("", a) if isinstance(a, str) else a for a in record.args)
        return True


def server_config(
    app, host: str = DEFAULT_APP_HOST, port: int = DEFAULT_APP_PORT, **extra
) -> uvicorn.Config:
    """The uvicorn configuration every entry point and test uses."""
    logging.getLogger("uvicorn.access").addFilter(_NoQueryStrings())
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http="h11",
        loop="asyncio",
        backlog=BACKLOG,
        limit_concurrency=LIMIT_CONCURRENCY,
        timeout_keep_alive=TIMEOUT_KEEP_ALIVE,
        h11_max_incomplete_event_size=H11_MAX_INCOMPLETE_EVENT_SIZE,
        timeout_graceful_shutdown=TIMEOUT_GRACEFUL_SHUTDOWN,
        server_header=False,
        proxy_headers=False,
        **extra,
    )


def serve(settings: Settings, token: str, host: str | None = None, port: int | None = None) -> None:
    """`face-assets serve`: the app on this host and port (default: the settings', where
    seed 001's HOST and PORT are read) until interrupted."""
    from face_assets.defs.instance import report_labels_changed

    store = Store(settings.database_url, settings.home)
    app = create_app(
        store,
        settings.pack,
        token,
        runs=DagsterRuns.from_settings(settings),
        on_labelled=lambda: report_labels_changed(store, settings.dagster_home),
        library_root=settings.library,
        **settings_options(settings),
    )
    config = server_config(
        app, host or settings.app_host, port or settings.app_port, log_level=settings.log_level
    )
    uvicorn.Server(config).run()
