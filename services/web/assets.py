"""The front-end files the pages use (htmx, Apache ECharts), vendored in static/vendor and served
by the application itself: provincial networks are often closed, so there is no CDN to reach.

Each file is pinned by its npm package, version and SHA-256. Served at /assets/vendor/<file>,
gzip-compressed once per process when the browser accepts it, cached for a year (the file name
carries the version, so an upgrade is a new URL).

Upgrade (a deliberate commit): change `version` below, run
`.venv/bin/python -m services.web.assets fetch` (npm pack of the package, the minified file copied
into static/vendor, its new SHA-256 printed), put that SHA-256 here, delete the old file, commit.
`python -m services.web.assets check` (and a test) verifies every vendored file against its pin.
"""
from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, abort, request

VENDOR = Path(__file__).resolve().parent / "static" / "vendor"
YEAR_S = 365 * 24 * 3600


@dataclass(frozen=True)
class Asset:
    package: str  # npm package
    version: str
    member: str   # the file inside the package
    sha256: str

    @property
    def name(self) -> str:
        return f"{self.package.split('.')[0]}-{self.version}.min.js"


ASSETS = {
    "htmx": Asset("htmx.org", "2.0.11", "package/dist/htmx.min.js",
                  "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"),
    "echarts": Asset("echarts", "6.1.0", "package/dist/echarts.min.js",
                     "b66b25aeb4df84e33199dc21694014d336d222cbd9deb0e5a7c14bd6aa0d0fd0"),
}

bp = Blueprint("assets", __name__)


def asset_url(key: str) -> str:
    return f"/assets/vendor/{ASSETS[key].name}"


@lru_cache(maxsize=None)
def _load(name: str) -> tuple[bytes, bytes, str]:
    """(raw, gzip, etag) of a pinned file, read and compressed once per process."""
    pinned = {a.name: a for a in ASSETS.values()}.get(name)
    if pinned is None:
        raise FileNotFoundError(name)
    raw = (VENDOR / name).read_bytes()
    return raw, gzip.compress(raw, compresslevel=9, mtime=0), pinned.sha256[:32]


@bp.route("/assets/vendor/<name>")
def vendored(name: str):
    try:
        raw, packed, etag = _load(name)
    except FileNotFoundError:
        abort(404)
    if request.if_none_match.contains(etag):
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    compress = "gzip" in request.headers.get("Accept-Encoding", "")
    response = Response(packed if compress else raw, mimetype="text/javascript")
    if compress:
        response.headers["Content-Encoding"] = "gzip"
    response.headers.update({"Vary": "Accept-Encoding", "ETag": f'"{etag}"',
                             "Cache-Control": f"public, max-age={YEAR_S}, immutable"})
    return response


def check() -> list[str]:
    """Every pinned file is there with its SHA-256; the problems found, none if all is well."""
    problems = []
    for key, asset in ASSETS.items():
        path = VENDOR / asset.name
        if not path.exists():
            problems.append(f"{key}: {path} is missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != asset.sha256:
            problems.append(f"{key}: {path.name} does not match its pinned SHA-256")
    return problems


def fetch() -> None:
    """Each asset's package from the npm registry (npm pack), its minified file into static/vendor;
    prints the SHA-256 to pin."""
    with tempfile.TemporaryDirectory() as tmp:
        for key, asset in ASSETS.items():
            out = subprocess.run(["npm", "pack", f"{asset.package}@{asset.version}", "--silent"], cwd=tmp,
                                 check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            with tarfile.open(Path(tmp) / out) as tar:
                data = tar.extractfile(asset.member).read()
            (VENDOR / asset.name).write_bytes(data)
            print(f"{key}: {asset.name} sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "fetch":
        fetch()
    problems = check()
    print("\n".join(problems) or "every vendored asset matches its pin")
    sys.exit(1 if problems else 0)
