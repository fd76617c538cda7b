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
