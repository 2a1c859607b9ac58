"""The one HTTP app: seed 002's REST API (with the People endpoints and the clips' tracks),
seed 001's stateless service, seed 000's embedding jobs, seed 003's recognition API, seed
004's harvest job, the review page.

`create_app` builds it from a store, a model pack and the token; `face-assets serve` runs it
with uvicorn (server.py). Domain errors become HTTP errors here, in one place.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from pydantic.alias_generators import to_camel
from starlette.requests import ClientDisconnect

from face_assets.api import embedding_jobs as job_routes
from face_assets.api import (
    pages_clusters,
    pages_faces,
    pages_login,
    pages_persons,
    pages_photos,
    pages_queue,
    pages_tracks,
    people,
    recognition,
    rest_clusters,
    rest_faces,
    rest_persons,
    rest_review,
    rest_runs,
    service,
    videos,
)
from face_assets.api.auth import Auth, CallerDep, require_caller
from face_assets.api.decode_budget import DecodeBudget
from face_assets.api.limits import BodyLimitMiddleware
from face_assets.api.models import ModelService
from face_assets.defs.launcher import DagsterRuns, RunsUnavailable
from face_assets.errors import ConflictError, NameTakenError, StoreUnavailableError
from face_assets.services import embedding_jobs
from face_assets.settings import (
    DEFAULT_JOB_WORKERS,
    DEFAULT_MODEL_CONCURRENCY,
    DEFAULT_PROVIDERS,
    Settings,
)
from face_assets.store import Store

TITLE = "face_assets"
SWAGGER_FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
log = logging.getLogger("face_assets.api")

DESCRIPTION = """Faces, persons and clusters of a photo library, and the people app's features
(manual faces, "not a face", covers, birthdates, search by face, photos of several persons).

**Authentication.** Every route but `/health` needs the token: send the header
`Authorization: Bearer <token>` (the *Authorize* button), or open `/?token=<token>` once in
this browser: its session cookie then works here too, and "Try it out" adds the session's
CSRF token to every write by itself.

**Casing.** Each seed keeps its own: the library API under `/api/v1/faces` (seed 002) speaks
camelCase JSON; the stateless detection service (`/health`, `/detect`,
`/extract-embedding`, seed 001) answers in that seed's snake_case.

**Errors** are `{"detail": ...}` with 400 (bad input, nothing changed), 401 (no token),
403 (a cookie write without its CSRF token), 404 (unknown id), 409 (a name taken, a photo
unreadable), 413 (too large), 422 (a body or parameter of the wrong shape), 503 (database or
Dagster unreachable)."""

TAGS = [
    {"name": "library", "description": "clusters, persons and faces of the library; long work"
     " (detection, clustering) as Dagster runs; the \"Is this X?\" queue (seed 002)"},
    {"name": "people", "description": "faces drawn by hand, \"not a face\", cover faces,"
     " birthdates, search by face, photos of several persons"},
    {"name": "detection service", "description": "stateless: detect faces, embed a face"
     " (seed 001, snake_case)"},
]  # fmt: skip


def _error(text: str) -> dict:
    return {"description": text, "content": {"application/json": {"example": {"detail": text}}}}


API_ERRORS: dict = {
    400: _error("bad input: nothing was changed"),
    401: _error("unauthorised: send 'Authorization: Bearer <token>'"),
    403: _error("forbidden: missing or wrong CSRF token"),
    404: _error("no such person, face, cluster, photo or run"),
    409: _error("conflict: the name is taken, or the photo is unreadable"),
    503: _error("the database or Dagster is unreachable"),
}
SERVICE_ERRORS: dict = {
    400: _error("image refused: not_an_image"),
    401: API_ERRORS[401],
    413: _error("image refused: too_many_pixels"),
}


def _swagger_page(csrf: str) -> str:
    """Swagger UI from the local bundle (no CDN), sending the session's CSRF token on writes."""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{TITLE} API</title><link rel=stylesheet href='/docs/static/swagger-ui.css'>"
        "<link rel=icon href='/docs/static/favicon-32x32.png'></head><body>"
        "<div id=swagger-ui></div><script src='/docs/static/swagger-ui-bundle.js'></script>"
        f"<script>const csrf = {json.dumps(csrf)};"
        "SwaggerUIBundle({url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true,"
        " layout: 'BaseLayout', presets: [SwaggerUIBundle.presets.apis],"
        " requestInterceptor: (req) => { if (csrf && req.method !== 'GET')"
        " req.headers['X-CSRF-Token'] = csrf; return req; }});</script></body></html>"
    )


