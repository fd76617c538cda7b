"""Backup and restore of the services' databases together with the consumers' Kafka offsets.

A backup is a directory: one file per service database (PostgreSQL: `pg_dump -Fc`, one snapshot
of the whole database; SQLite: the online backup API, a consistent copy while others write),
with everything in it, the outbox and processed_events tables included, and `manifest.json`,
written last, which holds the committed offsets of every consumer group of the namespace.

The offsets are read BEFORE the databases are copied, so each database holds at least the
effects of the events before them. A restore puts the databases back and sets each group's
offsets to those: the consumers then read again every event since the backup that is still in
Kafka; an event whose effect the restored database already holds is skipped (its id is in the
restored processed_events), the rest are applied once. The restored outboxes' unsent rows are
published again; consumers skip the ones they had. Nothing is counted twice, and nothing the
broker kept is lost. After a restore the Redis figures are rebuilt from the restored ledger
(`python -m services.quota.worker rebuild`) before the processes start again.

    chitieu backup create DIR [--keep N]     while the services run
    chitieu backup restore DIR/<backup>      with every chitieu process stopped
    chitieu backup schedule DIR --every-hours H --keep N   a loop (docker-compose `backup`)
"""
from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import subprocess
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.errors import NoError
from kafka.structs import OffsetAndMetadata, TopicPartition
from sqlalchemy.engine import make_url

from . import clock
from .config import Settings

log = logging.getLogger(__name__)

# Every service that owns a database (CHITIEU_<SERVICE>_DATABASE_URL).
SERVICES = ("web", "quota", "candidates", "notifications")
MANIFEST = "manifest.json"


class BackupError(Exception):
    """A backup or restore that cannot be done, with what to do about it."""


# --- consumer offsets --------------------------------------------------------------------------
def _admin(settings: Settings) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=30000)


def _namespace_groups(admin: KafkaAdminClient, settings: Settings) -> list[str]:
    prefix = settings.group("")
    return sorted(g["group_id"] for g in admin.list_groups() if g["group_id"].startswith(prefix))


def consumer_offsets(settings: Settings) -> dict[str, dict[str, dict[str, int]]]:
    """{group: {topic: {partition: next offset}}} of every consumer group of the namespace."""
    admin = _admin(settings)
    try:
        groups = _namespace_groups(admin, settings)
        fetched = admin.list_group_offsets({g: None for g in groups}) if groups else {}
    finally:
        admin.close()
    offsets: dict[str, dict[str, dict[str, int]]] = {}
    for group, partitions in fetched.items():
        for tp, committed in partitions.items():
            if committed.offset >= 0:
                offsets.setdefault(group, {}).setdefault(tp.topic, {})[str(tp.partition)] = committed.offset
    return offsets


def reset_consumer_offsets(settings: Settings, recorded: dict[str, dict[str, dict[str, int]]]) -> None:
    """Every group of the namespace back to the recorded offsets; a partition or group that had
    none then loses its offsets now, so it is read from the start (auto_offset_reset=earliest)."""
    admin = _admin(settings)
    try:
        groups = set(_namespace_groups(admin, settings)) | set(recorded)
        current = admin.list_group_offsets({g: None for g in groups}) if groups else {}
        for group in sorted(groups):
            wanted = {TopicPartition(topic, int(p)): OffsetAndMetadata(offset, "", -1)
                      for topic, parts in recorded.get(group, {}).items() for p, offset in parts.items()}
            extra = [tp for tp in current.get(group, {}) if tp not in wanted]
            try:
                failed = {tp: err for tp, err in (admin.alter_group_offsets(group, wanted) if wanted else {}).items()
                          if err is not NoError}
                if extra:
                    failed.update({tp: err for tp, err in admin.delete_group_offsets(group, extra).items()
                                   if err is not NoError})
            except Exception as exc:  # a group with members refuses, as a whole
                raise BackupError(f"cannot set the offsets of consumer group {group}: stop every chitieu "
                                  f"process first ({exc!r})") from exc
            if failed:
                raise BackupError(f"cannot set the offsets of consumer group {group}: stop every chitieu "
                                  f"process first ({', '.join(f'{tp.topic}/{tp.partition}: {e.__name__}' for tp, e in failed.items())})")
            log.info("consumer offsets restored", extra={"group": group, "partitions": len(wanted),
                                                        "reset_to_earliest": len(extra)})
    finally:
        admin.close()


# --- one database ------------------------------------------------------------------------------
def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"{url} is not a database file")
    return Path(database)


def _run(command: list[str]) -> None:
    tool = shutil.which(command[0])
    if tool is None:
        raise BackupError(f"{command[0]} is not installed (Debian: apt-get install postgresql-client)")
    result = subprocess.run([tool, *command[1:]], capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[-2000:]}")


