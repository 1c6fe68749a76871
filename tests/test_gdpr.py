"""Export and erasure of a user's feed data, on every local backend, checked
by scanning the whole store for the user's id and activity ids."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from stream_django import maintenance
from stream_django.client import stream_client
from stream_django.engine import ids
from stream_django.models import FailedOperation
from tests.contract.helpers import act
from tests.local_backends import LOCAL_BACKENDS, use_backend
from tests.store_scan import mentions
from tests.test_fanout import DUMMY, Worker

pytestmark = pytest.mark.django_db

BOB = 987654
ANN, CAROL = 11, 13
ACTOR = f"auth.User:{BOB}"


@pytest.fixture(params=list(LOCAL_BACKENDS))
def store(request, settings):
    return use_backend(request, settings, request.param)


def feed(slug: str, user: int):
    return stream_client.feed(slug, user)


def bob_act(n: int, **extra):
    return {**act(n, actor=ACTOR), "object": f"bobpost:{n}", "foreign_id": f"bobpost:{n}", **extra}


def populate() -> list[str]:
    """A small site around Bob; return the ids of Bob's activities."""
    feed("timeline", ANN).follow("user", BOB)
    feed("timeline", CAROL).follow("user", BOB)
    feed("timeline_aggregated", CAROL).follow("user", BOB)
    feed("timeline_aggregated", CAROL).follow("user", ANN)
    feed("timeline", BOB).follow("user", ANN)
    feed("timeline", BOB).follow("user", CAROL)
    feed("timeline", ANN).follow("topic", "news")
    feed("tiny", ANN).follow("user", BOB)
    feed("byactor", CAROL).follow("user", BOB)  # groups named after the actor
    feed("byactor", CAROL).follow("user", ANN)
    feed("user", ANN).add_activity(act(1, actor=f"auth.User:{ANN}", to=[f"notification:{BOB}"]))
    feed("user", CAROL).add_activity(act(2, actor=f"auth.User:{CAROL}", to=[f"user:{BOB}"]))
    ids_ = [feed("user", BOB).add_activity(bob_act(n, to=[f"notification:{ANN}"]))["id"] for n in range(10, 16)]
    ids_.append(feed("topic", "news").add_activity(bob_act(20))["id"])
    feed("timeline", ANN).unfollow("user", BOB, keep_history=True)
    ids_.append(feed("user", BOB).add_activity(bob_act(21))["id"])
    feed("timeline", BOB).unfollow("user", CAROL, keep_history=True)
    feed("notification", BOB).get(mark_seen=True)
    FailedOperation.objects.create(
        operation="add", model="testapp.Tweet", object_pk="30", feed=f"user:{BOB}", payload="{}", error="boom"
    )
    return ids_


def needles(activity_ids: list[str]) -> list[str]:
    keys = [ids.id_to_key(i) for i in activity_ids]
    return [str(BOB), *activity_ids, *keys, *[k[:19] for k in keys], "bobpost:"]


def others_intact():
    assert [a["foreign_id"] for a in feed("user", ANN).get()["results"]] == ["testapp.Tweet:1"]
    assert [a["foreign_id"] for a in feed("user", CAROL).get()["results"]] == ["testapp.Tweet:2"]
    (group,) = feed("timeline_aggregated", CAROL).get()["results"]
    assert (group["activity_count"], group["actor_count"]) == (1, 1)
    assert feed("timeline", ANN).get()["results"] == []
    assert [g["group"] for g in feed("byactor", CAROL).get()["results"]] == [f"auth.User:{ANN}"]
    assert feed("notification", ANN).get()["results"] == []


def test_erasure_leaves_no_trace_of_the_user_in_the_store(store):
    activity_ids = populate()
    assert mentions(needles(activity_ids))  # the scan finds what is there
    report = maintenance.erase_user(BOB)
    assert sorted(report.activities) == sorted(activity_ids)
    assert report.failures == 1
    assert mentions(needles(activity_ids)) == []
    others_intact()
    again = maintenance.erase_user(BOB)
    assert (again.activities, again.follows, again.entries, again.failures) == ([], 0, 0, 0)


