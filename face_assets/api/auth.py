"""Who may call the app: one shared token, as a Bearer header or a browser session.

A browser visits `/?token=...` once and gets a random session id in an HttpOnly,
SameSite=Strict cookie that expires; the token itself never sits in a cookie. A request that
authenticates by cookie and changes state must also carry the session's CSRF token (a form
field or the X-CSRF-Token header): the browser adds the cookie to any request to this host,
but only a page that could read ours knows the CSRF token. Bearer requests need no CSRF
token: a browser never adds that header by itself. Every comparison is constant-time.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

TOKEN_ENV = "FACE_ASSETS_API_TOKEN"
LEGACY_TOKEN_ENV = "FACE_ASSETS_REVIEW_TOKEN"  # the old review page's variable, still read
# 20 random url-safe characters = 120 bits. Not 16: zxcvbn scores a string of n characters
# at most n (10**n brute-force guesses), so a 16-character token met the bar below only when
# zxcvbn found no pattern at all in it; 1,895 of 20,000 secrets.token_urlsafe(12) (16
# characters) were refused as guessable, none of 5,000 token_urlsafe(15) (20; lowest 17.4).
MIN_TOKEN_LENGTH = 20
MIN_DISTINCT_CHARACTERS = 8  # "aaaa...", "abababab..." and the like are not secrets
# zxcvbn's estimate of the guesses a token needs, as log10: "password1234567890" scores 4.2,
# "correcthorsebatterystaple" 14.4; a generated token of MIN_TOKEN_LENGTH scores above 17.
MIN_TOKEN_GUESSES_LOG10 = 16.0
SESSION_COOKIE = "face_assets_session"
SESSION_SECONDS = 12 * 60 * 60  # a working day: a browser logs in again the next morning
MAX_SESSIONS = 1000  # logins need the token, so this only bounds memory; oldest dropped first
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_HINT = (
    f"set {TOKEN_ENV}, e.g. export {TOKEN_ENV}="
    "$(python -c 'import secrets; print(secrets.token_urlsafe(24))')"
)


class WeakTokenError(ValueError):
    """The configured token is not a usable secret; the app refuses to start."""


def check_token_strength(token: str | None) -> str:
    """The token itself when it is a usable secret; WeakTokenError naming the rule otherwise.

    The one place for the rule: at least MIN_TOKEN_LENGTH characters, no whitespace (headers
    and cookies trim it), at least MIN_DISTINCT_CHARACTERS different characters (which
    also refuses a single repeated character), and no token zxcvbn finds guessable (made of
    dictionary words, common passwords, sequences or keyboard runs): generated ones pass.
    """
    if not token or not token.strip():
        raise WeakTokenError(f"the app needs an auth token; {TOKEN_HINT}")
    if len(token) < MIN_TOKEN_LENGTH:
        raise WeakTokenError(
            f"the auth token must be at least {MIN_TOKEN_LENGTH} characters; {TOKEN_HINT}"
        )
    if any(c.isspace() for c in token):
        raise WeakTokenError(f"the auth token must not contain whitespace; {TOKEN_HINT}")
    if len(set(token)) < MIN_DISTINCT_CHARACTERS:
        raise WeakTokenError(
            f"the auth token needs at least {MIN_DISTINCT_CHARACTERS} different characters"
            f" (a repeated pattern is guessable); {TOKEN_HINT}"
        )
    from zxcvbn import zxcvbn

    if zxcvbn(token)["guesses_log10"] < MIN_TOKEN_GUESSES_LOG10:
        raise WeakTokenError(
            "the auth token is guessable (common words, passwords, sequences or keyboard"
            f" patterns); use a generated one: {TOKEN_HINT}"
        )
    return token


def token_from_env(env: dict[str, str] | None = None) -> str:
    """The token from FACE_ASSETS_API_TOKEN (or the old FACE_ASSETS_REVIEW_TOKEN), checked."""
    import os

    env = os.environ if env is None else env
    return check_token_strength(env.get(TOKEN_ENV) or env.get(LEGACY_TOKEN_ENV) or "")


@dataclass
class Session:
    expires: float
    csrf: str


@dataclass(frozen=True)
class Caller:
    """How a request authenticated; `csrf` is the session's token for pages to embed."""

    via: str  # "bearer" or "cookie"
    csrf: str = ""


class Auth:
    """The token and the live browser sessions of one app."""

    def __init__(self, token: str) -> None:
        self._token = check_token_strength(token).encode()
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def token_matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self._token)

    def new_session(self) -> str:
        sid = secrets.token_urlsafe(32)
        now = time.time()
        with self._lock:
            for old in [k for k, s in self._sessions.items() if s.expires <= now]:
                del self._sessions[old]
            while len(self._sessions) >= MAX_SESSIONS:
                del self._sessions[min(self._sessions, key=lambda k: self._sessions[k].expires)]
            self._sessions[sid] = Session(now + SESSION_SECONDS, secrets.token_urlsafe(32))
        return sid

    def session(self, sid: str) -> Session | None:
        """The live session of this id (constant-time match), None when unknown or expired."""
        now = time.time()
        with self._lock:
            for key, found in self._sessions.items():
                if hmac.compare_digest(key.encode(), sid.encode()):
                    return found if found.expires > now else None
        return None

    def cookie_header(self, sid: str) -> str:
        return (
            f"{SESSION_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}"
        )

    async def caller(self, request: Request) -> Caller:
        """Authenticate a request: Bearer token, or session cookie (+ CSRF on writes)."""
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and given and self.token_matches(given.strip()):
            return Caller("bearer")
        sid = request.cookies.get(SESSION_COOKIE, "")
        found = self.session(sid) if sid else None
        if found is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "unauthorised: send 'Authorization: Bearer <token>' or open /?token=<token> once",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not sent and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")
            ):
                form = await request.form()
                value = form.get(CSRF_FIELD)
                sent = value if isinstance(value, str) else ""
            if not hmac.compare_digest(sent.encode(), found.csrf.encode()):
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN, "forbidden: missing or wrong CSRF token"
                )
        return Caller("cookie", found.csrf)


async def require_caller(request: Request) -> Caller:
    """FastAPI dependency: the request's Caller, or 401/403."""
    auth: Auth = request.app.state.auth
    return await auth.caller(request)


CallerDep = Annotated[Caller, Depends(require_caller)]  # a route parameter that authenticates
