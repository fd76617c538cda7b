"""`chitieu users ...` and `chitieu clients ...`: accounts managed on the server itself, with the
whole country's power (like `chitieu token`), in the web service's database (CHITIEU_WEB_DATABASE_URL).

    chitieu users create --username U --full-name "Họ Tên" --org CODE|'*' --role admin|officer|viewer
    chitieu users list [--org CODE]
    chitieu users deactivate U | activate U | reset-password U
    chitieu users set-scope U --org CODE [--role ROLE]
    chitieu users import accounts.xlsx --out passwords.xlsx
    chitieu clients register --name "Hệ thống tỉnh" --org CODE --role ROLE
    chitieu clients list | revoke CLIENT_ID
"""
from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from sqlalchemy import select

from shared.actor import Actor, set_actor
from shared.auth import ALL_ORGS, ROLES, Principal
from shared.config import Settings
from shared.db import Database
from shared.problems import Problem

from . import accounts, bulk, clients
from .models import ApiClient, Base, User

SERVICE = "web"


def _by() -> str:
    return f"cli:{getpass.getuser()}"


def main(argv: list[str]) -> None:
    set_actor(Actor(_by()))  # the audit trail names the server account that ran the command
    parser = argparse.ArgumentParser(prog="chitieu")
    sub = parser.add_subparsers(dest="command", required=True)
    users = sub.add_parser("users").add_subparsers(dest="action", required=True)
    create = users.add_parser("create", help="a new account; prints its one-time password")
    create.add_argument("--username", required=True)
    create.add_argument("--full-name", required=True)
    create.add_argument("--org", required=True, help="organisation code, or '*'")
    create.add_argument("--role", required=True, choices=ROLES)
    listing = users.add_parser("list")
    listing.add_argument("--org")
    for action in ("deactivate", "activate", "reset-password"):
        users.add_parser(action).add_argument("username")
    scope = users.add_parser("set-scope")
    scope.add_argument("username")
    scope.add_argument("--org", required=True)
    scope.add_argument("--role", choices=ROLES)
    imp = users.add_parser("import", help="accounts from an XLSX list; writes their one-time passwords")
    imp.add_argument("file")
    imp.add_argument("--out", required=True, help="the XLSX answer with the one-time passwords")

    cl = sub.add_parser("clients").add_subparsers(dest="action", required=True)
    reg = cl.add_parser("register", help="a new API client; prints its id and secret (shown once)")
    reg.add_argument("--name", required=True)
    reg.add_argument("--org", required=True)
    reg.add_argument("--role", required=True, choices=ROLES)
    cl.add_parser("list")
    cl.add_parser("revoke").add_argument("client_id")

    args = parser.parse_args(argv)
    db = Database(Settings.from_env(SERVICE).database_url, Base.metadata)
    try:
        with db.transaction() as session:
            run(session, args)
    except Problem as problem:
        print(f"chitieu: {problem.detail or problem.title} {problem.errors or ''}".rstrip(), file=sys.stderr)
        raise SystemExit(1) from problem
    finally:
        db.dispose()


def run(session, args) -> None:
    if args.command == "clients":
        if args.action == "register":
            client, secret = clients.register_client(session, name=args.name, org=args.org, role=args.role,
                                                     created_by=_by())
            print(f"client_id     {client.client_id}\nclient_secret {secret}")
        elif args.action == "list":
            for c in session.scalars(select(ApiClient).order_by(ApiClient.created_at)):
                print(f"{c.client_id}\t{c.org}\t{c.role}\t{'revoked' if c.revoked_at else 'active'}\t{c.name}")
        else:
            clients.revoke_client(session, client=clients.get_client(session, args.client_id), revoked_by=_by())
            print(f"revoked {args.client_id}")
        return
    if args.action == "create":
        user, otp = accounts.create_user(session, username=args.username, full_name=args.full_name, org=args.org,
                                         role=args.role, created_by=_by())
        print(f"{user.username} ({user.org}, {user.role}) one-time password: {otp}")
    elif args.action == "list":
        query = select(User).order_by(User.username)
        if args.org:
            query = query.where(User.org == accounts.scope_code(args.org))
        for u in session.scalars(query):
            print(f"{u.username}\t{u.org}\t{u.role}\t{'active' if u.active else 'inactive'}\t{u.full_name}")
    elif args.action in ("deactivate", "activate"):
        accounts.update_user(session, user=accounts.get_user(session, args.username), active=args.action == "activate")
        print(f"{args.username} {args.action}d")
    elif args.action == "reset-password":
        otp = accounts.reset_password(session, user=accounts.get_user(session, args.username))
        print(f"{args.username} one-time password: {otp}")
    elif args.action == "set-scope":
        user = accounts.update_user(session, user=accounts.get_user(session, args.username), org=args.org,
                                    role=args.role)
        print(f"{user.username} ({user.org}, {user.role})")
    elif args.action == "import":
        path = Path(args.file)
        people = bulk.read_people(path.read_bytes(), path.name)
        bulk.check_people(people, principal=_server_principal(), org_check=lambda org: None)
        created = bulk.create_people(session, people=people, created_by=_by())
        Path(args.out).write_bytes(bulk.answer_workbook(created))
        print(f"{len(created)} accounts created; one-time passwords in {args.out}")


def _server_principal():
    return Principal(sub=_by(), org=ALL_ORGS, role="admin")
