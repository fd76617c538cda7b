"""gunicorn settings for every chitieu API, from CHITIEU_* variables.

The app is loaded in each worker after the fork (no preload), so database pools, Kafka and Redis
clients are made per worker process and never shared across a fork.
"""
import os

bind = os.environ.get("CHITIEU_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("CHITIEU_WEB_WORKERS", "2"))
threads = int(os.environ.get("CHITIEU_WEB_THREADS", "4"))
worker_class = "gthread"
preload_app = False
timeout = int(os.environ.get("CHITIEU_WEB_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
# gunicorn's own lines as JSON too (shared/gunicorn_logs.py): its errors, and one access line a
# request with the request id and trace id the app answered with (X-Request-Id, traceresponse),
# which also covers a request that never reached the app. The app's own "request" line adds the caller.
accesslog = "-"
errorlog = "-"
logger_class = "shared.gunicorn_logs.JsonLogger"
# In containers /tmp may be a slow overlay; /dev/shm is tmpfs.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# Prometheus multiprocess mode (shared/metrics.py): the workers of this master write their samples
# under a directory of its own and /metrics sums them. It is made when the master starts, before
# any worker forks and imports prometheus_client, never when this file is merely read, and one
# per master: two APIs sharing one directory would sum each other's samples (or wipe them).
def on_starting(server):
    import tempfile

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="chitieu-metrics-")


def on_exit(server):
    import shutil

    shutil.rmtree(os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""), ignore_errors=True)


def child_exit(server, worker):
    # A dead worker's live gauges leave the sums; its counters stay (they are totals).
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
