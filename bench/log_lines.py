"""Benchmark of what tracing adds to a consumer's work per event: continuing the event's trace
(OpenTelemetry's traceparent parser, a new span id) and writing the `event applied` JSON line
(shared/logs.py), at INFO and with the line turned off (CHITIEU_LOG_LEVEL=WARNING).

    python -m bench.log_lines [--events 20000]
"""
from __future__ import annotations

import argparse
import logging
import os
import time

from shared import logs, tracing

TRACEPARENT = "00-5c7e1a0b9d3f4e21a8b6c0d2e4f60718-b7ad6b7169203331-01"
FIELDS = {"consumer": "quota-progress", "event_id": "b2c8d6b7-1c39-459a-a994-6e0d0a971e19",
          "event_type": "vn.chitieu.candidate.admitted.v1", "actor": "can-bo-dong-son"}


def per_event_us(events: int, level: int) -> float:
    log = logging.getLogger("shared.consumer")
    logging.getLogger().setLevel(level)
    started = time.perf_counter()
    for _ in range(events):
        if log.isEnabledFor(logging.INFO):  # as shared/consumer.py does
            with tracing.tracing(tracing.continued(TRACEPARENT)):
                log.info("event applied", extra=FIELDS)
    return (time.perf_counter() - started) / events * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    args = parser.parse_args()
    with open(os.devnull, "w") as sink:
        logging.getLogger().handlers[:] = [logs.json_handler(service="bench", stream=sink)]
        parse = time.perf_counter()
        for _ in range(args.events):
            tracing.parse(TRACEPARENT)
        parse = (time.perf_counter() - parse) / args.events * 1e6
        info = min(per_event_us(args.events, logging.INFO) for _ in range(3))
        off = min(per_event_us(args.events, logging.WARNING) for _ in range(3))
    load = os.getloadavg()[0]
    print(f"traceparent parsed (OpenTelemetry propagator): {parse:.1f} µs")
    print(f"per event at INFO (trace continued + 'event applied' JSON line): {info:.1f} µs")
    print(f"per event at WARNING (no line): {off:.2f} µs")
    print(f"load average {load:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
