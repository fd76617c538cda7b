"""A consumer process that cannot reach Kafka when it starts keeps trying instead of exiting
(docker-compose starts the workers beside a broker that may not answer yet; a loaded broker times
metadata requests out), and consumes once the broker answers."""
from __future__ import annotations

import dataclasses
import logging
import socket
import threading

import pytest

from shared.config import Settings
from shared.relay import OutboxRelay
from shared.worker import _consume
from tests.shared.effects_app import effect_counts, make_db, make_runner
from tests.shared.test_messaging import write_events
from tests.support import KAFKA_BOOTSTRAP, fresh_database, wait_until

pytestmark = pytest.mark.integration


class Forwarder:
    """A TCP port that, once opened, forwards every connection to the real broker."""

    def __init__(self, target: str):
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()  # nothing listens here until open()
        self.server: socket.socket | None = None

    def open(self) -> None:
        self.server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


def test_a_consumer_started_before_the_broker_answers_starts_again_and_consumes(real_stack, namespace, caplog):
    # One database is enough: the start is what is under test, not the apply.
    with fresh_database("sqlite") as url:
        run_the_case(Settings(service="effects", database_url=url, namespace=namespace,
                              kafka_bootstrap=KAFKA_BOOTSTRAP), caplog)


def run_the_case(settings: Settings, caplog) -> None:
    forwarder = Forwarder(settings.kafka_bootstrap)
    # The consumer bootstraps through a port where nothing listens yet.
    away = dataclasses.replace(settings, kafka_bootstrap=f"127.0.0.1:{forwarder.port}")
    db = make_db(settings.database_url)
    stop = threading.Event()
    caplog.set_level(logging.ERROR, logger="shared.worker")
    worker = threading.Thread(target=_consume, args=(make_runner(db, away), stop), daemon=True)
    worker.start()
    try:
        wait_until(lambda: any("could not talk to Kafka" in r.getMessage() for r in caplog.records),
                   timeout=120, message="the consumer's failed start to be logged")
        assert worker.is_alive(), "the consumer gave up instead of starting again"
        forwarder.open()
        write_events(db, [f"k{i}" for i in range(5)])
        OutboxRelay(db=db, settings=settings).publish_batch()
        wait_until(lambda: effect_counts(db) == (5, 5), timeout=120, message="the five events applied once")
    finally:
        stop.set()
        worker.join(timeout=30)
        forwarder.close()
        db.dispose()
