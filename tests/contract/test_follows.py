"""Follows, fan-out on write, copying, unfollowing, ``to`` targets."""

from __future__ import annotations

import pytest

from stream_django.exceptions import FeedConfigException, InputException

from .helpers import act, fids


def test_fan_out_on_write_sets_origin(feeds):
    feeds.feed("timeline", 2).follow("user", 1)
    feeds.feed("user", 1).add_activity(act(1))
    results = feeds.feed("timeline", 2).get()["results"]
    assert fids({"results": results}) == ["testapp.Tweet:1"]
    assert results[0]["origin"] == "user:1"
    assert feeds.feed("user", 1).get()["results"][0]["origin"] is None


def test_fan_out_is_one_hop(feeds):
    feeds.feed("topic", 2).follow("user", 1)
    feeds.feed("timeline", 3).follow("topic", 2)
    feeds.feed("user", 1).add_activity(act(1))
    assert fids(feeds.feed("topic", 2).get()) == ["testapp.Tweet:1"]
    assert fids(feeds.feed("timeline", 3).get()) == []


def test_same_activity_through_two_followed_feeds_appears_once(feeds):
    timeline = feeds.feed("timeline", 9)
    timeline.follow("user", 1)
    timeline.follow("user", 2)
    feeds.feed("user", 1).add_activity(act(1))
    feeds.feed("user", 2).add_activity(act(1))
    assert fids(timeline.get()) == ["testapp.Tweet:1"]


def test_follow_copies_the_newest_activities(feeds):
    feeds.feed("user", 1).add_activities([act(n) for n in range(1, 6)])
    feeds.feed("timeline", 2).follow("user", 1)
    assert len(feeds.feed("timeline", 2).get()["results"]) == 5
    feeds.feed("timeline", 3).follow("user", 1, activity_copy_limit=2)
    assert fids(feeds.feed("timeline", 3).get()) == ["testapp.Tweet:5", "testapp.Tweet:4"]
    feeds.feed("timeline", 4).follow("user", 1, activity_copy_limit=0)
    assert fids(feeds.feed("timeline", 4).get()) == []
    assert feeds.feed("timeline", 2).get()["results"][0]["origin"] == "user:1"


def test_copy_limit_default_comes_from_the_setting(feeds, settings):
    settings.STREAM_ACTIVITY_COPY_LIMIT = 1
    feeds.feed("user", 1).add_activities([act(n) for n in range(1, 4)])
    feeds.feed("timeline", 2).follow("user", 1)
    assert fids(feeds.feed("timeline", 2).get()) == ["testapp.Tweet:3"]


def test_copy_limit_above_the_maximum_is_an_error(feeds):
    with pytest.raises(InputException, match="activity_copy_limit"):
        feeds.feed("timeline", 2).follow("user", 1, activity_copy_limit=1001)
    assert feeds.feed("timeline", 2).following()["results"] == []


def test_unfollow_purges_unless_keep_history(feeds):
    feeds.feed("user", 1).add_activity(act(1))
    feeds.feed("user", 3).add_activity(act(3))
    for n in (2, 4):
        feeds.feed("timeline", n).follow("user", 1)
        feeds.feed("timeline", n).follow("user", 3)
    feeds.feed("timeline", 2).unfollow("user", 1)
    assert fids(feeds.feed("timeline", 2).get()) == ["testapp.Tweet:3"]
    feeds.feed("timeline", 4).unfollow("user", 1, keep_history=True)
    assert fids(feeds.feed("timeline", 4).get()) == ["testapp.Tweet:3", "testapp.Tweet:1"]
    feeds.feed("user", 1).add_activity(act(5))
    assert fids(feeds.feed("timeline", 4).get()) == ["testapp.Tweet:3", "testapp.Tweet:1"]
    assert fids(feeds.feed("user", 1).get()) == ["testapp.Tweet:5", "testapp.Tweet:1"]


def test_refollowing_is_idempotent(feeds):
    timeline = feeds.feed("timeline", 2)
    timeline.follow("user", 1)
    first = timeline.following()["results"][0]["created_at"]
    timeline.follow("user", 1)
    following = timeline.following()["results"]
    assert len(following) == 1
    assert following[0]["created_at"] == first


def test_a_feed_cannot_follow_itself(feeds):
    with pytest.raises(InputException, match="itself"):
        feeds.feed("user", 1).follow("user", 1)


def test_only_flat_feeds_can_be_followed(feeds):
    with pytest.raises(FeedConfigException, match="flat"):
        feeds.feed("timeline", 1).follow("notification", 2)
    assert feeds.feed("timeline", 1).following()["results"] == []


def test_removal_reaches_every_follower(feeds):
    for n in (2, 3):
        feeds.feed("timeline", n).follow("user", 1)
    added = feeds.feed("user", 1).add_activity(act(1))
    feeds.feed("user", 1).add_activity(act(2))
    feeds.feed("user", 1).remove_activity(added["id"])
    for n in (2, 3):
        assert fids(feeds.feed("timeline", n).get()) == ["testapp.Tweet:2"]


