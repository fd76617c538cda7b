"""gunicorn's log lines in the services' JSON (deploy/gunicorn.conf.py names this class): its
error log, and an access line a request carrying the request id and the trace id the app
answered with (`X-Request-Id`, `traceresponse`), so a request that never reached the app (a
malformed one, a worker timeout) is still on the record."""
from __future__ import annotations

import logging

from gunicorn.glogging import Logger

from . import tracing
from .logs import json_formatter

QUIET_PATHS = ("/healthz", "/readyz", "/metrics")  # probes and scrapes: the app does not log them either


class JsonLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        formatter = json_formatter(service=service_of(cfg.proc_name or ""))
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled or req.path in QUIET_PATHS:
            return
        headers = {name.lower(): value for name, value in resp.headers}
        trace = tracing.parse(headers.get(tracing.TRACERESPONSE))
        try:
            status = int(str(resp.status).split(None, 1)[0])
        except ValueError:
            status = None
        fields = {"method": req.method, "path": req.path, "status": status, "bytes": resp.sent,
                  "ms": round(request_time.total_seconds() * 1000, 1), "remote_addr": environ.get("REMOTE_ADDR"),
                  "request_id": headers.get("x-request-id")}
        if trace is not None:
            fields.update(trace_id=trace.trace_id, span_id=trace.span_id)
        try:
            self.access_log.info("access", extra=fields)
        except Exception:
            logging.getLogger(__name__).exception("access line not written")


def service_of(proc_name: str) -> str:
    """'services.quota.app:create_app()' -> 'quota'."""
    parts = proc_name.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "services" else (proc_name or "gunicorn")
