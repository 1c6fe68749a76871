"""Bad input: a clear exception naming what was wrong, and nothing stored."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from stream_django.engine.ids import activity_id
from stream_django.exceptions import CustomFieldException, FeedConfigException, InputException

from .helpers import act, at, fids


@pytest.mark.parametrize(
    "slug, user_id", [("bad slug", 1), ("user", "a b"), ("user", ""), ("x" * 65, 1), ("user", "é:1")]
)
def test_invalid_feed_ids(feeds, slug, user_id):
    with pytest.raises(InputException) as info:
        feeds.feed(slug, user_id)
    assert isinstance(info.value, ValueError)


def test_unknown_feed_group(feeds):
    with pytest.raises(FeedConfigException, match="'nosuch'"):
        feeds.feed("nosuch", 1).add_activity(act(1))
    with pytest.raises(FeedConfigException):
        feeds.feed("nosuch", 1).get()


@pytest.mark.parametrize("field", ["actor", "verb", "object"])
def test_missing_required_field(feeds, field):
    data = act(1)
    del data[field]
    with pytest.raises(InputException, match=repr(field)):
        feeds.feed("user", 1).add_activity(data)
    assert feeds.feed("user", 1).get()["results"] == []


def test_extra_data_that_is_not_json(feeds):
    with pytest.raises(InputException, match="'blob'"):
        feeds.feed("user", 1).add_activity(act(1, blob=object()))
    with pytest.raises(InputException, match="'amount'"):
        feeds.feed("user", 1).add_activity(act(1, amount=float("nan")))
    assert feeds.feed("user", 1).get()["results"] == []


@pytest.mark.parametrize("name", ["id", "origin", "activities", "is_seen", "actor_count", "group"])
def test_reserved_field_names(feeds, name):
    with pytest.raises(CustomFieldException, match=name):
        feeds.feed("user", 1).add_activity(act(1, **{name: "x"}))


def test_lengths(feeds):
    with pytest.raises(InputException, match="'verb'"):
        feeds.feed("user", 1).add_activity(act(1, verb="v" * 256))
    with pytest.raises(InputException, match="'foreign_id'"):
        feeds.feed("user", 1).add_activity(dict(act(1), foreign_id="f" * 256))
    with pytest.raises(InputException, match="bytes"):
        feeds.feed("user", 1).add_activity(act(1, body="x" * 11000))
    assert feeds.feed("user", 1).get()["results"] == []


def test_invalid_time(feeds):
    with pytest.raises(InputException, match="'aap'"):
        feeds.feed("user", 1).add_activity(dict(act(1), time="aap"))


@pytest.mark.parametrize(
    "to", ["user:2", ["user2"], ["user:2:3"], ["bad slug:2"], [42], ["user:2\n"], ["user\n:2"], [None]]
)
def test_bad_to_targets(feeds, to):
    with pytest.raises(InputException):
        feeds.feed("user", 1).add_activity(act(1, to=to))
    assert feeds.feed("user", 1).get()["results"] == []


def test_to_target_in_an_unknown_group(feeds):
    with pytest.raises(FeedConfigException, match="'nosuch'"):
        feeds.feed("user", 1).add_activity(act(1, to=["nosuch:1"]))
    assert feeds.feed("user", 1).get()["results"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 101},
        {"limit": -1},
        {"limit": "many"},
        {"offset": -1},
        {"limit": 2.5},
        {"limit": 2.0},
        {"limit": "2.5"},
        {"limit": True},
        {"offset": 1.5},
        {"offset": "1\n"},
    ],
)
def test_bad_limits(feeds, params):
    with pytest.raises(InputException, match=next(iter(params))):
        feeds.feed("user", 1).get(**params)


@pytest.mark.parametrize("cursor", ["id_lt", "id_lte", "id_gt", "id_gte"])
def test_malformed_cursors(feeds, cursor):
    with pytest.raises(InputException, match=cursor):
        feeds.feed("user", 1).get(**{cursor: "not-a-uuid"})
    with pytest.raises(InputException, match=cursor):
        feeds.feed("user", 1).get(**{cursor: "3f1c2b2e-6b0d-4c9e-9f8e-0a1b2c3d4e5f"})  # version 4


def test_remove_needs_an_identifier(feeds):
    with pytest.raises(InputException):
        feeds.feed("user", 1).remove_activity()
    with pytest.raises(InputException, match="activity_id"):
        feeds.feed("user", 1).remove_activity("nope")


def test_add_activities_is_all_or_nothing(feeds):
    with pytest.raises(InputException, match=r"activities\[1\]"):
        feeds.feed("user", 1).add_activities([act(1), {"actor": "a"}])
    assert fids(feeds.feed("user", 1).get()) == []


def test_mark_seen_on_a_feed_that_is_not_a_notification_feed(feeds):
    with pytest.raises(FeedConfigException, match="mark_seen"):
        feeds.feed("timeline_aggregated", 1).get(mark_seen=True)


def test_ranking_is_not_available(feeds):
    with pytest.raises(FeedConfigException, match="ranking"):
        feeds.feed("user", 1).get(ranking="popular")


@pytest.mark.parametrize("user_id", ["1\n", None, True, False])
def test_user_ids_that_are_no_names(feeds, user_id):
    """A trailing newline (``$`` would match before it), ``None`` and the
    booleans are refused, not stored as ``user:None``."""
    with pytest.raises(InputException, match=re.escape(repr(user_id))):
        feeds.feed("user", user_id)


@pytest.mark.parametrize("slug", ["user\n", None, True])
def test_slugs_that_are_no_names(feeds, slug):
    with pytest.raises(InputException, match=re.escape(repr(slug))):
        feeds.feed(slug, 1)


RANGE = re.escape("activity ids hold times from 1582-10-15T00:00:00+00:00 to 5236-03-31T21:21:00.684000+00:00")


@pytest.mark.parametrize(
    "time",
    [
        datetime(1500, 1, 1),
        datetime(1582, 10, 14, 23, 59, 59, tzinfo=timezone.utc),
        datetime(5236, 3, 31, 21, 21, 0, 685000, tzinfo=timezone.utc),
        datetime(9999, 12, 31, tzinfo=timezone.utc),
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
    ],
)
def test_times_outside_the_range_of_activity_ids(feeds, time):
    """Outside it the id's timestamp would wrap and the activity sort first forever."""
    with pytest.raises(InputException, match=RANGE):
        feeds.feed("user", 1).add_activity(dict(act(1), time=time))
    with pytest.raises(InputException, match=RANGE):
        feeds.get_activities(foreign_id_times=[("testapp.Tweet:1", time)])
    assert feeds.feed("user", 1).get()["results"] == []


