"""`chitieu` command: administrative tasks on the server.

    chitieu token --sub admin --org '*' --role admin [--minutes 60]   signed with the issuer's key
    chitieu keys generate PATH [--if-missing]                         a new Ed25519 private key (0600)
    chitieu keys jwks PATH [PUBLIC.pem ...]                           the JWK Set of keys, as JSON
    chitieu users ... / chitieu clients ...                           accounts (services/web/cli.py)
    chitieu backup create DIR [--keep N] / restore DIR/<backup> / schedule DIR   (shared/backup.py)
    chitieu outbox failed --service S / retry --service S [SEQ ...]   outbox rows Kafka refused (shared/relay.py)
    chitieu prune --service S              old sent outbox rows, processed events, idempotency keys, once
    chitieu dead-letters list [--consumer C] / replay P:O ...   events set aside (shared/deadletters.py)
    chitieu tree rebuild --service S       a service's copy of the tree, from the compacted topic
"""
from __future__ import annotations

import argparse
import json
import os
from datetime import timedelta

from . import backup, deadletters, outbox, retention
from .auth import ROLES, mint_token
from .backup import SERVICES
from .config import Settings
from .db import Database
from .keys import generate_signing_key, jwks_document, load_public_jwk, load_signing_key, write_private_key
from .logs import configure_logging
from .migrations import target_metadata
from .worker import run_until_stopped


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="chitieu")
    sub = parser.add_subparsers(dest="command", required=True)
    tok = sub.add_parser("token", help="mint a bearer token signed with CHITIEU_JWT_PRIVATE_KEY_FILE")
    tok.add_argument("--sub", required=True, help="who the token is for")
    tok.add_argument("--org", required=True, help="organisation code of the caller's subtree, or '*'")
    tok.add_argument("--role", required=True, choices=ROLES)
    tok.add_argument("--minutes", type=int, default=60, help="validity in minutes")

    keys = sub.add_parser("keys", help="the token issuer's keys").add_subparsers(dest="action", required=True)
    gen = keys.add_parser("generate", help="write a new Ed25519 private key (PEM, mode 0600)")
    gen.add_argument("path")
    gen.add_argument("--if-missing", action="store_true", help="do nothing if the file exists")
    pub = keys.add_parser("jwks", help="print the JWK Set (public keys) of PEM key files")
    pub.add_argument("paths", nargs="+", help="private or public PEM files; the signing key first")

    backup = sub.add_parser("backup", help="back up or restore every service's database (shared/backup.py)")
    steps = backup.add_subparsers(dest="step", required=True)
    create = steps.add_parser("create", help="a new backup under DIR, while the services run")
    create.add_argument("directory")
    create.add_argument("--keep", type=int, default=0, help="then delete all but the newest N backups in DIR")
    restore = steps.add_parser("restore", help="put a backup back, with every chitieu process stopped")
    restore.add_argument("path", help="the backup's directory (DIR/chitieu-...)")
    schedule = steps.add_parser("schedule", help="a backup every N hours until SIGTERM")
    schedule.add_argument("directory")
    schedule.add_argument("--every-hours", type=float, default=24.0)
    schedule.add_argument("--keep", type=int, default=7)

    outbox = sub.add_parser("outbox", help="outbox rows Kafka refused for good (shared/relay.py)")
    rows = outbox.add_subparsers(dest="action", required=True)
    listing = rows.add_parser("failed", help="list a service's failed outbox rows")
    listing.add_argument("--service", required=True, choices=SERVICES)
    retry = rows.add_parser("retry", help="set failed rows back to pending, once their cause is fixed")
    retry.add_argument("--service", required=True, choices=SERVICES)
    retry.add_argument("seqs", nargs="*", type=int, metavar="SEQ", help="the rows to retry (default: all failed)")
    prune = sub.add_parser("prune", help="delete what retention allows (shared/retention.py), once")
    prune.add_argument("--service", required=True, choices=SERVICES)

    letters = sub.add_parser("dead-letters", help="events a consumer set aside (shared/deadletters.py)")
    steps_dl = letters.add_subparsers(dest="action", required=True)
    listed = steps_dl.add_parser("list", help="every dead letter: position, consumer, origin, event, reason")
    listed.add_argument("--consumer", help="only those of this consumer (quota-progress, notifications, ...)")
    again = steps_dl.add_parser("replay", help="publish chosen dead letters to their origin topic again, "
                                               "for the consumer that set them aside (applied once)")
    again.add_argument("positions", nargs="+", metavar="PARTITION:OFFSET", help="as `list` prints them")

    copy = sub.add_parser("tree", help="a service's copy of the organisation tree (shared/replica.py)")
    copy_steps = copy.add_subparsers(dest="action", required=True)
    rebuild = copy_steps.add_parser("rebuild", help="replace it with what the compacted organization-state topic holds")
    rebuild.add_argument("--service", required=True, choices=("candidates", "notifications", "web"))

    # Accounts belong to the web service; imported only when asked (shared/ imports no service).
    for name in ("users", "clients"):
        sub.add_parser(name, add_help=False, help=f"{name} of the web service (chitieu {name} --help)")

    args, rest = parser.parse_known_args(argv)
    if args.command in ("users", "clients"):
        from services.web.cli import main as accounts_main
        accounts_main([args.command, *rest])
        return
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "backup":
        run_backup(args)
        return
    if args.command in ("outbox", "prune"):
        run_messaging(args)
        return
    if args.command == "dead-letters":
        run_dead_letters(args)
        return
    if args.command == "tree":
        from .replica import TreeReplica
        settings, db = open_service_database(args.service)
        try:
            count = TreeReplica(db.metadata).rebuild(db, settings)
        finally:
            db.dispose()
        print(f"{count} organisations / tổ chức: the copy of the tree of {args.service} is rebuilt")
        return
    settings = Settings.from_env("cli")
    if args.command == "token":
        key = load_signing_key(settings.jwt_private_key_file)
        print(mint_token(key=key, sub=args.sub, org=args.org, role=args.role, ttl=timedelta(minutes=args.minutes)))
    elif args.action == "generate":
        if args.if_missing and os.path.exists(args.path):
            return
        write_private_key(args.path, generate_signing_key())
    elif args.action == "jwks":
        print(json.dumps(jwks_document([load_public_jwk(p) for p in args.paths]), indent=2))