def dump_database(url: str, target: Path) -> Path:
    """A consistent copy of one database into `target` (without suffix); returns the file."""
    if make_url(url).get_backend_name() == "sqlite":
        out = target.with_suffix(".sqlite")
        source, copy = sqlite3.connect(_sqlite_path(url), timeout=30), sqlite3.connect(out)
        try:
            source.backup(copy)  # one read transaction: a snapshot, while writers go on
        finally:
            copy.close()
            source.close()
        return out
    out = target.with_suffix(".pgdump")
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={out}", f"--dbname={_libpq_url(url)}"])
    return out


def load_database(url: str, source: Path) -> None:
    """Replace everything in one database by the copy in `source`."""
    if make_url(url).get_backend_name() == "sqlite":
        if source.suffix != ".sqlite":
            raise BackupError(f"{source.name} is not a SQLite backup but {url} is SQLite")
        path = _sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        copy, target = sqlite3.connect(source), sqlite3.connect(path, timeout=30)
        try:
            copy.backup(target)  # page by page into the live file, its WAL included
        finally:
            target.close()
            copy.close()
        return
    if source.suffix != ".pgdump":
        raise BackupError(f"{source.name} is not a PostgreSQL backup but {url} is PostgreSQL")
    libpq = _libpq_url(url)
    # Tables made after the backup (a later migration) must go too: an empty schema, then the dump.
    _run(["psql", "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", f"--dbname={libpq}",
          "-c", "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;"])
    _run(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
          f"--dbname={libpq}", str(source)])


# --- a whole backup ----------------------------------------------------------------------------
def create_backup(directory: str | Path, *, urls: dict[str, str], settings: Settings) -> Path:
    """A new backup directory under `directory`: the consumers' offsets first, then each database."""
    parent = Path(directory)
    parent.mkdir(parents=True, exist_ok=True)
    name = clock.now().strftime("chitieu-%Y%m%dT%H%M%S%z")
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=parent))
    try:
        offsets = consumer_offsets(settings)
        files = {service: dump_database(url, work / service).name for service, url in urls.items()}
        manifest = {"created_at": clock.now().isoformat(), "namespace": settings.namespace,
                    "databases": files, "consumer_offsets": offsets}
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
        final = parent / name
        suffix = 1
        while final.exists():
            suffix += 1
            final = parent / f"{name}-{suffix}"
        work.rename(final)  # complete or absent: a half-written backup is never mistaken for one
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    log.info("backup created", extra={"backup": str(final), "databases": sorted(files),
                                      "consumer_groups": sorted(offsets)})
    return final


def restore_backup(path: str | Path, *, urls: dict[str, str], settings: Settings) -> dict:
    """Every database of the backup back in place and the consumers' offsets back to the backup's.
    Every chitieu process must be stopped (a consumer group with members refuses new offsets)."""
    backup = Path(path)
    try:
        manifest = json.loads((backup / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{backup} is not a complete backup: it has no {MANIFEST}") from None
    if manifest["namespace"] != settings.namespace:
        raise BackupError(f"the backup is of namespace {manifest['namespace']!r}, not {settings.namespace!r}")
    missing = sorted(set(urls) - set(manifest["databases"]))
    if missing:
        raise BackupError(f"the backup has no database of {', '.join(missing)}")
    for service, url in urls.items():
        load_database(url, backup / manifest["databases"][service])
        log.info("database restored", extra={"database": service})
    reset_consumer_offsets(settings, manifest["consumer_offsets"])
    return manifest


def prune(directory: str | Path, *, keep: int) -> list[Path]:
    """Delete all but the newest `keep` complete backups in `directory`; returns what went."""
    backups = sorted(p for p in Path(directory).glob("chitieu-*") if (p / MANIFEST).exists())
    gone = backups[:-keep] if keep > 0 else []
    for old in gone:
        shutil.rmtree(old)
    return gone


def run_schedule(directory: str | Path, *, urls: dict[str, str], settings: Settings, every_s: float,
                 keep: int, stop: threading.Event) -> None:
    """A backup every `every_s` seconds (the first one right away), keeping the newest `keep`."""
    while not stop.is_set():
        try:
            create_backup(directory, urls=urls, settings=settings)
            prune(directory, keep=keep)
        except Exception:
            log.exception("scheduled backup failed; trying again at the next turn")
        stop.wait(every_s)


def service_urls(services: Iterable[str] = SERVICES) -> dict[str, str]:
    """Each service's database URL as its own processes read it (CHITIEU_<SERVICE>_DATABASE_URL)."""
    return {service: Settings.from_env(service).database_url for service in services}
