"""What every service's Flask app has in common: flask-smorest with OpenAPI at /openapi.json,
problem+json errors, /healthz and /readyz, bearer-token security in the spec, JSON request logs,
and the guard in front of every /api/v1 request: the caller is known and the body is small enough
before any view, decorator or parser touches the body."""
from __future__ import annotations

import logging
import time
from typing import Callable

from flask import Flask, current_app, g, request
from flask_smorest import Api, Blueprint
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

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


class ProblemApi(Api):
    """flask-smorest's Api, answering every HTTP error as problem+json."""

    ERROR_SCHEMA = ProblemSchema

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
               keys: KeySet | None = None) -> Flask:
    """A service's app: its blueprints under /api/v1, health endpoints, spec and error handling.
    `db` is the service's database, which its views reach with current_db(); `readiness` maps a
    dependency's name to a function that raises unless it answers; `keys` are the public keys
    bearer tokens are verified with (by default read from CHITIEU_JWKS)."""
    app = Flask(settings.service)
    app.config.update(
        CHITIEU_SETTINGS=settings,
        API_TITLE=title,
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
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
    api.register_blueprint(health_blueprint(readiness))
    for bp in blueprints:
        api.register_blueprint(bp, url_prefix=f"{API_PREFIX}{bp.url_prefix or ''}")
    app.before_request(guard_api_request)
    # A worker thread serves request after request: no actor outlives its request.
    app.teardown_request(lambda _exc: set_actor(None))

    @app.errorhandler(Problem)
    def _problem(exc: Problem):
        return problem_response(exc.status, exc.title, exc.detail, errors=exc.errors, type_=exc.type)

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
        if request.path not in ("/healthz", "/readyz"):
            log.info("request", extra={"method": request.method, "path": request.path,
                                       "status": response.status_code,
                                       "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1)})
        return response

    app.extensions["chitieu_api"] = api
    return app


def current_db() -> Database:
    """The database of the service whose request or app context this is (create_app's `db`)."""
    return current_app.extensions["db"]


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
