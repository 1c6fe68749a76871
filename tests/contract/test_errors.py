"""Bad input: a clear exception naming what was wrong, and nothing stored."""

from __future__ import annotations

import pytest

from stream_django.exceptions import CustomFieldException, FeedConfigException, InputException

from .helpers import act, fids


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


@pytest.mark.parametrize("to", ["user:2", ["user2"], ["user:2:3"], ["bad slug:2"], [42]])
def test_bad_to_targets(feeds, to):
    with pytest.raises(InputException):
        feeds.feed("user", 1).add_activity(act(1, to=to))
    assert feeds.feed("user", 1).get()["results"] == []


def test_to_target_in_an_unknown_group(feeds):
    with pytest.raises(FeedConfigException, match="'nosuch'"):
        feeds.feed("user", 1).add_activity(act(1, to=["nosuch:1"]))
    assert feeds.feed("user", 1).get()["results"] == []


@pytest.mark.parametrize("params", [{"limit": 101}, {"limit": -1}, {"limit": "many"}, {"offset": -1}])
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
