"""Flat feeds: adding, reading, paginating, removing (every local backend)."""

from __future__ import annotations

from datetime import date, datetime, timezone

from stream_django.engine.ids import activity_id, id_to_key

from .helpers import act, at, fids


def test_add_activity_returns_the_stored_activity_with_its_id(feeds):
    result = feeds.feed("user", 1).add_activity(act(1, extra="x"))
    assert result["id"] == activity_id("testapp.Tweet:1", at(1))
    assert result["actor"] == "auth.User:1"
    assert result["verb"] == "tweet"
    assert result["object"] == "testapp.Tweet:1"
    assert result["time"] == at(1)
    assert result["extra"] == "x"
    assert "duration" in result


def test_get_returns_results_newest_first_by_time_not_insertion(feeds):
    feed = feeds.feed("user", 1)
    for n in (2, 3, 1):
        feed.add_activity(act(n))
    page = feed.get()
    assert fids(page) == ["testapp.Tweet:3", "testapp.Tweet:2", "testapp.Tweet:1"]
    assert page["next"] == ""
    assert page["results"][0]["origin"] is None
    assert page["results"][0]["time"] == at(3)
    assert page["results"][0]["time"].tzinfo is not None


def test_empty_feed(feeds):
    assert feeds.feed("user", "nobody").get()["results"] == []
    assert feeds.feed("user", "nobody").get()["next"] == ""


def test_limit_offset_and_next(feeds):
    feed = feeds.feed("user", 1)
    feed.add_activities([act(n) for n in range(1, 6)])
    page = feed.get(limit=2)
    assert fids(page) == ["testapp.Tweet:5", "testapp.Tweet:4"]
    last = page["results"][-1]["id"]
    assert page["next"] == f"/api/v1.0/feed/user/1/?id_lt={last}&limit=2"
    assert fids(feed.get(limit=2, offset=1)) == ["testapp.Tweet:4", "testapp.Tweet:3"]
    assert fids(feed.get(limit="2", offset="4")) == ["testapp.Tweet:1"]
    assert feed.get(limit=0)["results"] == []


def test_id_cursors(feeds):
    feed = feeds.feed("user", 1)
    ids = {n: feed.add_activity(act(n))["id"] for n in range(1, 6)}
    assert fids(feed.get(id_lt=ids[3])) == ["testapp.Tweet:2", "testapp.Tweet:1"]
    assert fids(feed.get(id_lte=ids[3])) == ["testapp.Tweet:3", "testapp.Tweet:2", "testapp.Tweet:1"]
    assert fids(feed.get(id_gt=ids[3])) == ["testapp.Tweet:5", "testapp.Tweet:4"]
    assert fids(feed.get(id_gte=ids[3])) == ["testapp.Tweet:5", "testapp.Tweet:4", "testapp.Tweet:3"]
    assert fids(feed.get(id_lte=ids[2], id_gte=ids[2], limit=1)) == ["testapp.Tweet:2"]


def test_paging_with_next_visits_everything_once(feeds):
    feed = feeds.feed("user", 1)
    feed.add_activities([act(n) for n in range(1, 12)])
    seen, cursor = [], None
    while True:
        page = feed.get(limit=3, **({"id_lt": cursor} if cursor else {}))
        seen += fids(page)
        if not page["next"]:
            break
        cursor = page["results"][-1]["id"]
    assert seen == [f"testapp.Tweet:{n}" for n in range(11, 0, -1)]


def test_pagination_inside_one_millisecond_is_exact(feeds):
    feed = feeds.feed("user", 1)
    same_ms = at(0)
    feed.add_activities([act(n, seconds=0) | {"time": same_ms} for n in range(40)])
    seen, cursor = [], None
    for _ in range(40):
        page = feed.get(limit=7, **({"id_lt": cursor} if cursor else {}))
        seen += [a["id"] for a in page["results"]]
        if not page["next"]:
            break
        cursor = page["results"][-1]["id"]
    assert len(seen) == 40 == len(set(seen))
    assert seen == [a["id"] for a in feed.get(limit=40)["results"]]
    assert seen == sorted(seen, key=id_to_key, reverse=True)


def test_same_foreign_id_and_time_is_one_activity_and_the_later_write_wins(feeds):
    feed = feeds.feed("user", 1)
    first = feed.add_activity(act(1, extra=1))
    second = feed.add_activity(act(1, actor="auth.User:2", extra=2))
    assert first["id"] == second["id"]
    results = feed.get()["results"]
    assert len(results) == 1
    assert results[0]["actor"] == "auth.User:2"
    assert results[0]["extra"] == 2


def test_same_foreign_id_other_time_is_another_activity(feeds):
    feed = feeds.feed("user", 1)
    feed.add_activity(act(1))
    feed.add_activity(act(1, seconds=99))
    assert len(feed.get()["results"]) == 2


