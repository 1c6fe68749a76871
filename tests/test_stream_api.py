"""
The Stream API endpoint (``stream_django.stream_api``) through the real
stream-python client against a live server: every route, the shapes
stream-semantics.md gives, tokens and their scopes, Stream's error body.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
import requests
import stream
from stream import exceptions as stream_exceptions

from stream_django.enrich import Enrich
from stream_django.feed_manager import feed_manager
from tests.stream_api_support import KEY, OLD_KEY, OLD_SECRET, SECRET, feed_token, token
from tests.testapp.models import Tweet

pytestmark = pytest.mark.django_db(transaction=True)

DURATION = re.compile(r"^\d+(\.\d+)?ms$")


@pytest.fixture
def client(endpoint):
    """stream-python, pointed at the site as docs/stream-api.md says."""
    return stream.connect(KEY, SECRET, base_url=endpoint)


def raw(endpoint, method, path, tok=None, key=KEY, **kwargs):
    """A request as the clients send it, with ``tok`` (None: no header)."""
    headers = {"Stream-Auth-Type": "jwt"}
    if tok is not None:
        headers["Authorization"] = tok
    params = {"api_key": key, **kwargs.pop("params", {})}
    return requests.request(method, f"{endpoint}/api/v1.0/{path}", headers=headers, params=params, timeout=10, **kwargs)


def assert_activity(activity, **fields):
    assert uuid.UUID(activity["id"]).version == 1
    assert isinstance(activity["time"], dt.datetime) and activity["time"].tzinfo is not None
    for name, value in fields.items():
        assert activity[name] == value, name


def assert_error(exc, cls, code, status):
    assert type(exc) is cls or isinstance(exc, cls)
    assert exc.code == code
    assert exc.status_code == status


# -- activities ------------------------------------------------------------


def test_add_get_and_remove_by_id(client):
    feed = client.feed("user", "1")
    added = feed.add_activity({"actor": "auth.User:1", "verb": "tweet", "object": "tweet:1", "mood": "fine"})
    assert_activity(added, actor="auth.User:1", verb="tweet", object="tweet:1", mood="fine")
    assert DURATION.match(added["duration"])
    page = feed.get(limit=10)
    assert set(page) == {"results", "next", "duration"}
    assert page["next"] == ""
    (activity,) = page["results"]
    assert activity["id"] == added["id"] and activity["time"] == added["time"]
    removed = feed.remove_activity(added["id"])
    assert removed["removed"] == added["id"]
    assert feed.get()["results"] == []


def test_add_activities_and_remove_by_foreign_id(client):
    feed = client.feed("user", "2")
    time = dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone.utc)
    result = feed.add_activities(
        [
            {"actor": "a", "verb": "post", "object": "o:1", "foreign_id": "post:1", "time": time},
            {"actor": "a", "verb": "post", "object": "o:2", "foreign_id": "post:2", "time": time},
        ]
    )
    assert [a["foreign_id"] for a in result["activities"]] == ["post:1", "post:2"]
    assert result["activities"][0]["time"] == time
    # Same foreign_id and time: the same activity, not a duplicate.
    again = feed.add_activity({"actor": "a", "verb": "post", "object": "o:1b", "foreign_id": "post:1", "time": time})
    assert again["id"] == result["activities"][0]["id"]
    assert len(feed.get()["results"]) == 2
    assert feed.remove_activity(foreign_id="post:1")["removed"] == "post:1"
    assert [a["foreign_id"] for a in feed.get()["results"]] == ["post:2"]


def test_pages_and_next_urls_the_client_can_follow(client, endpoint):
    feed = client.feed("user", "3")
    base = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    feed.add_activities(
        [{"actor": "a", "verb": "post", "object": f"o:{i}", "time": base + dt.timedelta(minutes=i)} for i in range(5)]
    )
    first = feed.get(limit=2)
    assert [a["object"] for a in first["results"]] == ["o:4", "o:3"]
    url = urlsplit(first["next"])
    assert url.path == "/api/v1.0/feed/user/3/"
    params = dict(parse_qsl(url.query))
    assert params == {"id_lt": first["results"][-1]["id"], "limit": "2"}
    second = feed.get(**params)
    assert [a["object"] for a in second["results"]] == ["o:2", "o:1"]
    # The next URL itself, requested as the JS client would.
    followed = raw(endpoint, "GET", second["next"].removeprefix("/api/v1.0/"), feed_token("user:3", "read"))
    assert followed.status_code == 200
    assert [a["object"] for a in followed.json()["results"]] == ["o:0"]
    assert followed.json()["next"] == ""
    assert [a["object"] for a in feed.get(limit=2, offset=3)["results"]] == ["o:1", "o:0"]


def test_to_targets_and_fan_out(client):
    client.feed("timeline", "5").follow("user", "4")
    added = client.feed("user", "4").add_activity(
        {"actor": "u:4", "verb": "mention", "object": "o:1", "to": ["notification:6"]}
    )
    assert added["to"] == ["notification:6"]
    (copy,) = client.feed("timeline", "5").get()["results"]
    assert copy["id"] == added["id"] and copy["origin"] == "user:4"
    (group,) = client.feed("notification", "6").get()["results"]
    assert group["activities"][0]["id"] == added["id"]


def test_get_activities_by_ids_and_foreign_id_times(client):
    feed = client.feed("user", "7")
    time = dt.datetime(2026, 4, 1, 12, 0, tzinfo=dt.timezone.utc)
    a = feed.add_activity({"actor": "a", "verb": "post", "object": "o:1", "foreign_id": "f:1", "time": time})
    b = feed.add_activity({"actor": "a", "verb": "post", "object": "o:2", "foreign_id": "f:2", "time": time})
    by_id = client.get_activities(ids=[a["id"], b["id"], str(uuid.uuid1())])
    assert [x["id"] for x in by_id["results"]] == [a["id"], b["id"]]
    by_fid = client.get_activities(foreign_id_times=[("f:2", time)])
    assert [x["id"] for x in by_fid["results"]] == [b["id"]]


def test_update_activities_and_partial_update(client):
    feed = client.feed("user", "8")
    time = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
    a = feed.add_activity({"actor": "a", "verb": "post", "object": "o:1", "foreign_id": "f:1", "time": time, "n": 1})
    updated = client.update_activities(
        [{"actor": "a", "verb": "post", "object": "o:1", "foreign_id": "f:1", "time": time, "n": 2}]
    )
    assert set(updated) == {"duration"}
    assert feed.get()["results"][0]["n"] == 2
    result = client.activity_partial_update(id=a["id"], set={"product.name": "shoe"}, unset=["n"])
    (activity,) = result["activities"]
    assert activity["product"] == {"name": "shoe"} and "n" not in activity
    result = client.activity_partial_update(foreign_id="f:1", time=time, set={"n": 3})
    assert result["activities"][0]["n"] == 3
    assert feed.get()["results"][0]["product"] == {"name": "shoe"}


def test_update_activity_to_targets(client):
    time = dt.datetime(2026, 5, 2, tzinfo=dt.timezone.utc)
    feed = client.feed("user", "9")
    feed.add_activity({"actor": "a", "verb": "post", "object": "o", "foreign_id": "f:9", "time": time})
    result = feed.update_activity_to_targets("f:9", time, added_targets=["topic:news"])
    assert result["added"] == ["topic:news"] and result["activity"]["to"] == ["topic:news"]
    assert len(client.feed("topic", "news").get()["results"]) == 1


# -- follows ---------------------------------------------------------------


def test_follow_copy_limit_unfollow_and_keep_history(client):
    source = client.feed("user", "10")
    source.add_activities([{"actor": "a", "verb": "post", "object": f"o:{i}"} for i in range(3)])
    timeline = client.feed("timeline", "11")
    assert set(timeline.follow("user", "10", activity_copy_limit=1)) == {"duration"}
    assert len(timeline.get()["results"]) == 1
    timeline.unfollow("user", "10", keep_history=True)
    assert len(timeline.get()["results"]) == 1
    timeline.follow("user", "10")
    assert len(timeline.get()["results"]) == 3
    timeline.unfollow("user", "10")
    assert timeline.get()["results"] == []


def test_followers_and_following_with_filter_limit_offset(client):
    for i in (20, 21, 22):
        client.feed("timeline", str(i)).follow("user", "12")
    client.feed("timeline", "20").follow("user", "13")
    followers = client.feed("user", "12").followers()["results"]
    assert [f["feed_id"] for f in followers] == ["timeline:22", "timeline:21", "timeline:20"]
    assert set(followers[0]) == {"feed_id", "target_id", "created_at", "updated_at"}
    assert followers[0]["target_id"] == "user:12"
    assert isinstance(followers[0]["created_at"], dt.datetime)
    page = client.feed("user", "12").followers(limit=1, offset=1)["results"]
    assert [f["feed_id"] for f in page] == ["timeline:21"]
    following = client.feed("timeline", "20").following()["results"]
    assert [f["target_id"] for f in following] == ["user:13", "user:12"]
    assert [f["target_id"] for f in client.feed("timeline", "20").following(feeds=["user:12"])["results"]] == [
        "user:12"
    ]
    assert client.feed("timeline", "20").following(feeds=["user:99"])["results"] == []


def test_follow_many_unfollow_many_and_follow_stats(client):
    client.feed("user", "30").add_activities([{"actor": "a", "verb": "post", "object": f"o:{i}"} for i in range(3)])
    client.follow_many(
        [{"source": "timeline:31", "target": "user:30"}, {"source": "timeline:32", "target": "user:30"}],
        activity_copy_limit=2,
    )
    assert len(client.feed("timeline", "31").get()["results"]) == 2
    stats = client.follow_stats("user:30")["results"]
    assert stats == {"followers": {"feed": "user:30", "count": 2}, "following": {"feed": "user:30", "count": 0}}
    assert client.follow_stats("user:30", followers_slugs=["user"])["results"]["followers"]["count"] == 0
    client.unfollow_many(
        [
            {"source": "timeline:31", "target": "user:30", "keep_history": True},
            {"source": "timeline:32", "target": "user:30"},
        ]
    )
    assert len(client.feed("timeline", "31").get()["results"]) == 2
    assert client.feed("timeline", "32").get()["results"] == []
    assert client.follow_stats("user:30")["results"]["followers"]["count"] == 0


def test_add_to_many(client):
    client.feed("timeline", "41").follow("user", "40")
    assert set(client.add_to_many({"actor": "a", "verb": "news", "object": "o"}, ["user:40", "topic:x"])) == {
        "duration"
    }
    assert len(client.feed("user", "40").get()["results"]) == 1
    assert len(client.feed("topic", "x").get()["results"]) == 1
    assert client.feed("timeline", "41").get()["results"] == []  # not propagated to followers


# -- aggregated and notification feeds --------------------------------------


def test_aggregated_read(client):
    client.feed("timeline_aggregated", "50").follow("user", "51")
    client.feed("user", "51").add_activities([{"actor": f"u:{i}", "verb": "like", "object": "o"} for i in range(3)])
    page = client.feed("timeline_aggregated", "50").get()
    (group,) = page["results"]
    assert set(group) >= {
        "id",
        "group",
        "verb",
        "activity_count",
        "actor_count",
        "created_at",
        "updated_at",
        "activities",
    }
    assert group["verb"] == "like" and group["activity_count"] == 3 and group["actor_count"] == 3
    assert group["id"].endswith(f".{group['group']}")
    assert isinstance(group["updated_at"], dt.datetime)


def test_notification_mark_seen_and_mark_read(client):
    feed = client.feed("notification", "60")
    feed.add_activity({"actor": "a", "verb": "like", "object": "o"})
    feed.add_activity({"actor": "b", "verb": "follow", "object": "o"})
    page = feed.get()
    assert page["unseen"] == 2 and page["unread"] == 2
    assert all(g["is_seen"] is False and g["is_read"] is False for g in page["results"])
    marking = feed.get(mark_seen=True)
    assert marking["unseen"] == 2  # the marking read shows the state before
    assert feed.get()["unseen"] == 0
    feed.get(mark_read=[page["results"][0]["id"]])
    after = feed.get()
    assert after["unread"] == 1
    assert [g["is_read"] for g in after["results"]] == [True, False]


# -- the README flows through the endpoint ----------------------------------


def test_a_post_through_the_endpoint_fans_out_enriches_and_renders(client, ann, bob):
    """stream-django's flow: bob follows ann (feed_manager), ann posts through
    the endpoint, bob's timeline has it, enriched and rendered like a model's."""
    from django.template import Context, Template

    feed_manager.follow_user(bob.id, ann.id)
    tweet = Tweet.objects.create(user=ann, text="hello")
    # The model's own activity, read through the endpoint by stream-python.
    (from_model,) = client.feed("timeline", str(bob.id)).get()["results"]
    assert from_model["object"] == f"testapp.Tweet:{tweet.pk}"
    # A post through the endpoint referring to the same model.
    posted = client.feed("user", str(ann.id)).add_activity(
        {"actor": f"auth.User:{ann.id}", "verb": "tweet", "object": f"testapp.Tweet:{tweet.pk}", "foreign_id": "ext:1"}
    )
    timeline = feed_manager.get_news_feeds(bob.id)["timeline"].get()["results"]
    assert posted["id"] in [a["id"] for a in timeline]
    enriched = Enrich().enrich_activities(timeline)
    assert all(a.enriched for a in enriched)
    assert enriched[0]["object"] == tweet and enriched[0]["actor"] == ann
    html = Template("{% load activity_tags %}{% render_activity a %}").render(Context({"a": enriched[0]}))
    assert "hello" in html
    assert client.feed("timeline_aggregated", str(bob.id)).get()["results"][0]["activity_count"] == 2


# -- errors ------------------------------------------------------------------


def test_input_error_body_and_nothing_stored(client, endpoint):
    with pytest.raises(stream_exceptions.InputException) as e:
        client.feed("user", "70").add_activity({"verb": "post", "object": "o"})
    assert_error(e.value, stream_exceptions.InputException, 4, 400)
    assert "actor" in str(e.value)
    response = raw(endpoint, "POST", "feed/user/70/", feed_token("user:70"), json={"verb": "post", "object": "o"})
    body = response.json()
    assert response.status_code == 400
    assert set(body) == {"code", "detail", "exception", "status_code", "duration"}
    assert body["code"] == 4 and body["exception"] == "InputException" and body["status_code"] == 400
    assert client.feed("user", "70").get()["results"] == []
    with pytest.raises(stream_exceptions.FeedConfigException):
        client.feed("nosuchgroup", "1").get()


def test_unserved_services_answer_the_unknown_route_error(client):
    with pytest.raises(stream_exceptions.DoesNotExistException) as e:
        client.reactions.add("like", str(uuid.uuid1()), "u1")
    assert_error(e.value, stream_exceptions.DoesNotExistException, 16, 404)
    assert "not a route" in str(e.value)
    for call in (lambda: client.users.add("u1"), lambda: client.collections.add("food", {"name": "x"})):
        with pytest.raises(stream_exceptions.DoesNotExistException):
            call()


# -- authentication and token scopes ------------------------------------------


def test_rotated_key_works(endpoint):
    old = stream.connect(OLD_KEY, OLD_SECRET, base_url=endpoint)
    assert old.feed("user", "80").add_activity({"actor": "a", "verb": "post", "object": "o"})["id"]


def test_wrong_key_wrong_secret_and_nothing_stored(endpoint, client):
    with pytest.raises(stream_exceptions.ApiKeyException) as e:
        stream.connect("nokey", SECRET, base_url=endpoint).feed("user", "81").add_activity(
            {"actor": "a", "verb": "post", "object": "o"}
        )
    assert_error(e.value, stream_exceptions.ApiKeyException, 2, 401)
    with pytest.raises(stream_exceptions.SignatureException) as e:
        stream.connect(KEY, "not-the-secret-of-this-key-0123456789", base_url=endpoint).feed("user", "81").add_activity(
            {"actor": "a", "verb": "post", "object": "o"}
        )
    assert_error(e.value, stream_exceptions.SignatureException, 3, 401)
    # The old key's secret does not sign for the new key.
    with pytest.raises(stream_exceptions.SignatureException):
        stream.connect(KEY, OLD_SECRET, base_url=endpoint).feed("user", "81").get()
    assert client.feed("user", "81").get()["results"] == []


def test_no_route_without_a_valid_token(endpoint):
    for method, path in [
        ("GET", "feed/user/1/"),
        ("POST", "feed/user/1/"),
        ("GET", "activities/"),
        ("POST", "follow_many/"),
        ("GET", "stats/follow/"),
        ("POST", "reaction/"),
    ]:
        for tok, key in [(None, KEY), ("not.a.jwt", KEY), (token(SECRET, resource="*", action="*", feed_id="*"), "x")]:
            response = raw(endpoint, method, path, tok, key=key, json={})
            assert response.status_code == 401, (method, path, tok, key)
            body = response.json()
            assert body["exception"] in ("ApiKeyException", "SignatureException")
            assert set(body) == {"code", "detail", "exception", "status_code", "duration"}
    no_type = requests.get(
        f"{endpoint}/api/v1.0/feed/user/1/", params={"api_key": KEY}, headers={"Authorization": feed_token("user:1")}
    )
    assert no_type.status_code == 401 and "Stream-Auth-Type" in no_type.json()["detail"]


def test_expired_and_algorithm_none_tokens(endpoint):
    expired = token(SECRET, resource="*", action="*", feed_id="*", exp=1)
    response = raw(endpoint, "GET", "feed/user/1/", expired)
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    unsigned = jwt.encode({"resource": "*", "action": "*", "feed_id": "*"}, None, algorithm="none")
    response = raw(endpoint, "GET", "feed/user/1/", unsigned)
    assert response.status_code == 401 and "HS256" in response.json()["detail"]


def test_feed_scoped_tokens_do_only_what_they_name(client, endpoint):
    """stream-python's own request machinery holding a feed token."""
    activity = {"actor": "a", "verb": "post", "object": "o"}
    write_1 = feed_token("user:90", action="write", resource="feed")
    # Another feed: 403, nothing stored.
    with pytest.raises(stream_exceptions.NotAllowedException) as e:
        client.post("feed/user/91/", write_1, data=activity)
    assert_error(e.value, stream_exceptions.NotAllowedException, 17, 403)
    # Its own feed, but read-only or another resource: 403.
    for tok in (feed_token("user:90", action="read"), feed_token("user:90", resource="follower")):
        with pytest.raises(stream_exceptions.NotAllowedException):
            client.post("feed/user/90/", tok, data=activity)
    # A 'to' target it does not name, without a token of its own: 403.
    with pytest.raises(stream_exceptions.NotAllowedException):
        client.post("feed/user/90/", write_1, data={**activity, "to": ["notification:91"]})
    assert client.feed("user", "90").get()["results"] == []
    assert client.feed("user", "91").get()["results"] == []
    assert client.feed("notification", "91").get()["results"] == []
    # What it names works; a target carrying its own token too.
    added = client.post(
        "feed/user/90/", write_1, data={**activity, "to": [f"notification:91 {feed_token('notification:91')}"]}
    )
    assert added["to"] == ["notification:91"]
    assert len(client.get("feed/user/90/", feed_token("user:90", action="read")).get("results")) == 1
    # Routes over many feeds need a server token (feed_id '*').
    for path, data in [
        ("follow_many/", [{"source": "timeline:90", "target": "user:91"}]),
        ("activities/", {"activities": []}),
    ]:
        with pytest.raises(stream_exceptions.NotAllowedException):
            client.post(path, feed_token("user:90"), data=data)
    with pytest.raises(stream_exceptions.NotAllowedException):
        client.get("activities/", feed_token("user:90"), params={"ids": added["id"]})
    assert client.feed("timeline", "90").following()["results"] == []
    # Follow stats of another feed.
    with pytest.raises(stream_exceptions.NotAllowedException):
        client.get("stats/follow/", feed_token("user:90"), params={"followers": "user:91", "following": "user:91"})


