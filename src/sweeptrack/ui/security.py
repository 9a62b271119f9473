"""Who may ask what: the token, the login cookie, CSRF protection of edits, the Host check.

- With a token, every route but the login form needs ``Authorization: Bearer TOKEN`` or the
  session cookie the login form sets (HttpOnly, SameSite=Strict). Pages without it redirect to
  the login form; API calls get 401.
- Edits (POST, PUT, PATCH, DELETE) sent with the cookie, or with no credential at all (no token),
  need the page's CSRF token in the ``X-CSRF-Token`` header and, when the browser sends one, an
  ``Origin`` that is this server. A bearer token sent by a script is no ambient credential and
  needs neither.
- Served on a loopback address, only requests whose Host is a loopback name are answered, so a
  page on another site that rebinds its DNS name to 127.0.0.1 reads nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp

from sweeptrack.ui.settings import LOOPBACK_NAMES, UiSettings, is_loopback

__all__ = ["CSRF_HEADER", "SESSION_COOKIE", "Guard", "GuardMiddleware", "safe_next"]

SESSION_COOKIE = "sweeptrack_session"
CSRF_HEADER = "x-csrf-token"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_OPEN = ("/login", "/static/")


class Guard:
    """The secrets of one running dashboard (a new CSRF key each start)."""

    def __init__(self, settings: UiSettings) -> None:
        self.token = settings.token
        self._key = secrets.token_bytes(32)
        self.loopback = is_loopback(settings.host)
        self.hosts = LOOPBACK_NAMES | settings.extra_hosts

    def session_value(self) -> str:
        assert self.token is not None
        return hmac.new(self.token.encode(), b"sweeptrack-session-v1", hashlib.sha256).hexdigest()

    def csrf_token(self, request: Request) -> str:
        """The CSRF token of the request's session (the same for every page of it)."""
        session = request.cookies.get(SESSION_COOKIE, "") if self.token else "anonymous"
        return hmac.new(self._key, session.encode(), hashlib.sha256).hexdigest()

    def check_token(self, given: str) -> bool:
        return self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def bearer(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and self.check_token(value.strip())

    def cookie(self, request: Request) -> bool:
        value = request.cookies.get(SESSION_COOKIE)
        return (
            self.token is not None and value is not None and hmac.compare_digest(value, self.session_value())
        )

    def host_allowed(self, request: Request) -> bool:
        if not self.loopback:
            return True
        host = request.headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in self.hosts

    def same_origin(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is None:
            return True  # not a browser's cross-site form; the CSRF token still has to match
        parts = urlsplit(origin)
        return parts.netloc == request.headers.get("host", "") and parts.scheme in ("http", "https")


class GuardMiddleware(BaseHTTPMiddleware):
    """Applies :class:`Guard` to every request before it reaches a route."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        super().__init__(app)
        self.guard = guard

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        guard, path = self.guard, request.url.path
        if not guard.host_allowed(request):
            return PlainTextResponse("unknown Host: this dashboard answers on 127.0.0.1 only", 400)
        by_bearer = guard.bearer(request)
        if (
            guard.token is not None
            and not (by_bearer or guard.cookie(request))
            and not path.startswith(_OPEN)
        ):
            if path.startswith("/api/"):
                return JSONResponse(
                    {"detail": "this dashboard needs its token: send Authorization: Bearer TOKEN"},
                    401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            target = quote(path + (f"?{request.url.query}" if request.url.query else ""), safe="")
            return RedirectResponse(f"/login?next={target}", 303)
        if request.method in _UNSAFE and not by_bearer:
            if not guard.same_origin(request):
                return JSONResponse({"detail": "cross-site request refused"}, 403)
            given = request.headers.get(CSRF_HEADER, "")
            if path not in ("/login", "/logout") and not hmac.compare_digest(
                given, guard.csrf_token(request)
            ):
                return JSONResponse({"detail": "missing or wrong CSRF token; reload the page"}, 403)
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; object-src 'none'",
        )
        return response


def safe_next(target: str | None) -> str:
    """A redirect target after login: a path on this server, else the home page."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
