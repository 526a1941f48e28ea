"""The Starlette application: static page, JSON API, and the guards around them.

Routes: ``GET /`` (the page), ``/static/...`` (its CSS, JavaScript and vendored KaTeX),
``GET /api/info`` (styles, backends, examples, limits) and ``POST /api/{derivative, explain, check,
code, analysis}``.  Each POST body is validated in the server (``limits.validate``: length,
order, field types) and computed in a worker process (``workers.Pool``) under the time limit.

Guards, in one ASGI middleware: only ``Host`` headers naming this machine (localhost,
127.0.0.1, [::1], plus the address the server was bound to) are answered, which defeats DNS
rebinding; every response carries a Content-Security-Policy that allows only the page's own
scripts, styles, fonts and images (``data:`` images for plots), and no framing.  POSTs must be
``application/json`` (so that no other site can post a simple form to the API), at most
``max_body`` bytes.
"""

from __future__ import annotations

import contextlib
import json
import pathlib

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import compute
from .limits import Limits, RequestError, validate
from .workers import Busy, Pool, WorkerDied, WorkTimeout

STATIC = pathlib.Path(__file__).resolve().parent / "static"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "font-src 'self'; img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """ASGI middleware: the Host check and the security headers."""

    def __init__(self, app, allowed_hosts):
        self.app = app
        self.allowed = {h.lower() for h in allowed_hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        if _hostname(host) not in self.allowed:
            response = _error(
                403, f"tensorcalc serve answers only requests for localhost, not {host!r}"
            )
            return await response(scope, receive, self._secure(send))
        return await self.app(scope, receive, self._secure(send))

    @staticmethod
    def _secure(send):
        async def wrapped(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        return wrapped


def _error(status: int, message: str, position=None) -> JSONResponse:
    return JSONResponse({"error": message, "position": position, "notes": []}, status)


async def _body(request: Request, limits: Limits):
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise RequestError(415, "send the request as JSON (Content-Type: application/json)")
    size = request.headers.get("content-length")
    if size and size.isdigit() and int(size) > limits.max_body:
        raise RequestError(413, f"the request has {size} bytes; the limit is {limits.max_body}")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limits.max_body:
            raise RequestError(413, f"the request is over the limit of {limits.max_body} bytes")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise RequestError(400, f"the body is not valid JSON: {err}") from None


def create_app(limits: Limits | None = None, allowed_hosts=()) -> Starlette:
    """The page and its JSON API.  ``allowed_hosts`` adds names to localhost's for the Host
    check (the address given to ``--host``).

    >>> app = create_app()
    >>> [r.path for r in app.routes]
    ['/', '/api/info', '/api/{task}', '/static']
    """
    limits = limits or Limits()
    pool = Pool(limits.workers, limits.timeout, limits.max_waiting)

    async def api(request: Request):
        task = request.path_params["task"]
        try:
            req = validate(task, await _body(request, limits), limits)
            status, body = await pool.run(task, req)
        except RequestError as err:
            return _error(err.status, err.message, err.position)
        except WorkTimeout:
            return _error(
                422,
                f"the computation took longer than the limit of {limits.timeout:g} s and was "
                "stopped; try a lower order or a shorter expression",
            )
        except WorkerDied:
            return _error(422, "the computation stopped (it used too much memory?) ")
        except Busy:
            return _error(429, "the server is busy; try again in a moment")
        return JSONResponse(body, status)

    async def info(request: Request):
        return JSONResponse(
            {
                **compute.info(),
                "limits": {
                    "max_expression": limits.max_expression,
                    "max_order": limits.max_order,
                    "timeout": limits.timeout,
                },
            }
        )

    async def index(request: Request):
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await pool.start()
        try:
            yield
        finally:
            pool.close()

    routes = [
        Route("/", index),
        Route("/api/info", info),
        Route("/api/{task}", api, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(Guard, allowed_hosts=[*LOCAL_HOSTS, *allowed_hosts])
    return app
