"""What every service's Flask app has in common: flask-smorest with OpenAPI at /openapi.json,
problem+json errors, /healthz and /readyz, bearer-token security in the spec, JSON request logs
(every line of a request with its request id, its caller's sub and its W3C trace: begin_request),
and the guard in front of every /api/v1 request: the caller is known and the body is small enough
before any view, decorator or parser touches the body."""
from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Callable

import swagger_ui_bundle
from flask import Flask, current_app, g, has_request_context, request, send_from_directory
from flask import Blueprint as FlaskBlueprint
from flask_smorest import Api, Blueprint
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from . import logs, metrics, tracing
from .actor import Actor, set_actor
from .auth import current_principal
from .codes import normalize_code
from .config import Settings
from .db import Database
from .kafka import check_broker
from .keys import KeySet
from .problems import Problem, ProblemSchema, flatten_webargs_messages, problem_response
from .redis_client import get_redis

log = logging.getLogger("chitieu.http")
API_PREFIX = "/api/v1"
REQUEST_ID_HEADER = "X-Request-Id"
# A caller's request id is kept when it is one short token of these characters (a UUID, a
# proxy's or load balancer's id); anything else (too long, spaces, quotes, newlines, non-ASCII:
# what could forge or break a log line) is replaced by one made here.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:@+/=-]{1,128}")
# Swagger UI at /docs, its scripts and styles served by the app itself from the pinned
# swagger-ui-bundle package (no CDN: the page works on a network without the internet). The asset
# URL is relative to the page, so behind the proxy /quota/docs loads /quota/docs/assets/...
DOCS_PATH = "docs"
DOCS_ASSETS = "docs/assets/"


class ProblemApi(Api):
    """flask-smorest's Api, answering every HTTP error as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _openapi_json(self):
        """The spec, naming the path prefix the proxy serves this API under (X-Forwarded-Prefix,
        trusted through CHITIEU_PROXY_HOPS) as its server, so Swagger UI's "Try it out" calls
        /quota/api/v1/... rather than the web service's /api/v1/... on the same origin."""
        spec = self.spec.to_dict()
        if request.script_root:
            spec = {**spec, "servers": [{"url": request.script_root}]}
        return current_app.response_class(current_app.json.dumps(spec, indent=2, sort_keys=False),
                                          mimetype="application/json")

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        errors = flatten_webargs_messages(data.get("messages", {})) if "messages" in data else None
        detail = error.description if error.code != 422 else "the request has invalid fields"
        if error.code == 422 and errors:
            detail = "invalid fields: " + ", ".join(sorted(errors))
        return problem_response(error.code or 500, error.name, detail, errors=errors,
                                headers=data.get("headers"))


