"""Client-level calls: get/update activities, partial updates, batch follows."""

from __future__ import annotations

import pytest

from stream_django.exceptions import DoesNotExistException, InputException

from .helpers import act, at, fids


def test_get_activities_by_ids_and_by_foreign_id_times(feeds):
    feed = feeds.feed("user", 1)
    one = feed.add_activity(act(1))
    two = feed.add_activity(act(2))
    by_ids = feeds.get_activities(ids=[two["id"], one["id"]])["results"]
    assert [a["id"] for a in by_ids] == [two["id"], one["id"]]
    by_pairs = feeds.get_activities(foreign_id_times=[("testapp.Tweet:1", at(1)), ("missing", at(1))])["results"]
    assert [a["id"] for a in by_pairs] == [one["id"]]
    assert by_pairs[0]["time"] == at(1)


def test_get_activities_needs_exactly_one_way(feeds):
    with pytest.raises(TypeError):
        feeds.get_activities()
    with pytest.raises(TypeError):
        feeds.get_activities(ids=[], foreign_id_times=[])


def test_update_activities_replaces_data_everywhere(feeds):
    feeds.feed("timeline", 2).follow("user", 1)
    added = feeds.feed("user", 1).add_activity(act(1, extra="old"))
    feeds.update_activities([act(1, extra="new", more=True)])
    for feed in (feeds.feed("user", 1), feeds.feed("timeline", 2)):
        stored = feed.get()["results"][0]
        assert stored["id"] == added["id"]
        assert stored["extra"] == "new"
        assert stored["more"] is True


def test_update_activities_needs_foreign_id_and_time(feeds):
    feeds.feed("user", 1).add_activity(act(1))
    with pytest.raises(InputException, match="foreign_id and time"):
        feeds.update_activities([{"actor": "a", "verb": "v", "object": "o", "time": at(1)}])
    with pytest.raises(TypeError):
        feeds.update_activities(act(1))


def test_update_of_an_unknown_activity_is_an_error_and_stores_nothing(feeds):
    feeds.feed("user", 1).add_activity(act(1, extra="old"))
    with pytest.raises(DoesNotExistException, match="missing"):
        feeds.update_activities([act(1, extra="new"), dict(act(2), foreign_id="missing")])
    assert feeds.feed("user", 1).get()["results"][0]["extra"] == "old"


def test_update_cannot_change_to(feeds):
    feeds.feed("user", 1).add_activity(act(1, to=["topic:a"]))
    with pytest.raises(InputException, match="update_activity_to_targets"):
        feeds.update_activities([act(1, to=["topic:b"])])


def test_activity_partial_update(feeds):
    feeds.feed("timeline", 2).follow("user", 1)
    added = feeds.feed("user", 1).add_activity(act(1, product={"name": "a", "price": 1}, tag="x"))
    response = feeds.activity_partial_update(id=added["id"], set={"product.name": "b", "color": "red"}, unset=["tag"])
    updated = response["activities"][0]
    assert updated["product"] == {"name": "b", "price": 1}
    assert updated["color"] == "red"
    assert "tag" not in updated
    timeline = feeds.feed("timeline", 2).get()["results"][0]
    assert timeline["product"]["name"] == "b"
    assert timeline["id"] == added["id"]
    feeds.activity_partial_update(foreign_id="testapp.Tweet:1", time=at(1), set={"color": "blue"})
    assert feeds.feed("user", 1).get()["results"][0]["color"] == "blue"


def test_partial_update_cannot_touch_identity_fields(feeds):
    added = feeds.feed("user", 1).add_activity(act(1))
    for change in ({"set": {"time": at(5)}}, {"set": {"foreign_id": "x"}}, {"unset": ["id"]}):
        with pytest.raises(InputException):
            feeds.activity_partial_update(id=added["id"], **change)
    with pytest.raises(InputException, match="required"):
        feeds.activity_partial_update(id=added["id"], unset=["actor"])
    with pytest.raises(DoesNotExistException):
        feeds.activity_partial_update(foreign_id="nope", time=at(1), set={"a": 1})
    with pytest.raises(TypeError):
        feeds.activity_partial_update(set={"a": 1})


def test_follow_many_and_unfollow_many(feeds):
    feeds.feed("user", 1).add_activity(act(1))
    feeds.follow_many([{"source": "timeline:2", "target": "user:1"}, {"source": "timeline:3", "target": "user:1"}])
    assert fids(feeds.feed("timeline", 2).get()) == ["testapp.Tweet:1"]
    feeds.follow_many([{"source": "timeline:4", "target": "user:1"}], activity_copy_limit=0)
    assert fids(feeds.feed("timeline", 4).get()) == []
    feeds.unfollow_many(
        [
            {"source": "timeline:2", "target": "user:1"},
            {"source": "timeline:3", "target": "user:1", "keep_history": True},
        ]
    )
    assert fids(feeds.feed("timeline", 2).get()) == []
    assert fids(feeds.feed("timeline", 3).get()) == ["testapp.Tweet:1"]
    assert [f["feed_id"] for f in feeds.feed("user", 1).followers()["results"]] == ["timeline:4"]


def test_follow_many_with_one_bad_item_stores_nothing(feeds):
    with pytest.raises(InputException):
        feeds.follow_many([{"source": "timeline:2", "target": "user:1"}, {"source": "timeline:3", "target": 42}])
    assert feeds.feed("user", 1).followers()["results"] == []


def test_add_to_many_does_not_fan_out(feeds):
    feeds.feed("timeline", 9).follow("topic", 1)
    feeds.add_to_many(act(1), ["topic:1", "topic:2", "notification:3"])
    assert fids(feeds.feed("topic", 1).get()) == ["testapp.Tweet:1"]
    assert fids(feeds.feed("topic", 2).get()) == ["testapp.Tweet:1"]
    assert feeds.feed("notification", 3).get()["unseen"] == 1
    assert fids(feeds.feed("timeline", 9).get()) == []
    with pytest.raises(InputException, match="'to'"):
        feeds.add_to_many(act(2, to=["topic:1"]), ["topic:1"])


def test_follow_stats(feeds):
    feeds.feed("timeline", 2).follow("user", 1)
    feeds.feed("timeline_aggregated", 2).follow("user", 1)
    feeds.feed("timeline", 2).follow("topic", 1)
    stats = feeds.follow_stats("user:1")["results"]
    assert stats["followers"] == {"feed": "user:1", "count": 2}
    assert stats["following"] == {"feed": "user:1", "count": 0}
    assert feeds.follow_stats("user:1", followers_slugs=["timeline"])["results"]["followers"]["count"] == 1
    assert feeds.follow_stats("timeline:2")["results"]["following"]["count"] == 2
    assert feeds.follow_stats("timeline:2", following_slugs=["topic"])["results"]["following"]["count"] == 1
