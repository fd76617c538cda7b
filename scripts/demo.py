"""Loads the demo data through the services' public APIs, as an integrating system would.
Each service owns its part (services/<name>/demo.py); loading twice changes nothing."""
from __future__ import annotations

import importlib

from shared.auth import mint_token
from shared.config import Settings

PARTS = ("services.quota.demo", "services.candidates.demo", "services.notifications.demo")


def main() -> None:
    settings = Settings.from_env("demo")
    token = mint_token(secret=settings.jwt_secret, sub="demo-loader", org="*", role="admin")
    for name in PARTS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        module.load(urls=settings.service_urls, token=token)
        print(f"[demo] {name.split('.')[1]} demo data loaded")


if __name__ == "__main__":
    main()
