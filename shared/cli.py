"""`chitieu` command: administrative tasks that are not a service's own.

    chitieu token --sub admin --org '*' --role admin [--days 30]
"""
from __future__ import annotations

import argparse
from datetime import timedelta

from .auth import ROLES, mint_token
from .config import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="chitieu")
    sub = parser.add_subparsers(dest="command", required=True)
    tok = sub.add_parser("token", help="mint a bearer token signed with CHITIEU_JWT_SECRET")
    tok.add_argument("--sub", required=True, help="who the token is for")
    tok.add_argument("--org", required=True, help="organisation code of the caller's subtree, or '*'")
    tok.add_argument("--role", required=True, choices=ROLES)
    tok.add_argument("--days", type=int, default=30, help="validity in days")
    args = parser.parse_args(argv)
    if args.command == "token":
        settings = Settings.from_env("cli")
        print(mint_token(secret=settings.jwt_secret, sub=args.sub, org=args.org, role=args.role,
                         ttl=timedelta(days=args.days)))


if __name__ == "__main__":
    main()
