"""Where a webhook may go, and one attempt to go there that cannot hurt the sender.

SSRF: an officer registers the URL, so it must not reach inside the deployment (loopback, the
private network of the containers, link-local cloud metadata at 169.254.169.254, multicast,
reserved). The host is resolved and every address checked at subscription time, and again at
send time, where the connection goes to the very address that was checked (no second lookup, so
DNS rebinding gains nothing); Host and TLS SNI/certificate checks still use the name.
An administrator may allow ranges explicitly: CHITIEU_WEBHOOK_ALLOW_CIDRS=10.20.0.0/16,127.0.0.1/32.

A receiver cannot stall or flood a sender: one attempt has a total deadline (a watchdog closes
the socket, so a receiver trickling a byte a second is cut off too), and at most a small capped
part of the answer is read; only its status is kept.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.config import setting

ALLOW_ENV = "CHITIEU_WEBHOOK_ALLOW_CIDRS"
MAX_ANSWER_BYTES = 64 * 1024  # a receiver answers briefly; more is read by no one


class AnswerTooLong(Exception):
    """The receiver answered with more than MAX_ANSWER_BYTES (an endless stream, say)."""


class TargetRefused(Exception):
    """The URL's host is, or resolves to, an address webhooks may not reach."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with its query
    address: str  # the checked address to connect to


def allowed_networks() -> list:
    raw = setting("WEBHOOK_ALLOW_CIDRS", "")  # ALLOW_ENV
    return [ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip()]


def refusal(address: str) -> str | None:
    """Why webhooks may not reach this address (None: they may)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    if any(ip in network for network in allowed_networks()):
        return None
    for reason, test in (("loopback", ip.is_loopback), ("private", ip.is_private),
                         ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
                         ("reserved", ip.is_reserved), ("unspecified", ip.is_unspecified)):
        if test:
            return reason
    return None if ip.is_global else "not public"


class Unresolvable(TargetRefused):
    """The host has no address now (it may have one later: each send resolves it again)."""


def resolve(url: str) -> Target:
    """The URL's parts and the address to connect to; raises TargetRefused (with a reason a person
    can read) for a malformed URL, an unknown host or any address that may not be reached."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("không phải URL http/https / not an http or https URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (ValueError, OSError) as exc:
        raise Unresolvable(f"không phân giải được máy chủ / the host does not resolve ({type(exc).__name__})") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:  # every address: a name may not point inside beside outside
        reason = refusal(address)
        if reason:
            raise TargetRefused(f"địa chỉ không được phép ({reason}) / address not allowed ({reason})")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, *, body: bytes, headers: dict[str, str], deadline_s: float) -> int:
    """POST `body` and return the answer's status, within `deadline_s` in all. Raises
    TargetRefused, TimeoutError (deadline passed), AnswerTooLong, or OSError/HTTPException (the
    exchange failed)."""
    started = time.monotonic()
    target = resolve(url)
    connection_type = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    connection = connection_type(target, timeout=max(deadline_s, 0.1))
    expired = threading.Event()

    def cut_off():
        expired.set()
        sock = connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a recv blocked on a trickling receiver
            except OSError:
                pass

    watchdog = threading.Timer(max(deadline_s - (time.monotonic() - started), 0), cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        if len(response.read(MAX_ANSWER_BYTES + 1)) > MAX_ANSWER_BYTES:
            raise AnswerTooLong(f"more than {MAX_ANSWER_BYTES} bytes")
        return response.status
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set():
            raise TimeoutError(f"deadline of {deadline_s:g} s passed") from exc
        raise
    finally:
        watchdog.cancel()
        connection.close()
