"""Request-body limits as a pure ASGI middleware: a size cap checked on Content-Length before
anything is read and again while the body streams in (chunked uploads have no length), and
a per-chunk read timeout so a client that stops sending does not hold a worker."""

from __future__ import annotations

import asyncio
import json

from starlette.exceptions import HTTPException

MiB = 1024 * 1024
MAX_UPLOAD_BYTES = 20 * MiB  # a phone JPEG is 3-8 MB and a 48 MP HEIC-to-JPEG about 15 MB
MAX_BODY_BYTES = 256 * 1024  # JSON and form bodies: a label or merge is a few hundred bytes
BODY_CHUNK_TIMEOUT = 30.0  # seconds between two body chunks before the request is dropped
RECOGNITION = "/api/v1/face-recognition"  # seed 003's routes (api/recognition.py)
# Routes that take an image upload (base64 in JSON too: 20 MiB holds a 15 MB photo).
UPLOAD_PATHS = (
    "/detect",
    "/extract-embedding",
    "/extract-single-embedding",
    f"{RECOGNITION}/extract-embedding",
    "/jobs/face_embedding",  # seed 000's crops (its API section's path)
    "/api/jobs/face_embedding",  # (and its curl example's)
)
# /match-face: api/recognition.py MAX_GALLERY (1000) x 512 floats as JSON is ~10 MB.
GALLERY_PATH, MAX_GALLERY_BODY_BYTES = f"{RECOGNITION}/match-face", 16 * MiB


class _TooLarge(HTTPException):
    """Raised from receive(): an HTTPException, so that FastAPI's body parsing passes it on
    (it turns any other error into a 400) and the app's handler answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over the limit of {limit} bytes")


class _TooSlow(HTTPException):
    def __init__(self) -> None:
        super().__init__(408, "request body not received in time")


def _limit_for(path: str) -> int:
    if path == GALLERY_PATH:
        return MAX_GALLERY_BODY_BYTES
    return MAX_UPLOAD_BYTES if path in UPLOAD_PATHS else MAX_BODY_BYTES


async def _send_error(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """413 for a body over the route's cap, 408 for a body that stalls; nothing else changes."""

    def __init__(self, app, chunk_timeout: float = BODY_CHUNK_TIMEOUT) -> None:
        self.app = app
        self.chunk_timeout = chunk_timeout

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = _limit_for(scope["path"])
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _send_error(send, 413, f"request body over the limit of {limit} bytes")
            return
        received = 0
        started = False

        async def limited_receive():
            nonlocal received
            try:
                message = await asyncio.wait_for(receive(), self.chunk_timeout)
            except TimeoutError:
                raise _TooSlow() from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
            return message

        async def tracked_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except (_TooLarge, _TooSlow) as exc:  # read outside a route (no handler caught it)
            if not started:
                await _send_error(send, exc.status_code, exc.detail)
