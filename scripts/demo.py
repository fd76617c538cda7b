"""Loads the demo data through the services' public APIs, as an integrating system would.
Each service owns its part (services/<name>/demo.py); loading twice changes nothing."""
from __future__ import annotations

import importlib

from datetime import timedelta

from shared.auth import mint_token
from shared.config import Settings
from shared.keys import load_signing_key

PARTS = ("services.quota.demo", "services.candidates.demo", "services.notifications.demo", "services.web.demo")


def main() -> None:
    settings = Settings.from_env("demo")
    # Signed with the issuer's key, as `chitieu token` does on the server; long enough for the load.
    token = mint_token(key=load_signing_key(settings.jwt_private_key_file), sub="demo-loader", org="*",
                       role="admin", ttl=timedelta(minutes=30))
    for name in PARTS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        module.load(urls=settings.service_urls, token=token)
        print(f"[demo] {name.split('.')[1]} demo data loaded")


if __name__ == "__main__":
    main()
