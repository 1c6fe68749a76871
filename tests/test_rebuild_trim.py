"""Rebuilding a feed from what it follows, and trimming stored feeds, on every local backend."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from stream_django import maintenance
from stream_django.client import stream_client
from stream_django.engine import ids
from tests.contract.helpers import act, fids
from tests.local_backends import LOCAL_BACKENDS, use_backend
from tests.store_scan import mentions

pytestmark = pytest.mark.django_db


@pytest.fixture(params=list(LOCAL_BACKENDS))
def store(request, settings):
    return use_backend(request, settings, request.param)


def run(*args, **options):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def post(user: int, numbers, verb: str = "tweet") -> list[str]:
    feed = stream_client.feed("user", user)
    return [feed.add_activity(act(n, actor=f"auth.User:{user}", verb=verb))["id"] for n in numbers]


def returning_user():
    """timeline:1 and timeline_aggregated:1 follow users 2 and 3 without copies."""
    post(2, range(1, 6))
    post(3, range(10, 12))
    for slug in ("timeline", "timeline_aggregated"):
        for target in (2, 3):
            stream_client.feed(slug, 1).follow("user", target, activity_copy_limit=0)


def test_rebuild_copies_the_newest_of_each_followed_feed(store):
    returning_user()
    report = maintenance.rebuild_feed("timeline:1", copy_limit=3)
    assert sorted(report.followed) == ["user:2", "user:3"]
    assert (report.length_before, report.length_after) == (0, 5)
    timeline = stream_client.feed("timeline", 1).get()["results"]
    assert [a["foreign_id"] for a in timeline] == [f"testapp.Tweet:{n}" for n in (11, 10, 5, 4, 3)]
    assert {a["origin"] for a in timeline} == {"user:2", "user:3"}
    maintenance.rebuild_feed("timeline:1", copy_limit=3)  # idempotent: no duplicates
    assert len(stream_client.feed("timeline", 1).get()["results"]) == 5


def test_rebuild_regroups_an_aggregated_feed(store):
    returning_user()
    out, _ = run("stream_rebuild_feed", "timeline_aggregated:1", verbosity=0)
    assert (
        out
        == "Rebuilt timeline_aggregated:1 from 2 followed feeds: 0 -> 1 (entries, or groups of an aggregated feed).\n"
    )
    (group,) = stream_client.feed("timeline_aggregated", 1).get()["results"]
    assert (group["activity_count"], group["actor_count"]) == (7, 2)


def test_rebuild_dry_run_says_what_it_would_copy(store):
    returning_user()
    out, _ = run("stream_rebuild_feed", "timeline:1", copy_limit=3, dry_run=True)
    assert out == (
        "Would copy up to 3 activities from each of 2 followed feeds into timeline:1 "
        "(it holds 0 now; dry run: nothing was copied).\n"
    )
    assert stream_client.feed("timeline", 1).get()["results"] == []


def test_rebuild_shows_progress_unless_quiet(store):
    returning_user()
    _, err = run("stream_rebuild_feed", "timeline:1")
    assert err.startswith("\rFollowed feeds [") and "2/2" in err and "/s" in err
    assert run("stream_rebuild_feed", "timeline:1", verbosity=0)[1] == ""


@pytest.mark.parametrize(
    "feed, message",
    [
        ("timeline", "feed 'timeline' is not of the form 'slug:user_id'"),
        ("nope:1", "nope"),
    ],
)
def test_rebuild_names_a_bad_feed(store, feed, message):
    with pytest.raises(CommandError, match=message):
        run("stream_rebuild_feed", feed)


def test_trim_applies_a_lowered_max_length_to_stored_feeds(store, settings):
    old = post(1, range(1, 7))
    stream_client.feed("user", 2).add_activity(act(20, actor="auth.User:2", verb="like"))
    stream_client.feed("user", 2).add_activity(act(21, actor="auth.User:2", verb="tweet"))
    stream_client.feed("timeline_aggregated", 1).follow("user", 2)
    settings.STREAM_FEEDS = {
        **settings.STREAM_FEEDS,
        "user": {"type": "flat", "max_length": 2},
        "timeline_aggregated": {"type": "aggregated", "max_length": 1},
    }
    out, _ = run("stream_trim", dry_run=True, verbosity=0)
    assert out == (
        "Would trim 2 feeds of 3 over their max_length or activities_per_group, removing 5 entries "
        "(dry run: nothing was trimmed).\n"
    )
    assert len(stream_client.feed("user", 1).get()["results"]) == 6
    out, _ = run("stream_trim", batch=2, verbosity=0)
    assert out.startswith("Trimmed 2 feeds of 3 over their max_length or activities_per_group: removed 5 entries, ")
    assert fids(stream_client.feed("user", 1).get()) == ["testapp.Tweet:6", "testapp.Tweet:5"]
    (group,) = stream_client.feed("timeline_aggregated", 1).get()["results"]
    assert group["verb"] == "tweet"
    gone = [ids.id_to_key(i) for i in old[:4]]
    assert mentions(gone) == []  # the trimmed activities' data went too
    out, _ = run("stream_trim", verbosity=0)
    assert out.startswith("Trimmed 0 feeds of 3 over their max_length or activities_per_group: removed 0 entries")


def test_trim_applies_a_lowered_activities_per_group_to_stored_groups(store, settings):
    """Groups stored under a larger cap (or before there was one) are cut to
    their newest activities; their counts keep counting all."""
    feeds = settings.STREAM_FEEDS
    for slug in ("timeline_aggregated", "notification"):
        stream_client.feed(slug, 1).follow("user", 2, activity_copy_limit=0)
    numbers = range(1, 13)
    added = post(2, numbers, verb="like")
    settings.STREAM_FEEDS = {
        **feeds,
        "timeline_aggregated": {"type": "aggregated", "activities_per_group": 4},
        "notification": {"type": "notification", "activities_per_group": 4},
    }
    out, _ = run("stream_trim", dry_run=True, verbosity=0)
    assert out == (
        "Would trim 2 feeds of 3 over their max_length or activities_per_group, removing 16 entries "
        "(dry run: nothing was trimmed).\n"
    )
    out, err = run("stream_trim", batch=1, verbosity=1)
    assert out.startswith("Trimmed 2 feeds of 3 over their max_length or activities_per_group: removed 16 entries, ")
    assert "Feeds" in err  # the progress bar
    settings.STREAM_FEEDS = feeds  # the default cap (15) again: what was cut is gone
    for slug in ("timeline_aggregated", "notification"):
        (group,) = stream_client.feed(slug, 1).get()["results"]
        assert [a["id"] for a in group["activities"]] == added[::-1][:4]
        assert (group["activity_count"], group["actor_count"]) == (12, 1)
    assert len(stream_client.feed("user", 2).get()["results"]) == 12  # the flat feed keeps them all
    out, _ = run("stream_trim", verbosity=0)
    assert out.startswith("Trimmed 0 feeds of 3")


def test_trim_rejects_a_bad_batch(store):
    with pytest.raises(CommandError, match="batch must be a positive number of feeds, got 0"):
        run("stream_trim", batch=0)
