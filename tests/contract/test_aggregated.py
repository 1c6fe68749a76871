"""Aggregated and notification feeds."""

from __future__ import annotations

import pytest

from stream_django.exceptions import InputException

from .helpers import act, at


def groups(response):
    return [g["group"] for g in response["results"]]


def test_default_aggregation_is_verb_and_day(feeds):
    feed = feeds.feed("timeline_aggregated", 1)
    feed.add_activities(
        [
            act(1, verb="like"),
            act(2, verb="like", actor="auth.User:2"),
            act(3, verb="tweet"),
            act(90000, verb="like"),  # the next day
        ]
    )
    page = feed.get()
    assert groups(page) == ["like_2026-03-02", "tweet_2026-03-01", "like_2026-03-01"]
    like = page["results"][2]
    assert like["verb"] == "like"
    assert like["activity_count"] == 2
    assert like["actor_count"] == 2
    assert [a["foreign_id"] for a in like["activities"]] == ["testapp.Tweet:2", "testapp.Tweet:1"]
    assert like["id"].endswith(".like_2026-03-01")
    assert like["created_at"] == at(1)
    assert like["updated_at"] == at(2)
    assert "is_seen" not in like
    assert "unseen" not in page


def test_group_keeps_the_newest_activities_but_counts_all(feeds):
    feed = feeds.feed("tinyagg", 1)  # activities_per_group = 2
    feed.add_activities([act(n, actor=f"auth.User:{n % 2}") for n in range(1, 6)])
    group = feed.get()["results"][0]
    assert group["activity_count"] == 5
    assert group["actor_count"] == 2
    assert [a["foreign_id"] for a in group["activities"]] == ["testapp.Tweet:5", "testapp.Tweet:4"]


def test_a_new_activity_moves_its_group_to_the_top(feeds):
    feed = feeds.feed("byactor", 1)
    feed.add_activity(act(1, actor="a"))
    feed.add_activity(act(2, actor="b"))
    assert groups(feed.get()) == ["b", "a"]
    feed.add_activity(act(3, actor="a"))
    assert groups(feed.get()) == ["a", "b"]


def test_custom_format_from_a_dotted_path(feeds):
    feed = feeds.feed("custom", 1)
    feed.add_activity(act(1))
    feed.add_activity({"actor": "x", "verb": "v", "object": "testapp.Like:1", "time": at(2)})
    assert groups(feed.get()) == ["testapp.Like", "testapp.Tweet"]


def test_re_adding_an_activity_does_not_count_it_twice(feeds):
    feed = feeds.feed("timeline_aggregated", 1)
    feed.add_activity(act(1))
    feed.add_activity(act(1))
    assert feed.get()["results"][0]["activity_count"] == 1


def test_group_pagination_by_limit_offset_and_group_ids(feeds):
    feed = feeds.feed("byactor", 1)
    for n in range(1, 6):
        feed.add_activity(act(n, actor=f"a{n}"))
    page = feed.get(limit=2)
    assert groups(page) == ["a5", "a4"]
    assert page["next"].startswith("/api/v1.0/feed/byactor/1/?id_lt=")
    assert groups(feed.get(limit=2, offset=2)) == ["a3", "a2"]
    assert groups(feed.get(limit=2, id_lt=page["results"][-1]["id"])) == ["a3", "a2"]
    assert groups(feed.get(id_lte=page["results"][-1]["id"])) == ["a4", "a3", "a2", "a1"]
    assert groups(feed.get(id_gt=page["results"][-1]["id"])) == ["a5"]


def test_fan_out_into_aggregated_feeds(feeds):
    feeds.feed("timeline_aggregated", 9).follow("user", 1)
    feeds.feed("timeline_aggregated", 9).follow("user", 2)
    feeds.feed("user", 1).add_activity(act(1, verb="like", actor="auth.User:1"))
    feeds.feed("user", 2).add_activity(act(2, verb="like", actor="auth.User:2"))
    group = feeds.feed("timeline_aggregated", 9).get()["results"][0]
    assert group["activity_count"] == 2
    assert group["actor_count"] == 2
    assert [a["origin"] for a in group["activities"]] == ["user:2", "user:1"]


def test_follow_copies_into_aggregated_groups(feeds):
    feeds.feed("user", 1).add_activities([act(n, verb="like") for n in range(1, 4)])
    feeds.feed("timeline_aggregated", 9).follow("user", 1, activity_copy_limit=2)
    group = feeds.feed("timeline_aggregated", 9).get()["results"][0]
    assert group["activity_count"] == 2
    assert [a["foreign_id"] for a in group["activities"]] == ["testapp.Tweet:3", "testapp.Tweet:2"]


def test_removal_updates_groups_and_drops_empty_ones(feeds):
    feeds.feed("byactor", 9).follow("user", 1)
    user = feeds.feed("user", 1)
    one = user.add_activity(act(1, actor="a"))
    user.add_activity(act(2, actor="b"))
    two = user.add_activity(act(3, actor="b"))
    user.remove_activity(two["id"])
    page = feeds.feed("byactor", 9).get()
    assert groups(page) == ["b", "a"]
    b = page["results"][0]
    assert b["activity_count"] == 1
    assert b["updated_at"] == at(2)
    user.remove_activity(one["id"])
    assert groups(feeds.feed("byactor", 9).get()) == ["b"]


