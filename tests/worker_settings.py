"""
Settings of the task worker that tests/test_fanout_worker.py starts.

The test settings, pointed at the test database the test process created
(``STREAM_WORKER_DB_NAME``), with the ORM task backend; with
``STREAM_WORKER_REDIS_URL`` (JSON: a URL, or a list of cluster node URLs),
the feeds are in Redis under the test's key prefix
(``STREAM_WORKER_REDIS_PREFIX``).
"""

import json
import os

from tests.settings import *
from tests.settings import DATABASES

DATABASES["default"]["NAME"] = os.environ["STREAM_WORKER_DB_NAME"]

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["stream_fanout", "stream_fanout_bulk"],
    }
}
STREAM_FANOUT_CHUNK_SIZE = int(os.environ.get("STREAM_FANOUT_CHUNK_SIZE", "1000"))

if os.environ.get("STREAM_WORKER_REDIS_URL"):
    STREAM_BACKEND = "stream_django.backends.redis.RedisBackend"
    STREAM_REDIS_URL = json.loads(os.environ["STREAM_WORKER_REDIS_URL"])
    STREAM_BACKEND_OPTIONS = {"key_prefix": os.environ["STREAM_WORKER_REDIS_PREFIX"]}