def test_the_ends_of_the_range_of_times_sort_in_order(feeds):
    feed = feeds.feed("user", 1)
    feed.add_activity(dict(act(1), time=datetime(1582, 10, 15, tzinfo=timezone.utc)))
    feed.add_activity(act(2))
    feed.add_activity(dict(act(3), time=datetime(5236, 3, 31, 21, 21, 0, 684000, tzinfo=timezone.utc)))
    assert fids(feed.get()) == ["testapp.Tweet:3", "testapp.Tweet:2", "testapp.Tweet:1"]


@pytest.mark.parametrize("value", [True, "1", ["x.y"]])
@pytest.mark.parametrize("name", ["mark_seen", "mark_read"])
def test_marks_on_a_flat_feed(feeds, name, value):
    with pytest.raises(FeedConfigException, match=f"{name} only applies to notification feeds"):
        feeds.feed("user", 1).get(**{name: value})
    with pytest.raises(FeedConfigException, match=f"{name} only applies to notification feeds"):
        feeds.feed("timeline_aggregated", 1).get(**{name: value})
    assert feeds.feed("user", 1).get(**{name: False})["results"] == []


@pytest.mark.parametrize("value", [{"a": 1}, 2, "maybe"])
def test_marks_that_are_neither_a_boolean_nor_a_list(feeds, value):
    with pytest.raises(InputException, match="mark_seen"):
        feeds.feed("notification", 1).get(mark_seen=value)