def open_service_database(service: str):
    """A service's database as its own processes find it (CHITIEU_<SERVICE>_DATABASE_URL), with the
    schema of its models, which target_metadata imports only now (shared/ imports no service when loaded)."""
    settings = Settings.from_env(service)
    return settings, Database(settings.database_url, target_metadata(service))


def run_messaging(args) -> None:
    settings, db = open_service_database(args.service)
    try:
        if args.command == "prune":
            deleted = retention.prune(db, retention.rules_for(db, settings))
            for table, count in deleted.items():
                print(f"{table}: {count} deleted / đã xóa")
        elif args.action == "failed":
            with db.reading() as conn:
                failed = outbox.failed_rows(conn, outbox=db.outbox)
            if not failed:
                print("no failed outbox rows / không có bản ghi outbox lỗi")
            for row in failed:
                print(f"{row.seq}\t{row.event_type}\t{row.topic}/{row.key}\tattempts={row.attempts}\t{row.last_error}")
        else:
            with db.transaction() as session:
                chosen = outbox.retry_failed(session, outbox=db.outbox, seqs=args.seqs)
            missing = sorted(set(args.seqs) - set(chosen))
            print(f"pending again / chờ gửi lại: {', '.join(map(str, chosen)) or '-'}")
            if missing:
                raise SystemExit(f"not failed rows / không phải bản ghi lỗi: {', '.join(map(str, missing))}")
    finally:
        db.dispose()


def run_dead_letters(args) -> None:
    settings = Settings.from_env("cli")
    if args.action == "list":
        found = deadletters.read_dead_letters(settings, consumer=args.consumer)
        if not found:
            print("no dead letters / không có sự kiện nào bị gạt ra")
        for letter, _record in found:
            print(f"{letter.position}\t{letter.consumer}\t{letter.origin}\t{letter.event_type}\t{letter.event_id}\t"
                  f"{letter.reason}")
        return
    try:
        replayed = deadletters.replay(settings, args.positions)
    except LookupError as exc:
        raise SystemExit(f"{exc} / không có sự kiện ở vị trí này")
    for letter in replayed:
        print(f"replayed / đã gửi lại: {letter.position} → {letter.origin.split('/')[0]} ({letter.consumer})")


def run_backup(args) -> None:
    settings = Settings.from_env("backup")
    configure_logging(service="backup", level=settings.log_level)
    urls = backup.service_urls()
    try:
        if args.step == "create":
            print(backup.create_backup(args.directory, urls=urls, settings=settings))
            for old in backup.prune(args.directory, keep=args.keep):
                print(f"deleted {old}")
        elif args.step == "restore":
            manifest = backup.restore_backup(args.path, urls=urls, settings=settings)
            print(f"restored {', '.join(sorted(urls))} as of {manifest['created_at']}; consumer offsets "
                  f"set back for {len(manifest['consumer_offsets'])} groups. Next: "
                  "python -m services.quota.worker rebuild, then start the services")
        else:
            run_until_stopped(lambda stop: backup.run_schedule(
                args.directory, urls=urls, settings=settings, every_s=args.every_hours * 3600,
                keep=args.keep, stop=stop))
    except backup.BackupError as exc:
        raise SystemExit(f"chitieu backup: {exc}") from None


if __name__ == "__main__":
    main()