def create_app(*, settings: Settings, db: Database | None = None, title: str, description: str,
               readiness: dict[str, Callable[[], None]], blueprints: list[Blueprint],
               keys: KeySet | None = None, proxy_hops: int | None = None) -> Flask:
    """A service's app: its blueprints under /api/v1, health endpoints, spec and error handling.
    `db` is the service's database, which its views reach with current_db(); `readiness` maps a
    dependency's name to a function that raises unless it answers; `keys` are the public keys
    bearer tokens are verified with (by default read from CHITIEU_JWKS); `proxy_hops` the trusted
    reverse proxies (by default CHITIEU_PROXY_HOPS)."""
    app = Flask(settings.service)
    app.config.update(
        CHITIEU_SETTINGS=settings,
        API_TITLE=title,
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH=DOCS_PATH,
        OPENAPI_SWAGGER_UI_URL=DOCS_ASSETS,
        JSON_SORT_KEYS=False,
        API_SPEC_OPTIONS={
            "info": {"description": description},
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                                              "bearerFormat": "JWT"}}},
            "security": [{"bearerAuth": []}],
        },
    )
    app.json.ensure_ascii = False
    app.extensions.update(chitieu_keys=keys or KeySet(settings.jwks), db=db)
    api = ProblemApi(app)
    app.register_blueprint(docs_assets_blueprint())
    api.register_blueprint(health_blueprint(readiness))
    for bp in blueprints:
        api.register_blueprint(bp, url_prefix=f"{API_PREFIX}{bp.url_prefix or ''}")
    app.before_request(begin_request)
    app.before_request(guard_api_request)
    app.teardown_request(end_request)

    @app.errorhandler(Problem)
    def _problem(exc: Problem):
        return problem_response(exc.status, exc.title, exc.detail, errors=exc.errors, type_=exc.type,
                                cells=exc.cells)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return api.handle_http_exception(exc)
        if isinstance(exc, DBAPIError):
            # The driver's message may quote a row (PostgreSQL's DETAIL, national IDs included):
            # log what failed, never the data.
            log.error("database error", extra={"path": request.path, "error": type(exc.orig).__name__,
                                               "sqlstate": getattr(exc.orig, "sqlstate", None),
                                               "statement": (exc.statement or "")[:500]})
            if isinstance(exc, OperationalError):
                return problem_response(503, "Service Unavailable", "the database does not answer; retry later")
        elif isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
            log.error("redis error", extra={"path": request.path, "error": type(exc).__name__})
            return problem_response(503, "Service Unavailable",
                                    "Máy chủ số liệu trực tiếp (Redis) không trả lời; hãy thử lại sau / "
                                    "the live figures store (Redis) does not answer; retry later",
                                    headers={"Retry-After": "5"})
        else:
            log.exception("unhandled error", extra={"path": request.path})
        return problem_response(500, "Internal Server Error", "an unexpected error occurred; it was logged")

    @app.before_request
    def _start_timer():
        g.started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        response.headers[REQUEST_ID_HEADER] = g.get("request_id") or ""
        context = tracing.current()
        if context is not None:
            response.headers[tracing.TRACERESPONSE] = context.traceparent
        if request.path not in ("/healthz", "/readyz", "/metrics"):
            seconds = time.perf_counter() - g.get("started", time.perf_counter())
            log.info("request", extra={"method": request.method, "path": request.path,
                                       "status": response.status_code, "ms": round(seconds * 1000, 1)})
            # The route's template, not the path: one series per endpoint, whatever the codes asked.
            route = request.url_rule.rule if request.url_rule is not None else "unmatched"
            metrics.REQUESTS.labels(settings.service, request.method, route, response.status_code).inc()
            metrics.REQUEST_SECONDS.labels(settings.service, request.method, route).observe(seconds)
        return response

    @app.get("/metrics")
    def _metrics():
        # For Prometheus on the deployment's own network: the proxy does not route it (deploy/).
        body, content_type = metrics.render()
        return body, 200, {"Content-Type": content_type}

    app.extensions["chitieu_api"] = api
    hops = settings.proxy_hops if proxy_hops is None else proxy_hops
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)
    return app


def docs_assets_blueprint() -> FlaskBlueprint:
    """swagger-ui-bundle's files (swagger-ui-bundle.js, swagger-ui.css, ...) at /docs/assets/."""
    bp = FlaskBlueprint("docs_assets", __name__)

    @bp.route(f"/{DOCS_ASSETS}<path:filename>")
    def asset(filename: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)

    return bp


def current_db() -> Database:
    """The database of the service whose request or app context this is (create_app's `db`)."""
    return current_app.extensions["db"]


def request_id_of(value: str | None) -> str:
    """The caller's X-Request-Id when it is sane, else a new one (32 hex digits)."""
    if value and REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def propagation_headers() -> dict[str, str]:
    """The headers that carry this request's id and trace to the API it calls in turn (the web
    service's pages call the other services with them)."""
    headers = {}
    if has_request_context() and g.get("request_id"):
        headers[REQUEST_ID_HEADER] = g.request_id
    context = tracing.current()
    if context is not None:
        headers.update(context.headers())
    return headers


def begin_request() -> None:
    """Before anything else of a request: its request id and its trace (the caller's
    `traceparent` continued as a span of this service, or a new trace), on every line it logs
    and, for the trace, on every event it writes."""
    g.request_id = request_id_of(request.headers.get(REQUEST_ID_HEADER))
    logs.clear()
    logs.bind(request_id=g.request_id)
    tracing.set_trace(tracing.continued(request.headers.get(tracing.TRACEPARENT),
                                        request.headers.get(tracing.TRACESTATE)))


def end_request(_exc=None) -> None:
    """A worker thread serves request after request: no actor, field or trace outlives its request."""
    set_actor(None)
    logs.clear()
    tracing.set_trace(None)