def test_removal_keeps_actor_count_right(feeds):
    feed = feeds.feed("timeline_aggregated", 1)
    feed.add_activities([act(1, actor="a"), act(2, actor="a"), act(3, actor="b")])
    feed.remove_activity(foreign_id="testapp.Tweet:1")
    group = feed.get()["results"][0]
    assert (group["activity_count"], group["actor_count"]) == (2, 2)
    feed.remove_activity(foreign_id="testapp.Tweet:3")
    group = feed.get()["results"][0]
    assert (group["activity_count"], group["actor_count"]) == (1, 1)


def test_unfollow_updates_groups(feeds):
    agg = feeds.feed("timeline_aggregated", 9)
    agg.follow("user", 1)
    agg.follow("user", 2)
    feeds.feed("user", 1).add_activity(act(1, actor="auth.User:1"))
    feeds.feed("user", 2).add_activity(act(2, actor="auth.User:2"))
    feeds.feed("user", 2).add_activity(act(3, actor="auth.User:2", verb="like"))
    agg.unfollow("user", 2)
    page = agg.get()
    assert groups(page) == ["tweet_2026-03-01"]
    assert (page["results"][0]["activity_count"], page["results"][0]["actor_count"]) == (1, 1)


def test_trimming_drops_the_oldest_groups(feeds):
    feed = feeds.feed("tinyagg", 1)  # max_length = 3 groups
    for n in range(1, 7):
        feed.add_activity(act(n, verb=f"v{n}"))
    assert [g["verb"] for g in feed.get()["results"]] == ["v6", "v5", "v4"]


def test_update_shows_inside_groups(feeds):
    feed = feeds.feed("timeline_aggregated", 1)
    feed.add_activity(act(1, extra="old"))
    feeds.update_activities([act(1, extra="new")])
    assert feed.get()["results"][0]["activities"][0]["extra"] == "new"


def test_notification_feed_counts_and_flags(feeds):
    feed = feeds.feed("notification", 1)
    feed.add_activities([act(1, verb="like"), act(2, verb="follow"), act(3, verb="like")])
    page = feed.get()
    assert (page["unseen"], page["unread"]) == (2, 2)
    assert all(g["is_seen"] is False and g["is_read"] is False for g in page["results"])


def test_mark_seen_shows_on_the_next_read(feeds):
    feed = feeds.feed("notification", 1)
    feed.add_activities([act(1, verb="like"), act(2, verb="follow")])
    marking = feed.get(mark_seen=True)
    assert marking["unseen"] == 2
    assert not any(g["is_seen"] for g in marking["results"])
    after = feed.get()
    assert after["unseen"] == 0
    assert all(g["is_seen"] for g in after["results"])
    assert after["unread"] == 2
    assert not any(g["is_read"] for g in after["results"])


def test_mark_read_by_group_ids(feeds):
    feed = feeds.feed("notification", 1)
    feed.add_activities([act(1, verb="like"), act(2, verb="follow")])
    like = next(g for g in feed.get()["results"] if g["verb"] == "like")
    feed.get(mark_read=[like["id"]])
    page = feed.get()
    assert page["unread"] == 1
    assert {g["verb"]: g["is_read"] for g in page["results"]} == {"like": True, "follow": False}
    assert page["unseen"] == 2
    feed.get(limit=0, mark_seen=like["id"])
    assert feed.get()["unseen"] == 1


def test_a_group_with_a_new_activity_is_unseen_and_unread_again(feeds):
    feed = feeds.feed("notification", 1)
    feed.add_activity(act(1, verb="like"))
    feed.get(mark_seen=True, mark_read=True)
    assert (feed.get()["unseen"], feed.get()["unread"]) == (0, 0)
    feed.add_activity(act(2, verb="like"))
    page = feed.get()
    assert (page["unseen"], page["unread"]) == (1, 1)
    assert page["results"][0]["activity_count"] == 2
    assert page["results"][0]["is_seen"] is False


def test_mark_with_a_malformed_group_id(feeds):
    with pytest.raises(InputException, match="mark_seen"):
        feeds.feed("notification", 1).get(mark_seen=["nonsense"])


def test_notification_feed_follows(feeds):
    feeds.feed("notification", 1).follow("user", 2)
    feeds.feed("user", 2).add_activity(act(1))
    assert feeds.feed("notification", 1).get()["unseen"] == 1


def test_an_aggregated_feed_reached_twice_counts_the_activity_once(feeds):
    agg = feeds.feed("timeline_aggregated", 9)
    agg.follow("user", 1)
    agg.follow("topic", "news")
    feeds.feed("user", 1).add_activity(act(1, to=["topic:news"]))
    (group,) = agg.get()["results"]
    assert group["activity_count"] == 1
    assert len(group["activities"]) == 1
