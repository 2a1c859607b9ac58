"""A small review page: clusters of unlabelled faces as thumbnails, named from the browser.

Standard library only (http.server): it is a local tool for one person, so no extra web stack.
Everything served needs the auth token (project rule for anything on HTTP), given as
`Authorization: Bearer <token>` or as a session cookie set by opening `/?token=<token>` once.
POSTs also need a per-app CSRF token from the page's forms: the browser sends the cookie on
any request to this host, but only a page that could read ours knows the CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import re
import secrets
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from face_assets.services import labels, views
from face_assets.store import Store

TOKEN_ENV = "FACE_ASSETS_REVIEW_TOKEN"
MIN_TOKEN_LENGTH = 16
COOKIE_NAME = "face_assets_review"
THUMBS_PER_CLUSTER = 8
MAX_BODY_BYTES = 64 * 1024  # a label form is a few hundred bytes
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
_QUERY = re.compile(r"\?\S*")  # a query string in a logged request line
_THUMB_PATH = re.compile(r"/thumb/(\d{1,18})")  # 18 digits always fit a bigint

# No scripts, no frames, nothing from elsewhere: what an injected string could do is nil.
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline';"
    " form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:70rem;color:#222}
.cluster{border:1px solid #ddd;border-radius:6px;padding:.6rem .9rem;margin:.8rem 0}
.cluster h2{font-size:1rem;margin:.2rem 0;font-family:monospace}
.meta{color:#666;font-size:.9rem}
.thumbs img{width:96px;height:96px;object-fit:cover;margin:2px;border-radius:4px;background:#eee}
table{border-collapse:collapse}
td,th{padding:.25rem .7rem;border-bottom:1px solid #eee;text-align:left}
.error{color:#a00}
"""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def checked_token(token: str | None) -> str:
    """The token itself, if it is long enough to be a secret; a short one is refused."""
    if not token or len(token) < MIN_TOKEN_LENGTH:
        raise ValueError(
            f"the review page needs an auth token of at least {MIN_TOKEN_LENGTH} characters"
            f" (set {TOKEN_ENV}, e.g. export {TOKEN_ENV}="
            "$(python -c 'import secrets; print(secrets.token_urlsafe(24))'))"
        )
    return token


def _text(status: int, message: str) -> Response:
    return Response(status, f"{message}\n".encode())


def _redirect(location: str, headers: dict[str, str] | None = None) -> Response:
    return Response(HTTPStatus.SEE_OTHER, headers={"Location": location, **(headers or {})})