def nested(depth: int, *, as_dict: bool = False):
    value: object = 1
    for _ in range(depth):
        value = {"a": value} if as_dict else [value]
    return value


@pytest.mark.parametrize("as_dict", [False, True])
def test_custom_fields_nested_too_deep(feeds, as_dict):
    feed = feeds.feed("user", 1)
    for depth in (33, 3000):
        with pytest.raises(InputException, match="'thread' nests lists and dicts more than 32 levels deep"):
            feed.add_activity(act(1, thread=nested(depth, as_dict=as_dict)))
    assert feed.get()["results"] == []
    feed.add_activity(act(1, thread=nested(32, as_dict=as_dict)))
    assert feed.get()["results"][0]["thread"] == nested(32, as_dict=as_dict)


def test_offsets_past_the_bound(feeds):
    feed = feeds.feed("user", 1)
    for read in (feed.get, feed.followers, feed.following):
        with pytest.raises(InputException, match="offset must be <= 2147483647, got 10000000000000000000"):
            read(offset=10**19)
    assert feed.get(offset=2**31 - 1)["results"] == []


def group_ids(count: int) -> list[str]:
    return [f"{activity_id(f'x{i}', at(i))}.g{i}" for i in range(count)]


@pytest.mark.parametrize("name", ["mark_read", "mark_seen"])
def test_mark_lists_past_the_bound(feeds, name):
    feed = feeds.feed("notification", 1)
    feed.add_activity(act(1))
    (group,) = feed.get()["results"]
    with pytest.raises(InputException, match=f"{name} has 8001 items; the maximum is 1000"):
        feed.get(**{name: [*group_ids(8000), group["id"]]})
    assert feed.get()["results"][0][name.replace("mark", "is")] is False
    feed.get(**{name: [*group_ids(999), group["id"]]})
    assert feed.get()["results"][0][name.replace("mark", "is")] is True


def test_batches_past_their_bounds(feeds):
    follows = [{"source": f"timeline:{i}", "target": "user:1"} for i in range(2501)]
    with pytest.raises(InputException, match="follows has 2501 items; the maximum is 2500"):
        feeds.follow_many(follows)
    with pytest.raises(InputException, match="unfollows has 2501 items; the maximum is 2500"):
        feeds.unfollow_many(follows)
    with pytest.raises(InputException, match="feeds has 5001 items; the maximum is 5000"):
        feeds.add_to_many(act(1), [f"timeline:{i}" for i in range(5001)])
    with pytest.raises(InputException, match="ids has 101 items; the maximum is 100"):
        feeds.get_activities(ids=[activity_id(f"x{i}", at(i)) for i in range(101)])
    with pytest.raises(InputException, match="foreign_id_times has 101 items; the maximum is 100"):
        feeds.get_activities(foreign_id_times=[(f"x{i}", at(i)) for i in range(101)])
    assert feeds.follow_stats("user:1")["results"]["followers"]["count"] == 0
    assert feeds.feed("timeline", 0).get()["results"] == []


def test_batches_at_their_bounds(feeds):
    follows = [{"source": f"timeline:{i}", "target": "user:1"} for i in range(2500)]
    feeds.follow_many(follows, activity_copy_limit=0)
    assert feeds.follow_stats("user:1")["results"]["followers"]["count"] == 2500
    feeds.unfollow_many(follows)
    assert feeds.follow_stats("user:1")["results"]["followers"]["count"] == 0
    feeds.add_to_many(act(1), [f"timeline:{i}" for i in range(5000)])
    assert fids(feeds.feed("timeline", 4999).get()) == ["testapp.Tweet:1"]
    ids = [feeds.feed("timeline", 0).get()["results"][0]["id"]] * 100
    assert len(feeds.get_activities(ids=ids)["results"]) == 1