def test_user_tokens_reach_only_that_users_feeds(client):
    user_1 = client.create_user_token("1")
    client.post("feed/user/1/", user_1, data={"actor": "SU:1", "verb": "post", "object": "o"})
    assert len(client.get("feed/timeline/1/", user_1)["results"]) == 0
    client.post("feed/timeline/1/follows/", user_1, data={"target": "user:2"})
    with pytest.raises(stream_exceptions.NotAllowedException):
        client.post("feed/user/2/", user_1, data={"actor": "SU:1", "verb": "post", "object": "o"})
    with pytest.raises(stream_exceptions.NotAllowedException):
        client.post("feed/timeline/2/follows/", user_1, data={"target": "user:1"})
    with pytest.raises(stream_exceptions.NotAllowedException):
        client.delete(f"feed/user/2/{uuid.uuid1()}/", user_1)
    assert client.feed("user", "2").get()["results"] == []
    assert client.feed("timeline", "2").following()["results"] == []
    assert [f["target_id"] for f in client.feed("timeline", "1").following()["results"]] == ["user:2"]


def test_a_malformed_key_setting_is_a_configuration_error(endpoint, settings):
    settings.STREAM_ENDPOINT_KEYS = {KEY: ""}
    response = raw(endpoint, "GET", "feed/user/1/", feed_token("user:1"))
    assert response.status_code == 500


