"""The one HTTP app: seed 002's REST API, seed 001's stateless service, the review page.

`create_app` builds it from a store, a model pack and the token; `face-assets serve` runs it
with uvicorn (server.py). Domain errors become HTTP errors here, in one place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.requests import ClientDisconnect

from face_assets.api import pages, people, rest, service, videos
from face_assets.api.auth import Auth, CallerDep
from face_assets.api.limits import BodyLimitMiddleware
from face_assets.api.models import ModelService
from face_assets.defs.launcher import DagsterRuns, RunsUnavailable
from face_assets.errors import NameTakenError, StoreUnavailableError
from face_assets.settings import DEFAULT_MODEL_CONCURRENCY, DEFAULT_PROVIDERS
from face_assets.store import Store

TITLE = "face_assets"
SWAGGER_FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
log = logging.getLogger("face_assets.api")


def _json_error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


# What each domain error means to an HTTP client (its message becomes the detail).
ERROR_STATUS: dict[type[Exception], int] = {
    LookupError: 404,  # unknown person, face, cluster or run
    NameTakenError: 409,
    ValueError: 400,
    StoreUnavailableError: 503,
    RunsUnavailable: 503,
}


def _status_handler(status: int) -> Callable:
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        # KeyError quotes its message; the client gets the words alone.
        return _json_error(status, str(exc).strip("'\"") if status == 404 else str(exc))

    return handler


def create_app(
    store: Store,
    pack: str,
    token: str,
    *,
    runs: DagsterRuns | None = None,
    on_labelled: Callable[[], None] | None = None,
    providers: tuple[str, ...] = DEFAULT_PROVIDERS,
    model_concurrency: int = DEFAULT_MODEL_CONCURRENCY,
    load_models_at_start: bool = True,
    library_root: Path | None = None,
    det_size: int | None = None,
    model_root: Path | None = None,
) -> FastAPI:
    """The app for this store and pack. A weak token raises WeakTokenError here, before
    anything listens. `on_labelled` runs after every labelling operation (the CLI passes
    the Dagster report of person_labels)."""
    auth = Auth(token)
    models = ModelService(pack, providers, model_concurrency, det_size, model_root)
    runs = runs if runs is not None else DagsterRuns()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if load_models_at_start:
            models.load()  # once per process, before the first request is accepted
        try:
            yield
        finally:
            runs.close()

    app = FastAPI(
        title=TITLE,
        version=service.app_version(),
        description=(
            "Faces, persons and clusters of a photo library (seed 002's REST API under"
            " /api/v1/faces), the stateless detection and embedding service (seed 001), and"
            " the review page. Every route but /health needs the token: 'Authorization:"
            " Bearer <token>'."
        ),
        lifespan=lifespan,
        docs_url=None,  # served below with local Swagger UI files: no CDN
        redoc_url=None,
        openapi_url=None,  # served below, behind the token
    )
    app.state.store = store
    app.state.pack = pack
    app.state.auth = auth
    app.state.models = models
    app.state.runs = runs
    app.state.on_labelled = on_labelled
    app.state.library_root = library_root  # photos for manual faces and the photo page
    app.add_middleware(BodyLimitMiddleware)

    app.include_router(service.router)
    app.include_router(rest.router)
    app.include_router(people.router)
    app.include_router(videos.router)
    app.include_router(videos.jobs)
    app.include_router(pages.router)

    @app.get("/docs", include_in_schema=False)
    def docs(_: CallerDep) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{TITLE} API",
            swagger_js_url="/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/docs/static/swagger-ui.css",
            swagger_favicon_url="/docs/static/favicon-32x32.png",
        )

    @app.get("/docs/static/{name}", include_in_schema=False)
    def docs_static(name: str, _: CallerDep) -> FileResponse:
        if name not in SWAGGER_FILES:
            return _json_error(404, "not found")
        return FileResponse(
            f"{swagger_ui_bundle.swagger_ui_path}/{name}", media_type=SWAGGER_FILES[name]
        )

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(_: CallerDep) -> JSONResponse:
        return JSONResponse(_with_bearer(app.openapi()))

    for error, status in ERROR_STATUS.items():
        app.add_exception_handler(error, _status_handler(status))

    @app.exception_handler(ClientDisconnect)
    async def gone(request: Request, exc: ClientDisconnect) -> JSONResponse:
        # The client left mid-upload: nobody to answer, nothing worth a traceback.
        return _json_error(400, "client disconnected")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type")}
            for err in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    return app


def _with_bearer(schema: dict) -> dict:
    """Declare the Bearer token, so /docs' "Authorize" sends it with every try-out."""
    schema.setdefault("components", {})["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer"}
    }
    schema["security"] = [{"bearer": []}]
    return schema