def test_removal_reaches_feeds_that_unfollowed_keeping_history(feeds):
    feeds.feed("timeline", 2).follow("user", 1)
    feeds.feed("timeline_aggregated", 2).follow("topic", "a")
    added = feeds.feed("user", 1).add_activity(act(1, to=["topic:a"]))
    feeds.feed("user", 1).add_activity(act(2))
    feeds.feed("timeline", 2).unfollow("user", 1, keep_history=True)
    feeds.feed("timeline_aggregated", 2).unfollow("topic", "a", keep_history=True)
    assert fids(feeds.feed("timeline", 2).get()) == ["testapp.Tweet:2", "testapp.Tweet:1"]
    feeds.feed("user", 1).remove_activity(added["id"])
    assert fids(feeds.feed("timeline", 2).get()) == ["testapp.Tweet:2"]
    assert feeds.feed("timeline_aggregated", 2).get()["results"] == []


def test_removing_from_a_follower_leaves_the_origin(feeds):
    feeds.feed("timeline", 2).follow("user", 1)
    feeds.feed("user", 1).add_activity(act(1))
    feeds.feed("timeline", 2).remove_activity(foreign_id="testapp.Tweet:1")
    assert fids(feeds.feed("timeline", 2).get()) == []
    assert fids(feeds.feed("user", 1).get()) == ["testapp.Tweet:1"]


def test_followers_and_following(feeds):
    for n in (2, 3, 4):
        feeds.feed("timeline", n).follow("user", 1)
    feeds.feed("timeline", 2).follow("user", 5)
    followers = feeds.feed("user", 1).followers()["results"]
    assert [f["feed_id"] for f in followers] == ["timeline:4", "timeline:3", "timeline:2"]
    assert {f["target_id"] for f in followers} == {"user:1"}
    assert followers[0]["created_at"].tzinfo is not None
    assert [f["feed_id"] for f in feeds.feed("user", 1).followers(offset=1, limit=1)["results"]] == ["timeline:3"]
    following = feeds.feed("timeline", 2).following()["results"]
    assert [f["target_id"] for f in following] == ["user:5", "user:1"]
    assert [f["target_id"] for f in feeds.feed("timeline", 2).following(feeds=["user:1", "user:9"])["results"]] == [
        "user:1"
    ]
    assert feeds.feed("timeline", 2).following(feeds=["user:9"])["results"] == []
    assert [f["feed_id"] for f in feeds.feed("user", 1).followers(feeds=["timeline:3"])["results"]] == ["timeline:3"]


def test_to_targets_receive_the_activity_and_fan_out_to_their_followers(feeds):
    feeds.feed("timeline", 7).follow("topic", "news")
    feeds.feed("user", 1).add_activity(act(1, to=["topic:news", "notification:2"]))
    topic = feeds.feed("topic", "news").get()["results"]
    assert fids({"results": topic}) == ["testapp.Tweet:1"]
    assert topic[0]["origin"] is None
    assert topic[0]["to"] == ["topic:news", "notification:2"]
    timeline = feeds.feed("timeline", 7).get()["results"]
    assert timeline[0]["origin"] == "topic:news"
    notification = feeds.feed("notification", 2).get()["results"]
    assert notification[0]["activities"][0]["foreign_id"] == "testapp.Tweet:1"


def test_to_tokens_after_a_space_are_dropped(feeds):
    result = feeds.feed("user", 1).add_activity(act(1, to=["topic:news some.jwt.token"]))
    assert result["to"] == ["topic:news"]
    assert fids(feeds.feed("topic", "news").get()) == ["testapp.Tweet:1"]


def test_removal_reaches_to_targets_and_their_followers(feeds):
    feeds.feed("timeline", 7).follow("topic", "news")
    added = feeds.feed("user", 1).add_activity(act(1, to=["topic:news", "notification:2"]))
    feeds.feed("user", 1).remove_activity(added["id"])
    assert fids(feeds.feed("topic", "news").get()) == []
    assert fids(feeds.feed("timeline", 7).get()) == []
    assert feeds.feed("notification", 2).get()["results"] == []


def test_aggregated_feeds_can_follow_flat_feeds(feeds):
    feeds.feed("timeline_aggregated", 2).follow("user", 1)
    feeds.feed("user", 1).add_activity(act(1))
    group = feeds.feed("timeline_aggregated", 2).get()["results"][0]
    assert group["activities"][0]["origin"] == "user:1"


def test_update_activity_to_targets(feeds):
    feed = feeds.feed("user", 1)
    added = feed.add_activity(act(1, to=["topic:a"]))
    response = feed.update_activity_to_targets(
        "testapp.Tweet:1", added["time"], added_targets=["topic:b"], removed_targets=["topic:a"]
    )
    assert response["activity"]["to"] == ["topic:b"]
    assert response["added"] == ["topic:b"]
    assert response["removed"] == ["topic:a"]
    assert fids(feeds.feed("topic", "a").get()) == []
    assert fids(feeds.feed("topic", "b").get()) == ["testapp.Tweet:1"]
    feed.update_activity_to_targets("testapp.Tweet:1", added["time"], new_targets=["topic:c"])
    assert feed.get()["results"][0]["to"] == ["topic:c"]
    assert fids(feeds.feed("topic", "b").get()) == []
    with pytest.raises(InputException):
        feed.update_activity_to_targets(
            "testapp.Tweet:1", added["time"], added_targets=["topic:x"], removed_targets=["topic:x"]
        )
