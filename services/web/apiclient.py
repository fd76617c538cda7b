"""Calls to the platform's public APIs on behalf of a caller, with the caller's bearer token:
the signed-in user's (pages, `for_user`) or the API caller's own (the web service's API).

An answer that is not 2xx becomes the same Problem here (status, title, detail, errors), so a
refusal by the quota service reaches the person unchanged; no answer at all is 503.
"""
from __future__ import annotations

import threading
from urllib.parse import quote

import requests

from shared.problems import Problem
from shared.web import propagation_headers

_local = threading.local()


def _http() -> requests.Session:
    # One connection pool per thread: requests.Session is not safe to share between threads.
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def path_part(value: str) -> str:
    """An organisation code (or any value) as one path segment."""
    return quote(value, safe="")


class ServiceClient:
    def __init__(self, *, urls: dict[str, str], token: str, timeout_s: float = 10):
        self.urls, self.token, self.timeout_s = urls, token, timeout_s

    def request(self, method: str, service: str, path: str, **kwargs) -> requests.Response:
        # The caller's request id and trace go on: one page's calls are followed in every service's log.
        headers = {"Authorization": f"Bearer {self.token}", **propagation_headers(), **kwargs.pop("headers", {})}
        if not self.urls.get(service):
            raise Problem(503, "Service Unavailable", f"Không biết địa chỉ dịch vụ {service} / no URL for the "
                                                      f"{service} service")
        try:
            return _http().request(method, self.urls[service].rstrip("/") + path, headers=headers,
                                   timeout=self.timeout_s, **kwargs)
        except requests.RequestException as exc:
            raise Problem(503, "Service Unavailable",
                          f"Dịch vụ {service} không trả lời; hãy thử lại sau / the {service} service does not "
                          f"answer; retry later") from exc

    def json(self, method: str, service: str, path: str, **kwargs):
        """The JSON body of a 2xx answer; otherwise the answer's problem, raised here."""
        response = self.request(method, service, path, **kwargs)
        if response.ok:
            return response.json() if response.content else None
        raise as_problem(response)

    def get(self, service: str, path: str, **kwargs):
        return self.json("GET", service, path, **kwargs)


def as_problem(response: requests.Response) -> Problem:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    cells = body.get("cells") if isinstance(body.get("cells"), list) else None  # an import's errors by cell
    return Problem(response.status_code, body.get("title") or response.reason or "Error", body.get("detail"),
                   errors=body.get("errors"), type_=body.get("type"), cells=cells)
