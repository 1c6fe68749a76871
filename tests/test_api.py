"""
The REST API (stream_django.api) over real backends: the database (SQLite,
PostgreSQL or MariaDB, as ``STREAM_TEST_DB`` says) and Redis.

Query counts are asserted against the Python API's own read of the same
page; the permission matrix runs every endpoint on another user's feeds.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("rest_framework", reason="the api extra (djangorestframework) is not installed")
pytest.importorskip("drf_spectacular", reason="the api extra (drf-spectacular) is not installed")

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from stream_django.activity import create_model_reference
from stream_django.client import stream_client
from tests.contract.helpers import at
from tests.local_backends import LOCAL_BACKENDS, use_backend
from tests.testapp.models import Like, Pin, Tweet

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.api_urls")]

M = "/api/feeds"
#: Every local store: the database, Redis and Redis Cluster.
API_BACKENDS = list(LOCAL_BACKENDS)


@pytest.fixture(params=API_BACKENDS)
def backend(request, settings):
    settings.STREAM_DISABLE_MODEL_TRACKING = True
    return use_backend(request, settings, request.param)


@pytest.fixture
def carol(django_user_model):
    return django_user_model.objects.create(username="carol")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create(username="root", is_staff=True)


def client_for(user: Any = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def ref(instance: Any) -> str:
    return create_model_reference(instance)


def seed_mixed(owner: Any, authors: list[Any], count: int, feed: str = "timeline") -> list[Any]:
    """``count`` activities in ``feed:<owner>``, a tweet, a pin and a like in turn."""
    made = []
    for n in range(count):
        author = authors[n % len(authors)]
        kind = n % 3
        if kind == 0:
            obj = Tweet.objects.create(user=author, text=f"tweet {n}")
            verb = "tweet"
        elif kind == 1:
            obj = Pin.objects.create(author=author, board=f"board {n}")
            verb = "pin"
        else:
            obj = Like.objects.create(user=author, tweet=made[n - 2])
            verb = "like"
        stream_client.feed(feed, owner.pk).add_activity(
            {
                "actor": ref(author),
                "verb": verb,
                "object": ref(obj.tweet if verb == "like" else obj),
                "foreign_id": ref(obj),
                "time": at(n),
            }
        )
        made.append(obj)
    return made


# -- reading --------------------------------------------------------------


def test_a_page_is_newest_first_with_references_serialized(backend, ann, bob):
    tweets = [Tweet.objects.create(user=bob, text=f"t{n}") for n in range(3)]
    for n, tweet in enumerate(tweets):
        stream_client.feed("user", bob.pk).add_activity(
            {"actor": ref(bob), "verb": "tweet", "object": ref(tweet), "foreign_id": ref(tweet), "time": at(n)}
        )
    response = client_for(ann).get(f"{M}/user/{bob.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert [a["object"]["id"] for a in body["results"]] == [str(t.pk) for t in reversed(tweets)]
    assert body["results"][0]["actor"] == {"id": str(bob.pk), "type": "auth.User", "str": "bob", "url": None}
    assert body["results"][0]["object"]["type"] == "testapp.Tweet"
    assert body["results"][0]["verb"] == "tweet"
    assert body["next"] is None
    assert "unseen" not in body


def test_strings_that_are_not_references_stay_as_they_are(backend, ann):
    stream_client.feed("timeline", ann.pk).add_activity({"actor": "someone", "verb": "say", "object": "hello"})
    body = client_for(ann).get(f"{M}/timeline/{ann.pk}/").json()
    assert (body["results"][0]["actor"], body["results"][0]["object"]) == ("someone", "hello")


def test_one_query_per_model_class_for_a_page_of_25_mixing_three_models(backend, ann, bob, carol):
    seed_mixed(ann, [bob, carol], 30)
    with CaptureQueriesContext(connection) as python_api:
        stream_client.feed("timeline", ann.pk).get(limit=25)
    client = client_for(ann)
    with CaptureQueriesContext(connection) as api:
        response = client.get(f"{M}/timeline/{ann.pk}/?limit=25")
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == 25
    assert {a["actor"]["type"] for a in body["results"]} == {"auth.User"}
    assert {a["object"]["type"] for a in body["results"]} == {"testapp.Tweet", "testapp.Pin"}
    # The feed read, then auth.User, testapp.Tweet and testapp.Pin: one query each.
    assert len(api) == len(python_api) + 3, [q["sql"] for q in api.captured_queries]


def test_a_deep_page_costs_the_queries_of_the_first(backend, ann, bob, carol):
    seed_mixed(ann, [bob, carol], 90)
    client = client_for(ann)
    counts, seen, url = [], [], f"{M}/timeline/{ann.pk}/?limit=10"
    while url:
        with CaptureQueriesContext(connection) as ctx:
            body = client.get(url).json()
        counts.append(len(ctx))
        seen += [a["foreign_id"] for a in body["results"]]
        url = body["next"]
        if url:
            assert "id_lt=" in url and "offset" not in url
    assert len(seen) == len(set(seen)) == 90
    # Nine full pages and the empty one after the last.
    assert len(set(counts[:9])) == 1, counts


def test_next_carries_the_last_id_as_cursor_and_id_gt_reads_newer(backend, ann, bob):
    seed_mixed(ann, [bob], 6)
    client = client_for(ann)
    first = client.get(f"{M}/timeline/{ann.pk}/?limit=2").json()
    assert first["next"].startswith("http://testserver/api/feeds/timeline/")
    assert f"id_lt={first['results'][-1]['id']}" in first["next"]
    second = client.get(first["next"]).json()
    assert [a["time"] for a in second["results"]] < [a["time"] for a in first["results"]]
    newer = client.get(f"{M}/timeline/{ann.pk}/?id_gt={second['results'][0]['id']}").json()
    assert {a["id"] for a in newer["results"]} == {a["id"] for a in first["results"]}


def test_deleted_references_are_left_out_by_default_and_marked_when_set(backend, ann, bob, settings):
    tweets = seed_mixed(ann, [bob], 3)
    gone = tweets[0]
    gone_ref = ref(gone)
    gone.delete()
    client = client_for(ann)
    kept = client.get(f"{M}/timeline/{ann.pk}/").json()["results"]
    assert gone_ref not in [a["foreign_id"] for a in kept]
    assert len(kept) == 1  # the like of the deleted tweet went with it (cascade), the pin stays
    settings.STREAM_API_MISSING_REFERENCES = "mark"
    marked = client.get(f"{M}/timeline/{ann.pk}/").json()["results"]
    assert len(marked) == 3
    by_fid = {a["foreign_id"]: a for a in marked}
    assert by_fid[gone_ref]["object"] == {
        "id": gone_ref.split(":")[1],
        "type": "testapp.Tweet",
        "str": None,
        "url": None,
        "missing": True,
    }


def test_a_site_serializer_per_model(backend, ann, bob, settings):
    settings.STREAM_API_SERIALIZERS = {"testapp.Tweet": "tests.api_serializers.TweetSerializer"}
    seed_mixed(ann, [bob], 2)
    results = client_for(ann).get(f"{M}/timeline/{ann.pk}/").json()["results"]
    by_verb = {a["verb"]: a for a in results}
    assert by_verb["tweet"]["object"] == {"id": by_verb["tweet"]["object"]["id"], "text": "tweet 0", "user": bob.pk}
    assert by_verb["pin"]["object"]["type"] == "testapp.Pin"


def test_aggregated_groups_are_enriched_and_page_by_group_id(backend, ann, bob, carol):
    seed_mixed(ann, [bob, carol], 9, feed="timeline_aggregated")
    client = client_for(ann)
    with CaptureQueriesContext(connection) as python_api:
        stream_client.feed("timeline_aggregated", ann.pk).get(limit=2)
    with CaptureQueriesContext(connection) as api:
        first = client.get(f"{M}/timeline_aggregated/{ann.pk}/?limit=2").json()
    # The groups' activities reference users, tweets and pins: one query each.
    assert len(api) == len(python_api) + 3, [q["sql"] for q in api.captured_queries]
    assert len(first["results"]) == 2
    group = first["results"][0]
    assert {"id", "group", "verb", "activity_count", "actor_count", "activities"} <= set(group)
    assert group["activities"][0]["actor"]["type"] == "auth.User"
    assert "." in first["next"].split("id_lt=")[1]
    rest = client.get(first["next"]).json()
    assert len(rest["results"]) == 1
    assert {g["group"] for g in first["results"]}.isdisjoint(g["group"] for g in rest["results"])


def test_notification_feed_counts_and_marks(backend, ann, bob):
    seed_mixed(ann, [bob], 3, feed="notification")
    client = client_for(ann)
    body = client.get(f"{M}/notification/{ann.pk}/").json()
    assert (body["unseen"], body["unread"]) == (3, 3)
    assert all(g["is_seen"] is False for g in body["results"])
    one = body["results"][0]["id"]
    response = client.post(f"{M}/notification/{ann.pk}/seen/", {"groups": [one]}, format="json")
    assert response.status_code == 200
    assert response.json() == {"unseen": 2, "unread": 3}
    assert client.post(f"{M}/notification/{ann.pk}/read/", {"all": True}, format="json").json() == {
        "unseen": 2,
        "unread": 0,
    }
    client.get(f"{M}/notification/{ann.pk}/?mark_seen=true")
    body = client.get(f"{M}/notification/{ann.pk}/").json()
    assert (body["unseen"], body["unread"]) == (0, 0)
    assert "mark_seen" not in (body["next"] or "")


# -- follows --------------------------------------------------------------


def test_follow_is_201_then_200_and_unfollow_is_204(backend, ann, bob):
    seed_mixed(bob, [bob], 3, feed="user")
    client = client_for(ann)
    url = f"{M}/timeline/{ann.pk}/follows/"
    response = client.post(url, {"target": f"user:{bob.pk}", "activity_copy_limit": 2}, format="json")
    assert response.status_code == 201
    assert response.json() == {"feed": f"timeline:{ann.pk}", "target": f"user:{bob.pk}", "created": True}
    assert len(client.get(f"{M}/timeline/{ann.pk}/").json()["results"]) == 2
    # Following again is a 200, and copies with the default limit.
    assert client.post(url, {"target": f"user:{bob.pk}"}, format="json").status_code == 200
    following = client.get(f"{M}/timeline/{ann.pk}/following/").json()
    assert [r["target_id"] for r in following["results"]] == [f"user:{bob.pk}"]
    followers = client.get(f"{M}/user/{bob.pk}/followers/").json()
    assert [r["feed_id"] for r in followers["results"]] == [f"timeline:{ann.pk}"]
    response = client.delete(f"{M}/timeline/{ann.pk}/follows/user/{bob.pk}/?keep_history=true")
    assert response.status_code == 204
    assert client.get(f"{M}/timeline/{ann.pk}/following/").json()["results"] == []
    assert len(client.get(f"{M}/timeline/{ann.pk}/").json()["results"]) == 3
    client.post(url, {"target": f"user:{bob.pk}"}, format="json")
    client.delete(f"{M}/timeline/{ann.pk}/follows/user/{bob.pk}/")
    assert client.get(f"{M}/timeline/{ann.pk}/").json()["results"] == []


def test_follow_lists_page_with_opaque_cursors(backend, ann, django_user_model):
    for n in range(5):
        stream_client.feed("timeline", f"f{n}").follow("user", ann.pk)
    client = client_for(ann)
    seen, url, pages = [], f"{M}/user/{ann.pk}/followers/?limit=2", 0
    while url:
        body = client.get(url).json()
        seen += [r["feed_id"] for r in body["results"]]
        url = body["next"]
        pages += 1
        if url:
            assert "offset" not in url and "cursor=" in url
    assert sorted(seen) == [f"timeline:f{n}" for n in range(5)]
    assert pages == 3
    cursor = client.get(f"{M}/user/{ann.pk}/followers/?limit=2").json()["next"].split("cursor=")[1]
    response = client.get(f"{M}/user/{ann.pk}/following/?cursor={cursor}")
    assert response.status_code == 400
    assert "cursor" in response.json()
    assert client.get(f"{M}/user/{ann.pk}/followers/?cursor=bogus").json()["cursor"]


# -- bad input: 400 naming the field, 404 for unknown groups ---------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("timeline/{me}/?limit=101", "limit"),
        ("timeline/{me}/?limit=-1", "limit"),
        ("timeline/{me}/?limit=ten", "limit"),
        ("timeline/{me}/?id_lt=not-a-uuid", "id_lt"),
        ("timeline/{me}/?id_gt=12345678-1234-4234-8234-123456789012", "id_gt"),
        ("timeline/{me}/?mark_seen=true", "mark_seen"),
        ("notification/{me}/?mark_read=nope", "mark_read"),
        ("bad-slug!/{me}/", "slug"),
        ("timeline/bad%20id/", "user_id"),
        ("user/{me}/followers/?limit=501", "limit"),
    ],
)
def test_bad_query_parameters_are_400_naming_the_field(backend, ann, path, field):
    response = client_for(ann).get(f"{M}/" + path.format(me=ann.pk))
    assert response.status_code == 400, response.content
    body = response.json()
    assert list(body) == [field]
    assert isinstance(body[field], list) and body[field][0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "target"),
        ({"target": "user"}, "target"),
        ({"target": "user:bad id"}, "target"),
        ({"target": "nosuchgroup:1"}, "target"),
        ({"target": "timeline_aggregated:2"}, "target"),
        ({"target": "timeline:{me}"}, "target"),
        ({"target": "user:2", "activity_copy_limit": 1001}, "activity_copy_limit"),
        ({"target": "user:2", "activity_copy_limit": -1}, "activity_copy_limit"),
    ],
)
def test_bad_follow_bodies_are_400_naming_the_field(backend, ann, body, field):
    body = {k: v.format(me=ann.pk) if isinstance(v, str) else v for k, v in body.items()}
    response = client_for(ann).post(f"{M}/timeline/{ann.pk}/follows/", body, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("notification/{me}/seen/", {}, "non_field_errors"),
        ("notification/{me}/seen/", {"groups": [], "all": True}, "non_field_errors"),
        ("notification/{me}/read/", {"groups": ["no-dot"]}, "groups"),
        ("notification/{me}/read/", {"groups": "a.b"}, "groups"),
        ("timeline/{me}/seen/", {"all": True}, "slug"),
    ],
)
def test_bad_mark_bodies_are_400_naming_the_field(backend, ann, path, body, field):
    response = client_for(ann).post(f"{M}/" + path.format(me=ann.pk), body, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]


def test_malformed_json_is_a_400(backend, ann):
    response = client_for(ann).post(
        f"{M}/timeline/{ann.pk}/follows/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "detail" in response.json()


def test_unknown_feed_groups_are_404(backend, ann):
    client = client_for(ann)
    for response in (
        client.get(f"{M}/nosuchgroup/{ann.pk}/"),
        client.get(f"{M}/nosuchgroup/{ann.pk}/followers/"),
        client.post(f"{M}/nosuchgroup/{ann.pk}/seen/", {"all": True}, format="json"),
    ):
        assert response.status_code == 404
        assert "nosuchgroup" in response.json()["detail"]


def test_an_unreachable_store_is_a_503_naming_it(ann, settings):
    settings.STREAM_BACKEND = "stream_django.backends.redis.RedisBackend"
    settings.STREAM_REDIS_URL = "redis://127.0.0.1:1/0"
    settings.STREAM_BACKEND_OPTIONS = {"socket_connect_timeout": 1}
    response = client_for(ann).get(f"{M}/timeline/{ann.pk}/")
    assert response.status_code == 503
    assert "127.0.0.1:1" in response.json()["detail"]


def test_bad_unfollow_targets_are_400(backend, ann):
    response = client_for(ann).delete(f"{M}/timeline/{ann.pk}/follows/user/bad%20id/")
    assert response.status_code == 400
    assert list(response.json()) == ["target_id"]
    response = client_for(ann).delete(f"{M}/timeline/{ann.pk}/follows/user/2/?keep_history=maybe")
    assert list(response.json()) == ["keep_history"]


# -- permissions ------------------------------------------------------------

#: (method, path, body, action) for every endpoint; {u} is the feed's user.
ENDPOINTS = [
    ("get", "user/{u}/", None, "read user feed"),
    ("get", "timeline/{u}/", None, "read timeline"),
    ("get", "timeline_aggregated/{u}/", None, "read aggregated"),
    ("get", "notification/{u}/", None, "read notifications"),
    ("get", "notification/{u}/?mark_seen=true", None, "mark by reading"),
    ("get", "user/{u}/followers/", None, "followers of user feed"),
    ("get", "user/{u}/following/", None, "following of user feed"),
    ("get", "timeline/{u}/followers/", None, "followers of timeline"),
    ("get", "timeline/{u}/following/", None, "following of timeline"),
    ("post", "timeline/{u}/follows/", {"target": "user:someone"}, "follow"),
    ("delete", "timeline/{u}/follows/user/someone/", None, "unfollow"),
    ("post", "notification/{u}/seen/", {"all": True}, "mark seen"),
    ("post", "notification/{u}/read/", {"all": True}, "mark read"),
]

#: Who may do what on bob's feeds: the default policy.
ALLOWED = {
    "owner": {e[3] for e in ENDPOINTS},
    "other": {"read user feed", "followers of user feed", "following of user feed"},
    "staff": {
        "read user feed",
        "read timeline",
        "read aggregated",
        "read notifications",
        "followers of user feed",
        "following of user feed",
        "followers of timeline",
        "following of timeline",
    },
    "anonymous": set(),
}


@pytest.mark.parametrize("who", list(ALLOWED))
def test_permission_matrix_on_every_endpoint(backend, who, ann, bob, staff):
    seed_mixed(bob, [ann], 3, feed="notification")
    seed_mixed(bob, [ann], 3, feed="timeline")
    user = {"owner": bob, "other": ann, "staff": staff, "anonymous": None}[who]
    client = client_for(user)
    outcome = {}
    for method, path, body, action in ENDPOINTS:
        response = getattr(client, method)(f"{M}/" + path.format(u=bob.pk), body, format="json")
        outcome[action] = response.status_code
    allowed = {a for a, code in outcome.items() if code < 400}
    assert allowed == ALLOWED[who], outcome
    refused = {code for a, code in outcome.items() if a not in ALLOWED[who]}
    assert refused <= ({401, 403} if who == "anonymous" else {403}), outcome


def test_a_refusal_does_not_reveal_whether_the_feed_has_content(backend, ann, bob, carol):
    seed_mixed(bob, [ann], 3, feed="timeline")
    client = client_for(ann)
    full = client.get(f"{M}/timeline/{bob.pk}/")
    empty = client.get(f"{M}/timeline/{carol.pk}/")
    nobody = client.get(f"{M}/timeline/no-such-user/")
    assert full.status_code == empty.status_code == nobody.status_code == 403
    assert full.content == empty.content == nobody.content
    assert b"results" not in full.content


def test_a_site_policy_replaces_the_default(backend, ann, bob, settings):
    settings.STREAM_API_PERMISSION_CLASS = "tests.api_serializers.ReadEverything"
    seed_mixed(bob, [ann], 2, feed="timeline")
    assert client_for(ann).get(f"{M}/timeline/{bob.pk}/").status_code == 200
    assert (
        client_for(ann).post(f"{M}/timeline/{bob.pk}/follows/", {"target": "user:x"}, format="json").status_code == 403
    )


def test_session_authentication_from_the_browser(backend, ann, settings):
    settings.MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ]
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(ann)
    assert client.get(f"{M}/timeline/{ann.pk}/").status_code == 200
    # Unsafe methods need the CSRF token with session authentication.
    assert client.post(f"{M}/timeline/{ann.pk}/follows/", {"target": "user:2"}, format="json").status_code == 403


# -- throttling -------------------------------------------------------------


class TwoPerMinute(SimpleRateThrottle):
    rate = "2/min"

    def get_cache_key(self, request, view):
        return f"test-api-throttle-{request.user.pk}"


def test_throttle_classes_from_the_setting(backend, ann, settings):
    from django.core.cache import cache

    cache.clear()
    settings.STREAM_API_THROTTLE_CLASSES = ["tests.test_api.TwoPerMinute"]
    client = client_for(ann)
    codes = [client.get(f"{M}/timeline/{ann.pk}/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    cache.clear()


# -- the OpenAPI document ---------------------------------------------------


def test_the_openapi_document_validates_and_lists_every_path(backend):
    from openapi_spec_validator import validate

    response = APIClient().get(f"{M}/schema/")
    assert response.status_code == 200
    document = json.loads(response.content)
    validate(document)
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/api/feeds/{slug}/{user_id}/",
        "/api/feeds/{slug}/{user_id}/follows/",
        "/api/feeds/{slug}/{user_id}/follows/{target_slug}/{target_id}/",
        "/api/feeds/{slug}/{user_id}/followers/",
        "/api/feeds/{slug}/{user_id}/following/",
        "/api/feeds/{slug}/{user_id}/seen/",
        "/api/feeds/{slug}/{user_id}/read/",
    }
    read = document["paths"]["/api/feeds/{slug}/{user_id}/"]["get"]
    assert {p["name"] for p in read["parameters"]} >= {"slug", "user_id", "limit", "id_lt", "id_gt", "mark_seen"}
    assert {"200", "400", "403", "404"} <= set(read["responses"])
    yaml = APIClient().get(f"{M}/schema/?format=yaml")
    assert yaml.status_code == 200 and yaml.content.startswith(b"openapi: 3.")


# -- system checks of the API settings --------------------------------------


def api_check_ids() -> set[str]:
    from stream_django.checks import check_settings

    return {m.id for m in check_settings() if m.id.startswith("stream_django.E05")}


def test_the_api_settings_pass_the_checks_by_default_and_when_valid(settings):
    assert api_check_ids() == set()
    settings.STREAM_API_SERIALIZERS = {"testapp.Tweet": "tests.api_serializers.TweetSerializer"}
    settings.STREAM_API_MISSING_REFERENCES = "mark"
    settings.STREAM_API_PERMISSION_CLASS = "tests.api_serializers.ReadEverything"
    settings.STREAM_API_THROTTLE_CLASSES = ["tests.test_api.TwoPerMinute"]
    assert api_check_ids() == set()


@pytest.mark.parametrize(
    ("setting", "value", "check_id", "words"),
    [
        ("STREAM_API_MISSING_REFERENCES", "drop", "E050", "'omit' or 'mark'"),
        ("STREAM_API_SERIALIZERS", ["x"], "E051", "must be a dict"),
        ("STREAM_API_SERIALIZERS", {"Tweet": "tests.api_serializers.TweetSerializer"}, "E051", "model label"),
        ("STREAM_API_SERIALIZERS", {"testapp.Tweet": "tests.nowhere.S"}, "E051", "cannot be imported"),
        ("STREAM_API_DEFAULT_SERIALIZER", "tests.nowhere.S", "E051", "cannot be imported"),
        ("STREAM_API_PERMISSION_CLASS", "tests.nowhere.P", "E052", "cannot be imported"),
        ("STREAM_API_THROTTLE_CLASSES", "tests.test_api.TwoPerMinute", "E053", "list of dotted paths"),
        ("STREAM_API_THROTTLE_CLASSES", ["tests.nowhere.T"], "E053", "cannot be imported"),
    ],
)
def test_bad_api_settings_are_reported_by_the_checks(settings, setting, value, check_id, words):
    from stream_django.checks import check_settings

    setattr(settings, setting, value)
    messages = [m for m in check_settings() if m.id == f"stream_django.{check_id}"]
    assert len(messages) == 1 and words in messages[0].msg and setting in messages[0].msg, messages