def _page(title: str, body: str, status: int = HTTPStatus.OK) -> Response:
    document = (
        f"<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )
    return Response(status, document.encode(), "text/html; charset=utf-8")


def _first(values: dict[str, list[str]], key: str) -> str:
    return (values.get(key) or [""])[0]


class ReviewApp:
    """The review page's routes, given a store, a model pack and the auth token."""

    def __init__(
        self,
        store: Store,
        pack: str,
        token: str,
        on_labelled: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.pack = pack
        self._token = checked_token(token)
        # The cookie holds a value derived from the token, so a leaked cookie is not the token.
        self._session = hmac.new(token.encode(), b"review-session", hashlib.sha256).hexdigest()
        self.csrf_token = secrets.token_urlsafe(32)
        self._on_labelled = on_labelled  # e.g. tell Dagster that person_labels changed

    # --- auth ------------------------------------------------------------------------------

    def _is_authorised(self, request: Request) -> bool:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), self._token.encode()):
            return True
        try:
            cookie = SimpleCookie(request.headers.get("cookie", ""))
        except CookieError:
            return False
        morsel = cookie.get(COOKIE_NAME)
        return morsel is not None and hmac.compare_digest(
            morsel.value.encode(), self._session.encode()
        )

    def _login(self, request: Request) -> Response:
        """`/?token=...` once: set the session cookie and drop the token from the address bar."""
        if not hmac.compare_digest(_first(request.query, "token").encode(), self._token.encode()):
            return _text(HTTPStatus.UNAUTHORIZED, "unauthorised: wrong token")
        cookie = f"{COOKIE_NAME}={self._session}; Path=/; HttpOnly; SameSite=Strict"
        return _redirect("/", {"Set-Cookie": cookie})

    def _has_csrf_token(self, form: dict[str, list[str]]) -> bool:
        return hmac.compare_digest(_first(form, "csrf").encode(), self.csrf_token.encode())

    # --- routing -----------------------------------------------------------------------------

    def respond(self, request: Request) -> Response:
        if request.method == "GET" and request.path == "/" and "token" in request.query:
            return self._login(request)
        if not self._is_authorised(request):
            return _text(
                HTTPStatus.UNAUTHORIZED,
                "unauthorised: send 'Authorization: Bearer <token>' or open /?token=<token> once",
            )
        if request.method == "GET":
            if request.path == "/":
                return self.clusters_page()
            if request.path == "/persons":
                return self.persons_page()
            thumb = _THUMB_PATH.fullmatch(request.path)
            if thumb:
                return self.thumbnail(int(thumb.group(1)))
            return _text(HTTPStatus.NOT_FOUND, "not found")
        if request.method == "POST" and request.path == "/label":
            return self.label(request)
        return _text(HTTPStatus.NOT_FOUND, "not found")

    # --- pages -------------------------------------------------------------------------------

    def clusters_page(self) -> Response:
        clusters = views.clusters(self.store, self.pack)
        samples = views.cluster_samples(self.store, self.pack, THUMBS_PER_CLUSTER)
        sections = [self._cluster_section(c, samples.get(c["cluster_id"], [])) for c in clusters]
        body = (
            "<h1>Clusters of unlabelled faces</h1>"
            f"<p><a href='/persons'>Persons</a> &middot; {len(clusters)} clusters, largest first."
            " Naming a cluster labels all its faces as that person (created if new).</p>"
            + ("".join(sections) or "<p>No clusters to review.</p>")
        )
        return _page("Review clusters", body)

    def _cluster_section(self, cluster: dict, face_ids: list[int]) -> str:
        cid = html.escape(cluster["cluster_id"])
        thumbs = "".join(
            f"<img src='/thumb/{int(f)}' alt='face {int(f)}' loading=lazy>" for f in face_ids
        )
        return (
            f"<section class=cluster><h2>{cid}</h2>"
            f"<div class=meta>{int(cluster['size'])} faces, average quality"
            f" {float(cluster['avg_quality'] or 0):.3f}</div>"
            f"<div class=thumbs>{thumbs}</div>"
            "<form method=post action='/label'>"
            f"<input type=hidden name=cluster value='{cid}'>"
            f"<input type=hidden name=csrf value='{html.escape(self.csrf_token)}'>"
            "<input name=name placeholder='Name' required maxlength=200> "
            "<button>Name this cluster</button></form></section>"
        )

    def persons_page(self) -> Response:
        persons = views.persons(self.store)
        rows = "".join(
            f"<tr><td>{int(p['id'])}</td><td>{html.escape(p['name'])}</td>"
            f"<td>{html.escape(p['status'])}</td><td>{int(p['faces'])}</td>"
            f"<td>{int(p['human'])}</td><td>{int(p['auto'])}</td>"
            f"<td>{'' if p['merged_into'] is None else int(p['merged_into'])}</td></tr>"
            for p in persons
        )
        body = (
            "<h1>Persons</h1><p><a href='/'>Clusters</a></p><table><tr><th>id</th><th>name</th>"
            "<th>status</th><th>faces</th><th>human</th><th>auto</th><th>merged into</th></tr>"
            f"{rows}</table>"
        )
        return _page("Persons", body)

    def thumbnail(self, face_id: int) -> Response:
        """The face's JPEG, found by id in the store; never a file outside the media root."""
        data = views.face_thumbnail(self.store, face_id)
        if data is None:
            return _text(HTTPStatus.NOT_FOUND, "no thumbnail for this face")
        return Response(HTTPStatus.OK, data, "image/jpeg")

    def label(self, request: Request) -> Response:
        form = parse_qs(request.body.decode("utf-8", errors="replace"), keep_blank_values=True)
        if not self._has_csrf_token(form):
            return _text(HTTPStatus.FORBIDDEN, "forbidden: missing or wrong CSRF token")
        cluster_id, name = _first(form, "cluster"), _first(form, "name")
        try:
            if not cluster_id:
                raise ValueError("no cluster given")
            labels.label_cluster(self.store, cluster_id, name, self.pack)
        except (LookupError, ValueError) as exc:
            body = (
                f"<h1>Not labelled</h1><p class=error>{html.escape(str(exc))}</p>"
                "<p>Nothing was changed. <a href='/'>Back to the clusters</a></p>"
            )
            return _page("Not labelled", body, HTTPStatus.BAD_REQUEST)
        if self._on_labelled is not None:
            self._on_labelled()
        return _redirect("/")


# --- HTTP server ---------------------------------------------------------------------------------


def _handler_for(app: ReviewApp) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to this app (http.server builds one per request)."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "face-assets-review"
        sys_version = ""

        def do_GET(self) -> None:  # http.server's naming
            self._dispatch(b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0 or length > MAX_BODY_BYTES:
                self._send(_text(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request too large"))
                return
            self._dispatch(self.rfile.read(length))

        def _dispatch(self, body: bytes) -> None:
            url = urlsplit(self.path)
            request = Request(
                method=self.command,
                path=url.path,
                query=parse_qs(url.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            try:
                response = app.respond(request)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                response = _text(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error (see the log)")
            self._send(response)

        def _send(self, response: Response) -> None:
            self.send_response(response.status)
            headers = {
                **_SECURITY_HEADERS,
                "Content-Type": response.content_type,
                "Content-Length": str(len(response.body)),
                **response.headers,
            }
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def log_message(self, format: str, *args) -> None:
            """The default log prints the request line, which may carry ?token=: drop queries."""
            line = _QUERY.sub("", format % args)
            sys.stderr.write(f"{self.address_string()} {line}\n")

    return Handler


def review_server(
    app: ReviewApp, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
) -> ThreadingHTTPServer:
    """A threaded HTTP server for the app (port 0 picks a free port: see .server_address)."""
    return ThreadingHTTPServer((host, port), _handler_for(app))
