"""What the maintenance commands print."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from stream_django.client import stream_client
from stream_django.feed_manager import feed_manager
from stream_django.models import FailedOperation
from tests.testapp.models import Tweet

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args, **options):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def recorded_failure(ann):
    """A tweet whose publication failed for real (the entry table was away)."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE stream_django_entry RENAME TO stream_django_entry_away")
    try:
        tweet = Tweet.objects.create(user=ann, text="while down")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE stream_django_entry_away RENAME TO stream_django_entry")
    assert FailedOperation.objects.count() == 1
    return tweet


@pytest.mark.parametrize("dry_run", [True, False])
def test_replay_says_when_there_is_nothing_to_replay(dry_run):
    out, err = run("stream_replay", dry_run=dry_run)
    assert out == "Nothing to replay: no failed operation is recorded.\n"
    assert err == ""


def test_replay_dry_run_lists_and_counts_without_replaying(recorded_failure, ann):
    out, _ = run("stream_replay", dry_run=True)
    (failure,) = FailedOperation.objects.all()
    # The recorded error can span lines (PostgreSQL quotes the statement).
    assert out.startswith(
        f"{failure.id}: add testapp.Tweet:{recorded_failure.pk} -> user:{ann.id} (1 attempt; last error: "
    )
    assert out.endswith("\n1 operation to replay (dry run: nothing was replayed).\n")
    assert FailedOperation.objects.count() == 1


def test_replay_counts_what_it_replayed(recorded_failure, ann):
    out, _ = run("stream_replay")
    assert out == "Replayed 1 operation; 0 failed and remain recorded.\n"
    assert not FailedOperation.objects.exists()
    assert [a["object"] for a in feed_manager.get_user_feed(ann.id).get()["results"]] == [
        f"testapp.Tweet:{recorded_failure.pk}"
    ]
    out, _ = run("stream_replay")
    assert out == "Nothing to replay: no failed operation is recorded.\n"


def act(n):
    return {"actor": "auth.User:1", "verb": "post", "object": f"post:{n}", "foreign_id": f"post:{n}"}


@pytest.mark.parametrize("added, message", [(6, "Deleted 1 orphaned activity."), (8, "Deleted 3 orphaned activities.")])
def test_cleanup_counts_in_the_right_number(added, message):
    stream_client.feed("tiny", 1).add_activities([act(n) for n in range(added)])  # max_length 5
    assert run("stream_cleanup")[0] == message + "\n"
    assert run("stream_cleanup")[0] == "Deleted 0 orphaned activities.\n"