def guard_api_request() -> None:
    """Before any view of /api/v1: authenticate (401), then bound the body (413), both from the
    headers alone, so an anonymous or oversized request costs no parsing. Views still check the
    role and scope they need (shared.auth.require_role / require_scope reuse this principal).
    The caller is then the actor of every event the request writes (shared/actor.py)."""
    set_actor(None)
    if not request.path.startswith(API_PREFIX + "/"):
        return
    principal = current_principal()
    set_actor(Actor(principal.sub, principal.role))
    logs.bind(sub=principal.sub)
    if request.view_args:  # organisation codes in paths, in their one form (shared/codes.py)
        request.view_args = {k: normalize_code(v) if isinstance(v, str) else v for k, v in request.view_args.items()}
    settings: Settings = current_app.config["CHITIEU_SETTINGS"]
    upload = request.mimetype == "multipart/form-data"
    limit = settings.max_upload_bytes if upload else settings.max_json_bytes
    # Werkzeug stops reading at this limit too, so a chunked body without Content-Length is cut off.
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        name = "CHITIEU_MAX_UPLOAD_BYTES" if upload else "CHITIEU_MAX_JSON_BYTES"
        raise Problem(413, "Content Too Large",
                      f"Nội dung yêu cầu vượt giới hạn {limit} byte / the request body exceeds {limit} bytes",
                      errors={"file" if upload else "body": [f"tối đa / at most {limit} bytes ({name})"]})
    refuse_nul_characters()


NUL_MESSAGE = "không được chứa ký tự NUL / must not contain the NUL character"


def refuse_nul_characters() -> None:
    """A NUL character, which no text of chitieu holds, answers 422 naming where it was: PostgreSQL
    refuses it in text (a 500 otherwise) and SQLite would keep it."""
    errors: dict[str, list[str]] = {}
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and "\x00" in value:
            errors[name] = [NUL_MESSAGE]
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            errors[name.replace("\x00", "\\u0000")] = [NUL_MESSAGE]
    if request.is_json and b"\\u0000" in request.get_data(cache=True):
        body = request.get_json(silent=True)
        for path in _nul_paths(body, ""):
            errors[path or "body"] = [NUL_MESSAGE]
    if errors:
        raise Problem(422, "Unprocessable Content", "invalid fields: " + ", ".join(sorted(errors)), errors=errors)


def _nul_paths(value, path: str):
    """The dotted paths of the strings in a JSON value that hold a NUL character."""
    if isinstance(value, str):
        if "\x00" in value:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                yield child
            else:
                yield from _nul_paths(item, child)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nul_paths(item, f"{path}.{i}" if path else str(i))


def standard_readiness(settings: Settings, db, *, redis: bool = True) -> dict[str, Callable[[], None]]:
    """What a service needs to answer: its database and the Kafka broker, and Redis if it uses it."""
    checks = {"database": db.ping, "kafka": lambda: check_broker(settings)}
    if redis:
        checks["redis"] = lambda: get_redis(settings.redis_url).ping()
    return checks


def health_blueprint(readiness: dict[str, Callable[[], None]]) -> Blueprint:
    blp = Blueprint("health", __name__, description="Liveness and readiness")

    @blp.route("/healthz")
    @blp.doc(security=[])
    @blp.response(200)
    def healthz():
        """The process is alive."""
        return {"status": "ok"}

    @blp.route("/readyz")
    @blp.doc(security=[], responses={"503": {"description": "a dependency does not answer"}})
    @blp.response(200)
    def readyz():
        """The database, Kafka and Redis answer."""
        checks, ok = {}, True
        for name, check in readiness.items():
            try:
                check()
                checks[name] = "ok"
            except Exception as exc:  # report, never raise: this endpoint must answer
                # The reason (host names, addresses) goes to the log, never to an anonymous caller.
                log.warning("readiness check failed", extra={"check": name, "error": f"{type(exc).__name__}: {exc}"[:300]})
                ok = False
                checks[name] = "failed"
        if not ok:
            return problem_response(503, "Service Unavailable", "a dependency does not answer",
                                    errors={"checks": checks})
        return {"status": "ready", "checks": checks}

    return blp
