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
accesslog = None  # the app logs each request as JSON
errorlog = "-"
# In containers /tmp may be a slow overlay; /dev/shm is tmpfs.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# Prometheus multiprocess mode (shared/metrics.py): each worker writes its samples under this
# directory and /metrics sums them. It is set here, in the master, before any worker imports
# prometheus_client, and emptied at each start so a dead run's samples are not summed.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    import tempfile

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="chitieu-metrics-")
else:
    import glob

    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
    for stale in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(stale)


def child_exit(server, worker):
    # A dead worker's live gauges leave the sums; its counters stay (they are totals).
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
