"""Models of stream_django: the database backend's tables and the replay log."""

from stream_django.backends.database.models import (  # noqa: F401
    ActivityGroup,
    FailedOperation,
    FanoutChunk,
    FeedEntry,
    Follow,
    GroupEntry,
    StoredActivity,
)