def test_an_interrupted_erasure_finishes_when_run_again(store, monkeypatch):
    activity_ids = populate()
    monkeypatch.setattr(maintenance.users, "BATCH", 3)

    def interrupt(done, total):
        if total is not None:  # after the first batch of removals
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        maintenance.erase_user(BOB, progress=interrupt)
    left = maintenance.erase_user(BOB, dry_run=True)
    assert 0 < len(left.activities) < len(activity_ids)  # the first batch went, the rest is there
    maintenance.erase_user(BOB)
    assert mentions(needles(activity_ids)) == []
    others_intact()


def test_erasure_through_task_workers_leaves_no_trace(store, settings, django_capture_on_commit_callbacks):
    activity_ids = populate()
    settings.TASKS = DUMMY
    settings.STREAM_FANOUT_INLINE_LIMIT = 0
    settings.STREAM_FANOUT_CHUNK_SIZE = 3
    worker = Worker(django_capture_on_commit_callbacks)
    worker.do(maintenance.erase_user, BOB)
    assert worker.queue  # the followers' copies went through the fan-out chunks
    worker.drain()
    assert mentions(needles(activity_ids)) == []
    others_intact()


def test_dry_run_says_what_erasure_would_remove_and_removes_nothing(store):
    activity_ids = populate()
    before = len(mentions(needles(activity_ids)))
    out = StringIO()
    call_command("stream_erase_user", str(BOB), dry_run=True, stdout=out, verbosity=0)
    text = out.getvalue()
    assert f"Would erase {len(activity_ids)} activities by {ACTOR}" in text
    assert "dry run: nothing was erased" in text
    assert len(mentions(needles(activity_ids))) == before


def test_the_erase_command_reports_what_it_did(store):
    activity_ids = populate()
    out = StringIO()
    call_command("stream_erase_user", str(BOB), stdout=out, verbosity=0)
    assert out.getvalue().startswith(f"Erased {len(activity_ids)} activities by {ACTOR}")
    assert mentions(needles(activity_ids)) == []


def test_export_holds_the_activities_follows_and_notification_state(store):
    activity_ids = populate()
    data = maintenance.export_user(BOB)
    assert data["actor"] == ACTOR
    assert sorted(a["id"] for a in data["activities"]) == sorted(activity_ids)
    assert {a["actor"] for a in data["activities"]} == {ACTOR}
    assert data["following"][f"timeline:{BOB}"] == [f"user:{ANN}"]
    assert sorted(data["followers"][f"user:{BOB}"]) == sorted(
        [f"byactor:{CAROL}", f"tiny:{ANN}", f"timeline:{CAROL}", f"timeline_aggregated:{CAROL}"]
    )
    notes = data["notifications"][f"notification:{BOB}"]
    assert notes["unseen"] == 0
    assert [(g["activity_count"], g["is_seen"], g["is_read"]) for g in notes["groups"]] == [(1, True, False)]
    out = StringIO()
    call_command("stream_export_user", str(BOB), stdout=out)
    assert json.loads(out.getvalue()) == json.loads(json.dumps(data))


def test_export_dry_run_counts_without_printing_the_data(store):
    populate()
    out = StringIO()
    call_command("stream_export_user", str(BOB), dry_run=True, stdout=out)
    assert out.getvalue().startswith(f"Would export 8 activities by {ACTOR}")


def test_a_bad_user_id_is_named(store):
    with pytest.raises(CommandError, match="user id 'a b' is invalid"):
        call_command("stream_erase_user", "a b")


@pytest.mark.parametrize("command", ["stream_erase_user", "stream_export_user"])
def test_the_hosted_service_is_named_as_the_place_to_do_it(settings, monkeypatch, command):
    monkeypatch.delenv("STREAM_URL", raising=False)
    settings.STREAM_API_KEY = "key"
    settings.STREAM_API_SECRET = "s" * 32
    with pytest.raises(CommandError, match="the getstream backend is a remote engine: use the service's own"):
        call_command(command, "42")


def test_the_long_commands_show_progress_on_stderr_unless_quiet(store):
    populate()
    err = StringIO()
    call_command("stream_erase_user", str(BOB), dry_run=True, stdout=StringIO(), stderr=err)
    assert err.getvalue().startswith("\rActivities ") and "/s" in err.getvalue()
    assert "8/8" in err.getvalue()
    err = StringIO()
    call_command("stream_export_user", str(BOB), stdout=StringIO(), stderr=err, verbosity=0)
    assert err.getvalue() == ""
