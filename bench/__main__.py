"""`make bench`: every benchmark, one after the other, each printing its own figures.

    python -m bench                 # all
    python -m bench quota_progress  # one (the module's name)
"""
from __future__ import annotations

import subprocess
import sys

BENCHES = ("quota_progress", "quota_latency", "quota_rebuild", "candidates_import", "candidates_decisions",
           "notifications_consumer", "notifications_delivery", "notifications_latency", "notifications_inbox",
           "web_dashboard", "log_lines")


def main(argv: list[str]) -> int:
    failed = 0
    for name in argv or BENCHES:
        print(f"\n=== bench.{name} ===", flush=True)
        failed |= subprocess.call([sys.executable, "-m", f"bench.{name}"]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