def test_preflight_and_cors_headers(endpoint, client):
    preflight = requests.options(f"{endpoint}/api/v1.0/feed/user/1/", timeout=10)
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Stream-Auth-Type" in preflight.headers["Access-Control-Allow-Headers"]
    client.feed("user", "1").add_activity({"actor": "a", "verb": "post", "object": "o"})
    answer = raw(endpoint, "GET", "feed/user/1/", feed_token("user:1", "read"))
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    # Times as the hosted service writes them: naive UTC with microseconds.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", answer.json()["results"][0]["time"])


def test_the_async_client(endpoint):
    """stream-python's aiohttp client (``use_async=True``): its own HTTP stack,
    booleans sent as ``True``."""
    import asyncio

    async def flow():
        client = stream.connect(KEY, SECRET, base_url=endpoint, use_async=True)
        await client.feed("timeline", "100").follow("user", "101")
        added = await client.feed("user", "101").add_activity({"actor": "a", "verb": "post", "object": "o"})
        page = await client.feed("timeline", "100").get(limit=5)
        await client.feed("timeline", "100").unfollow("user", "101", keep_history=True)
        kept = await client.feed("timeline", "100").get()
        notification = client.feed("notification", "100")
        await notification.add_activity({"actor": "a", "verb": "like", "object": "o"})
        await notification.get(mark_seen=True)
        return added, page, kept, await notification.get()

    added, page, kept, notification = asyncio.run(flow())
    assert [a["id"] for a in page["results"]] == [added["id"]]
    assert [a["id"] for a in kept["results"]] == [added["id"]]
    assert notification["unseen"] == 0