def test_without_foreign_id_same_data_and_time_is_one_activity(feeds):
    feed = feeds.feed("user", 1)
    data = {"actor": "a", "verb": "v", "object": "o", "time": at(1)}
    assert feed.add_activity(data)["id"] == feed.add_activity(dict(data))["id"]
    feed.add_activity(dict(data, object="other"))
    assert len(feed.get()["results"]) == 2


def test_time_defaults_to_now(feeds):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    result = feeds.feed("user", 1).add_activity({"actor": "a", "verb": "v", "object": "o"})
    assert before <= result["time"] <= datetime.now(timezone.utc)


def test_time_accepts_iso_strings_and_is_kept_to_the_millisecond(feeds):
    feed = feeds.feed("user", 1)
    feed.add_activity(
        {"actor": "a", "verb": "v", "object": "o", "time": "2026-03-01T12:00:00.123456", "foreign_id": "x"}
    )
    feed.add_activity({"actor": "a", "verb": "v", "object": "o", "time": "2026-03-01T12:00:01Z", "foreign_id": "y"})
    times = [a["time"] for a in feed.get()["results"]]
    assert times == [at(1), at(0.123)]


def test_custom_fields_round_trip(feeds):
    feed = feeds.feed("user", 1)
    extra = {
        "number": 3,
        "flag": True,
        "nothing": None,
        "nested": {"list": [1, "two", {"three": 3}], "when": at(5)},
        "day": date(2026, 3, 1),
        "text": "héllo ✓ 日本",
    }
    feed.add_activity(act(1, **extra))
    stored = feed.get()["results"][0]
    for name, value in extra.items():
        assert stored[name] == value, name


def test_numbers_are_stored_as_strings(feeds):
    result = feeds.feed("user", 1).add_activity({"actor": 1, "verb": "v", "object": 3, "foreign_id": 7, "time": at()})
    assert (result["actor"], result["object"], result["foreign_id"]) == ("1", "3", "7")


def test_add_activities_keeps_order_and_returns_ids(feeds):
    response = feeds.feed("user", 1).add_activities([act(1), act(2)])
    assert [a["foreign_id"] for a in response["activities"]] == ["testapp.Tweet:1", "testapp.Tweet:2"]
    assert response["activities"][0]["id"] == activity_id("testapp.Tweet:1", at(1))


def test_add_activities_with_an_empty_list_returns_none(feeds):
    assert feeds.feed("user", 1).add_activities([]) is None


def test_remove_by_id_and_by_foreign_id(feeds):
    feed = feeds.feed("user", 1)
    one = feed.add_activity(act(1))
    feed.add_activity(act(2))
    feed.add_activity(act(3))
    assert feed.remove_activity(one["id"])["removed"] == one["id"]
    assert feed.remove_activity(foreign_id="testapp.Tweet:2")["removed"] == "testapp.Tweet:2"
    assert fids(feed.get()) == ["testapp.Tweet:3"]


def test_removing_an_unknown_activity_is_not_an_error(feeds):
    feed = feeds.feed("user", 1)
    feed.add_activity(act(1))
    feed.remove_activity(foreign_id="nope")
    feed.remove_activity(activity_id("nope", at()))
    assert fids(feed.get()) == ["testapp.Tweet:1"]


def test_removed_activity_is_gone_from_get_activities(feeds):
    feed = feeds.feed("user", 1)
    added = feed.add_activity(act(1))
    feed.remove_activity(added["id"])
    assert feeds.get_activities(ids=[added["id"]])["results"] == []


def test_feeds_are_independent(feeds):
    feeds.feed("user", 1).add_activity(act(1))
    feeds.feed("user", 2).add_activity(act(2))
    assert fids(feeds.feed("user", 1).get()) == ["testapp.Tweet:1"]
    assert fids(feeds.feed("topic", 1).get()) == []


def test_feed_attributes(feeds):
    feed = feeds.feed("user", 42)
    assert (feed.slug, feed.user_id, feed.id) == ("user", "42", "user:42")
    assert feeds.feed("user", "with-dash_1").id == "user:with-dash_1"


def test_trimming_keeps_the_newest(feeds):
    feed = feeds.feed("tiny", 1)
    for n in range(1, 13):
        feed.add_activity(act(n))
    assert fids(feed.get(limit=100)) == [f"testapp.Tweet:{n}" for n in range(12, 7, -1)]


def test_trimming_applies_to_fanned_out_feeds(feeds):
    feeds.feed("tiny", 9).follow("user", 1)
    for n in range(1, 13):
        feeds.feed("user", 1).add_activity(act(n))
    assert fids(feeds.feed("tiny", 9).get(limit=100)) == [f"testapp.Tweet:{n}" for n in range(12, 7, -1)]


def test_feed_length(feeds):
    from stream_django.backends import get_backend

    feeds.feed("user", 1).add_activities([act(1), act(2)])
    assert get_backend().feed_length("user:1") == 2
    assert get_backend().feed_length("user:2") == 0
