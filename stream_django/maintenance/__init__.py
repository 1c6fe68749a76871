"""
Operating a feed site from Python: the replay of recorded failures, user
export and erasure (GDPR), the inspector's questions, rebuilding and
trimming feeds. The management commands and the admin call these
(docs/operations.md).
"""

from stream_django.maintenance.base import MaintenanceUnsupported, Progress, storage_backend
from stream_django.maintenance.feeds import RebuildReport, TrimReport, rebuild_feed, trim_feeds
from stream_django.maintenance.inspect import Located, explain_absence, locate_activity
from stream_django.maintenance.replay import ReplayReport, replay_failures
from stream_django.maintenance.users import ErasureReport, erase_user, export_user, user_actor, user_feeds

__all__ = [
    "ErasureReport",
    "Located",
    "MaintenanceUnsupported",
    "Progress",
    "RebuildReport",
    "ReplayReport",
    "TrimReport",
    "erase_user",
    "explain_absence",
    "export_user",
    "locate_activity",
    "rebuild_feed",
    "replay_failures",
    "storage_backend",
    "trim_feeds",
    "user_actor",
    "user_feeds",
]