def _json_error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


# What each domain error means to an HTTP client (its message becomes the detail).
ERROR_STATUS: dict[type[Exception], int] = {
    LookupError: 404,  # unknown person, face, cluster or run
    NameTakenError: 409,
    ConflictError: 409,  # a concurrent change: the body says what is there now (`current`)
    ValueError: 400,
    StoreUnavailableError: 503,
    RunsUnavailable: 503,
}


def _status_handler(status: int) -> Callable:
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, ConflictError) and exc.current:
            current = {to_camel(k): v for k, v in exc.current.items()}
            return JSONResponse({"detail": str(exc), "current": current}, status_code=status)
        # KeyError quotes its message; the client gets the words alone.
        return _json_error(status, str(exc).strip("'\"") if status == 404 else str(exc))

    return handler


# create_app's options that are Settings fields of the same names (seed 001's PROVIDERS,
# MODEL_CONCURRENCY, DET_SIZE and MODEL_CACHE_DIR, and JOB_WORKERS): `serve` passes them as
# read, by these names, so a new one is added here and in the signature, nowhere else.
SETTINGS_OPTIONS = ("providers", "model_concurrency", "det_size", "model_root", "job_workers")


def settings_options(settings: Settings) -> dict[str, object]:
    """The SETTINGS_OPTIONS of these settings, as create_app's keyword arguments."""
    return {name: getattr(settings, name) for name in SETTINGS_OPTIONS}


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
    job_worker: bool = True,
    job_workers: int = DEFAULT_JOB_WORKERS,
) -> FastAPI:
    """The app for this store and pack. A weak token raises WeakTokenError here, before
    anything listens. `on_labelled` runs after every labelling operation (the CLI passes
    the Dagster report of person_labels)."""
    auth = Auth(token)
    models = ModelService(pack, providers, model_concurrency, det_size, model_root)
    runs = runs if runs is not None else DagsterRuns()

    worker = embedding_jobs.Worker(store, models.load, job_workers) if job_worker else None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if load_models_at_start:
            models.load()  # once per process, before the first request is accepted
        if worker is not None:
            worker.start()  # seed 000's jobs: what a stopped app was running is queued again
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            runs.close()

    app = FastAPI(
        title=TITLE,
        version=service.app_version(),
        description=DESCRIPTION,
        openapi_tags=TAGS,
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
    app.state.job_worker = worker  # a submit wakes it (None when the app runs no worker)
    app.state.on_labelled = on_labelled
    app.state.library_root = library_root  # photos for manual faces and the photo page
    app.state.decode_budget = DecodeBudget()
    app.add_middleware(BodyLimitMiddleware)

    app.include_router(service.router, responses=SERVICE_ERRORS)
    for api in (rest_clusters, rest_persons, rest_faces, rest_runs, rest_review):
        app.include_router(api.router, responses=API_ERRORS)  # seed 002's API, by topic
    app.include_router(people.router, responses=API_ERRORS)
    app.include_router(videos.router, responses=API_ERRORS)
    app.include_router(videos.jobs, responses=API_ERRORS)
    app.include_router(job_routes.router, responses=API_ERRORS)
    # Seed 000's curl example says /api/jobs/...: the same routes answer there too.
    app.include_router(job_routes.router, prefix="/api", responses=API_ERRORS)
    for pages in (
        pages_login,
        pages_clusters,
        pages_persons,
        pages_faces,
        pages_photos,
        pages_queue,
        pages_tracks,
    ):
        app.include_router(pages.router)  # the review app, one router per page group
    app.include_router(recognition.router)
    app.state.recognition = recognition.RecognitionState(models)

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        """Swagger UI; without a session it asks for the token (and comes back here). With
        the browser's session, every "Try it out" carries the session's CSRF token."""
        try:
            caller = await require_caller(request)
        except HTTPException as exc:
            if exc.status_code != 401:
                raise
            return pages_login.login_form("/docs", 401)
        return HTMLResponse(_swagger_page(caller.csrf))

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
