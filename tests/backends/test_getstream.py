"""The getstream.io backend at the HTTP level (only the hosted API is mocked)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
import responses
import stream
import stream.exceptions
from django.db import transaction
from django.template import Context, Template
from django.test import RequestFactory

from stream_django import exceptions as ours
from stream_django.backends import get_backend
from stream_django.backends.getstream import GetStreamBackend
from stream_django.checks import check_settings
from stream_django.client import stream_client
from stream_django.conf import GETSTREAM_BACKEND, stream_settings
from stream_django.context_processors import stream as stream_context
from stream_django.enrich import Enrich
from stream_django.feed_manager import feed_manager
from stream_django.models import FailedOperation
from tests.testapp.models import Like, Pin, Tweet

API = "https://api.stream-io-api.com/api/v1.0/"
KEY = "testkey"
SECRET = "s" * 40
WHEN = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
WHEN_SENT = "2026-03-01T12:00:00.123456"
WHEN_MS = "2026-03-01T12:00:00.123000"


@pytest.fixture
def hosted(settings, monkeypatch):
    """getstream.io credentials in the settings; the HTTP API mocked."""
    monkeypatch.delenv("STREAM_URL", raising=False)
    monkeypatch.delenv("STREAM_REGION", raising=False)
    monkeypatch.delenv("LOCAL", raising=False)
    settings.STREAM_API_KEY = KEY
    settings.STREAM_API_SECRET = SECRET
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def body(call):
    return json.loads(call.request.body)


def query(call):
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query, keep_blank_values=True).items()}


def path(call):
    return urlsplit(call.request.url).path


def ok(mock, method, url, payload=None, status=200):
    mock.add(method, url, json={"duration": "1ms", **(payload or {})}, status=status)


# -- configuration ------------------------------------------------------


def test_credentials_select_the_backend_and_build_stream_pythons_client_once(hosted, settings):
    settings.STREAM_TIMEOUT = 4.5
    settings.STREAM_APP_ID = "1234"
    assert stream_settings.backend_path == GETSTREAM_BACKEND
    backend = get_backend()
    assert isinstance(backend, GetStreamBackend) and backend.is_remote
    assert isinstance(backend.client, stream.client.StreamClient)
    assert backend.client is backend.client
    assert stream_client.feed("user", 1).client is backend.client
    assert (backend.client.api_key, backend.client.api_secret, backend.client.timeout) == (KEY, SECRET, 4.5)
    assert stream_context(RequestFactory().get("/")) == {"STREAM_API_KEY": KEY, "STREAM_APP_ID": "1234"}
    assert check_settings() == []


def test_location_changes_the_api_host(hosted, settings):
    settings.STREAM_LOCATION = "us-east"
    hosted.add("GET", "https://us-east-api.stream-io-api.com/api/v1.0/feed/user/1/", json={"results": [], "next": ""})
    assert feed_manager.get_user_feed(1).get()["results"] == []
    assert "us-east-api.stream-io-api.com" in get_backend().address


def test_stream_url_environment_variable(settings, monkeypatch):
    monkeypatch.setenv("STREAM_URL", f"https://urlkey:{SECRET}@eu-west.stream-io-api.com/?app_id=777")
    assert stream_settings.backend_path == GETSTREAM_BACKEND
    client = get_backend().client
    assert (client.api_key, client.app_id, client.location) == ("urlkey", "777", "eu-west")
    assert stream_context(None) == {"STREAM_API_KEY": "urlkey", "STREAM_APP_ID": "777"}
    settings.STREAM_APP_ID = "888"  # the setting wins over the URL
    assert stream_context(None)["STREAM_APP_ID"] == "888"


def test_an_explicit_local_backend_wins_over_credentials(hosted, settings):
    settings.STREAM_BACKEND = "stream_django.backends.database.DatabaseBackend"
    assert not get_backend().is_remote


# -- checks -------------------------------------------------------------


def check_ids():
    return [(m.id, m.msg, m.hint) for m in check_settings()]


def test_explicit_backend_without_credentials_is_a_check_error(settings, monkeypatch):
    monkeypatch.delenv("STREAM_URL", raising=False)
    settings.STREAM_BACKEND = GETSTREAM_BACKEND
    ((id_, msg, hint),) = check_ids()
    assert id_ == "stream_django.E041"
    assert "STREAM_API_KEY" in msg and "STREAM_API_SECRET" in hint
    with pytest.raises(ours.InvalidStreamBackend, match="STREAM_API_KEY"):
        stream_client.feed("user", 1)
    settings.STREAM_API_KEY = KEY
    ((id_, msg, _),) = check_ids()
    assert id_ == "stream_django.E041" and "no STREAM_API_SECRET" in msg


def test_unparsable_stream_url_is_a_check_error(settings, monkeypatch):
    monkeypatch.setenv("STREAM_URL", "http://not-a-stream-url")
    ((id_, msg, _),) = check_ids()
    assert id_ == "stream_django.E042" and "STREAM_URL" in msg


def test_missing_stream_python(hosted, monkeypatch):
    monkeypatch.setitem(sys.modules, "stream", None)
    ((id_, _, hint),) = check_ids()
    assert id_ == "stream_django.E040"
    assert 'pip install "django-activity-feeds[getstream]"' in hint
    with pytest.raises(ours.InvalidStreamBackend, match=r'pip install "django-activity-feeds\[getstream\]"'):
        _ = get_backend().client


def test_backend_options_are_rejected(hosted, settings):
    settings.STREAM_BACKEND_OPTIONS = {"using": "default"}
    ((id_, msg, _),) = check_ids()
    assert id_ == "stream_django.E001" and "getstream backend takes no STREAM_BACKEND_OPTIONS" in msg


# -- the requests of feed_manager ---------------------------------------


def test_follow_user_posts_one_follow_per_news_feed(hosted):
    ok(hosted, "POST", f"{API}feed/timeline/1/follows/", status=201)
    ok(hosted, "POST", f"{API}feed/timeline_aggregated/1/follows/", status=201)
    feed_manager.follow_user(1, 2)
    assert [path(c) for c in hosted.calls] == [
        "/api/v1.0/feed/timeline/1/follows/",
        "/api/v1.0/feed/timeline_aggregated/1/follows/",
    ]
    for call in hosted.calls:
        sent = body(call)
        assert sent.keys() == {"target", "target_token"} and sent["target"] == "user:2"
        assert query(call) == {"api_key": KEY}
        assert call.request.headers["stream-auth-type"] == "jwt"
        claims = jwt.decode(call.request.headers["Authorization"], SECRET, algorithms=["HS256"])
        assert claims["resource"] == "follower" and claims["action"] == "write"


def test_unfollow_user_deletes_each_follow(hosted):
    ok(hosted, "DELETE", f"{API}feed/timeline/1/follows/user:2/")
    ok(hosted, "DELETE", f"{API}feed/timeline_aggregated/1/follows/user:2/")
    feed_manager.unfollow_user(1, 2)
    assert [c.request.method for c in hosted.calls] == ["DELETE", "DELETE"]
    assert all(body(c) == {} and query(c) == {"api_key": KEY} for c in hosted.calls)


def test_feed_reads_pass_their_parameters(hosted):
    hosted.add("GET", f"{API}feed/notification/3/", json={"results": [], "next": "", "unseen": 0, "unread": 0})
    page = feed_manager.get_notification_feed(3).get(limit=5, mark_seen=True)
    assert page["unseen"] == 0
    assert query(hosted.calls[0]) == {"api_key": KEY, "limit": "5", "mark_seen": "True"}


def test_add_and_remove_activity_to_feed(hosted, ann):
    tweet = Tweet(pk=9, user=ann, text="hi", created_at=WHEN)
    ok(hosted, "POST", f"{API}feed/user/{ann.pk}/", {"id": "x"}, status=201)
    ok(hosted, "DELETE", f"{API}feed/user/{ann.pk}/testapp.Tweet:9/", {"removed": "testapp.Tweet:9"})
    feed_manager.add_activity_to_feed(tweet)
    feed_manager.remove_activity_from_feed(tweet)
    add, remove = hosted.calls
    assert (add.request.method, path(add)) == ("POST", f"/api/v1.0/feed/user/{ann.pk}/")
    assert body(add) == expected_tweet(tweet)
    assert (remove.request.method, path(remove)) == ("DELETE", f"/api/v1.0/feed/user/{ann.pk}/testapp.Tweet:9/")
    assert query(remove) == {"api_key": KEY, "foreign_id": "1"} and body(remove) == {}


# -- model tracking -----------------------------------------------------


def expected_tweet(tweet, **extra):
    return {
        "actor": f"auth.User:{tweet.user_id}",
        "verb": "tweet",
        "object": f"testapp.Tweet:{tweet.pk}",
        "foreign_id": f"testapp.Tweet:{tweet.pk}",
        "time": WHEN_SENT,
        "text_length": len(tweet.text),
        **extra,
    }


@pytest.mark.django_db(transaction=True)
def test_a_created_instance_is_posted_after_commit_only(hosted, ann):
    ok(hosted, "POST", f"{API}feed/user/{ann.pk}/", status=201)
    with transaction.atomic():
        tweet = Tweet.objects.create(user=ann, text="hello", created_at=WHEN)
        assert len(hosted.calls) == 0
    (call,) = hosted.calls
    assert call.request.method == "POST" and path(call) == f"/api/v1.0/feed/user/{ann.pk}/"
    assert body(call) == expected_tweet(tweet)
    with pytest.raises(RuntimeError), transaction.atomic():
        Tweet.objects.create(user=ann, text="rolled back", created_at=WHEN)
        raise RuntimeError
    assert len(hosted.calls) == 1


@pytest.mark.django_db(transaction=True)
def test_notify_targets_are_sent_with_their_tokens(hosted, ann, bob):
    ok(hosted, "POST", f"{API}feed/user/{ann.pk}/", status=201)
    ok(hosted, "POST", f"{API}feed/user/{bob.pk}/", status=201)
    tweet = Tweet.objects.create(user=ann, text="hello", created_at=WHEN)
    like = Like.objects.create(user=bob, tweet=tweet, created_at=WHEN)
    sent = body(hosted.calls[1])
    target, token = sent.pop("to")[0].split(" ")
    assert target == f"notification:{ann.pk}"
    assert jwt.decode(token, SECRET, algorithms=["HS256"])["resource"] == "feed"
    assert sent == {
        "actor": f"auth.User:{bob.pk}",
        "verb": "like",
        "object": f"testapp.Tweet:{tweet.pk}",
        "foreign_id": f"testapp.Like:{like.pk}",
        "time": WHEN_SENT,
    }


@pytest.mark.django_db(transaction=True)
def test_an_edited_instance_is_updated_by_foreign_id_and_time(hosted, ann):
    ok(hosted, "POST", f"{API}feed/user/{ann.pk}/", status=201)
    tweet = Tweet.objects.create(user=ann, text="hello", created_at=WHEN)
    stored = {
        **expected_tweet(tweet),
        "time": WHEN_MS,
        "id": "b3a6b000-1560-11f1-8080-8000282f2ea5",
        "origin": None,
        "target": "",
    }
    ok(hosted, "GET", f"{API}activities/", {"results": [stored]})
    ok(hosted, "POST", f"{API}activities/", status=201)
    tweet.text = "hello, world"
    tweet.save()
    _, lookup, update = hosted.calls
    assert query(lookup) == {"api_key": KEY, "foreign_ids": f"testapp.Tweet:{tweet.pk}", "timestamps": WHEN_MS}
    assert update.request.method == "POST"
    assert body(update) == {"activities": [expected_tweet(tweet)]}
    assert body(update)["activities"][0]["text_length"] == 12


@pytest.mark.django_db(transaction=True)
def test_an_unchanged_or_unknown_activity_is_not_rewritten(hosted, ann):
    ok(hosted, "POST", f"{API}feed/user/{ann.pk}/", status=201)
    tweet = Tweet.objects.create(user=ann, text="hello", created_at=WHEN)
    stored = {**expected_tweet(tweet), "time": WHEN_MS, "id": "b3a6b000-1560-11f1-8080-8000282f2ea5", "origin": None}
    ok(hosted, "GET", f"{API}activities/", {"results": [stored]})
    tweet.save()
    ok(hosted, "GET", f"{API}activities/", {"results": []})
    tweet.text = "changed, but gone from the feed"
    tweet.save()
    assert [c.request.method for c in hosted.calls] == ["POST", "GET", "GET"]


@pytest.mark.django_db(transaction=True)
def test_changed_targets_go_through_activity_to_targets(hosted, ann, bob):
    ok(hosted, "POST", f"{API}feed/user/{bob.pk}/", status=201)
    ok(hosted, "POST", f"{API}feed/user/{ann.pk}/", status=201)
    parent = Tweet.objects.create(user=bob, text="original", created_at=WHEN)
    reply = Tweet.objects.create(user=ann, text="reply", created_at=WHEN)
    stored = {**expected_tweet(reply), "time": WHEN_MS, "id": "b3a6b000-1560-11f1-8080-8000282f2ea5"}
    ok(hosted, "GET", f"{API}activities/", {"results": [stored]})
    ok(
        hosted,
        "POST",
        f"{API}feed_targets/user/{ann.pk}/activity_to_targets/",
        {"activity": {}, "added": [], "removed": []},
        status=201,
    )
    ok(hosted, "POST", f"{API}activities/", status=201)
    reply.parent = parent
    reply.save()
    targets, update = hosted.calls[3:]
    assert body(targets) == {
        "foreign_id": f"testapp.Tweet:{reply.pk}",
        "time": WHEN_MS,
        "new_targets": [f"notification:{bob.pk}"],
    }
    (activity,) = body(update)["activities"]
    assert activity["to"] == [f"notification:{bob.pk}"]
    assert activity["parent"] == f"testapp.Tweet:{parent.pk}"


@pytest.mark.django_db(transaction=True)
def test_delete_removes_by_foreign_id_and_cascades(hosted, ann, bob):
    ok(hosted, "POST", f"{API}feed/user/{ann.pk}/", status=201)
    ok(hosted, "POST", f"{API}feed/user/{bob.pk}/", status=201)
    tweet = Tweet.objects.create(user=ann, text="bye", created_at=WHEN)
    like = Like.objects.create(user=bob, tweet=tweet, created_at=WHEN)
    ok(hosted, "DELETE", f"{API}feed/user/{bob.pk}/testapp.Like:{like.pk}/")
    ok(hosted, "DELETE", f"{API}feed/user/{ann.pk}/testapp.Tweet:{tweet.pk}/")
    tweet_pk, like_pk = tweet.pk, like.pk
    tweet.delete()
    deletes = [c for c in hosted.calls if c.request.method == "DELETE"]
    assert {path(c) for c in deletes} == {
        f"/api/v1.0/feed/user/{bob.pk}/testapp.Like:{like_pk}/",
        f"/api/v1.0/feed/user/{ann.pk}/testapp.Tweet:{tweet_pk}/",
    }
    assert all(query(c) == {"api_key": KEY, "foreign_id": "1"} and body(c) == {} for c in deletes)


@pytest.mark.django_db(transaction=True)
def test_pin_is_published_on_creation_only(hosted, ann):
    ok(hosted, "POST", f"{API}feed/user/{ann.pk}/", status=201)
    pin = Pin.objects.create(author=ann, board="cats", created_at=WHEN)
    assert body(hosted.calls[0]) == {
        "actor": f"auth.User:{ann.pk}",
        "verb": "pin",
        "object": f"testapp.Pin:{pin.pk}",
        "foreign_id": f"testapp.Pin:{pin.pk}",
        "time": WHEN_SENT,
    }
    pin.board = "dogs"
    pin.save()
    assert len(hosted.calls) == 1


@pytest.mark.django_db(transaction=True)
def test_hosted_input_error_surfaces_and_outage_is_recorded(hosted, ann):
    hosted.add(
        "POST",
        f"{API}feed/user/{ann.pk}/",
        status=400,
        json={"code": 4, "detail": "bad", "exception": "InputException", "status_code": 400},
    )
    # After the commit nothing can raise to the code that saved: the hosted
    # service's rejection is recorded, like an outage.
    rejected = Tweet.objects.create(user=ann, text="rejected", created_at=WHEN)
    (failure,) = FailedOperation.objects.all()
    assert failure.object_pk == str(rejected.pk)
    assert failure.error.startswith("InputException: ")
    failure.delete()
    hosted.replace("POST", f"{API}feed/user/{ann.pk}/", body=requests.ConnectionError("refused"))
    tweet = Tweet.objects.create(user=ann, text="outage", created_at=WHEN)
    (failure,) = FailedOperation.objects.all()
    assert failure.operation == "add" and failure.object_pk == str(tweet.pk)
    assert failure.error.startswith(
        "BackendUnavailable: getstream backend: cannot reach https://api.stream-io-api.com/"
    )


# -- errors ---------------------------------------------------------------


def error_body(code, exception, status, **extra):
    return {
        "code": code,
        "detail": f"{exception} detail",
        "duration": "0.1ms",
        "exception": exception,
        "status_code": status,
        **extra,
    }


@pytest.mark.parametrize(
    "code, name, status, ours_cls, theirs_cls",
    [
        (2, "ApiKeyException", 401, ours.ApiKeyException, stream.exceptions.ApiKeyException),
        (3, "SignatureException", 401, ours.SignatureException, stream.exceptions.SignatureException),
        (4, "InputException", 400, ours.InputException, stream.exceptions.InputException),
        (5, "CustomFieldException", 400, ours.CustomFieldException, stream.exceptions.CustomFieldException),
        (6, "FeedConfigException", 400, ours.FeedConfigException, stream.exceptions.FeedConfigException),
        (7, "SiteSuspendedException", 401, ours.StreamApiException, stream.exceptions.SiteSuspendedException),
        (9, "RateLimitReached", 429, ours.RateLimitReached, stream.exceptions.RateLimitReached),
        (12, "MissingRankingException", 400, ours.FeedConfigException, stream.exceptions.MissingRankingException),
        (16, "DoesNotExistException", 404, ours.DoesNotExistException, stream.exceptions.DoesNotExistException),
        (17, "NotAllowedException", 403, ours.NotAllowedException, stream.exceptions.NotAllowedException),
        (99, "NewException", 400, ours.StreamApiException, stream.exceptions.StreamApiException),
    ],
)
def test_error_codes_become_our_exceptions(hosted, code, name, status, ours_cls, theirs_cls):
    hosted.add("GET", f"{API}feed/user/1/", status=status, json=error_body(code, name, status))
    with pytest.raises(ours_cls) as info:
        feed_manager.get_user_feed(1).get()
    error = info.value
    assert isinstance(error, theirs_cls)
    assert error.status_code == status and error.detail == f"{name} detail"
    if code in (7, 12):
        assert type(error).__name__ == name and error.code == code


def test_field_errors_are_in_the_message(hosted):
    hosted.add(
        "POST",
        f"{API}feed/user/1/",
        status=400,
        json=error_body(4, "InputException", 400, exception_fields={"actor": ["This field is required."]}),
    )
    with pytest.raises(stream.exceptions.InputException, match='Field "actor" errors'):
        feed_manager.get_user_feed(1).add_activity({"verb": "tweet", "object": "x"})
    try:
        feed_manager.get_user_feed(1).add_activity({"verb": "tweet", "object": "x"})
    except ValueError as e:  # our InputException is also a ValueError
        assert isinstance(e, ours.InputException)


@pytest.mark.parametrize(
    "call",
    [
        lambda: stream_client.feed("user", "bad id"),
        lambda: stream_client.feed("user", 1).follow("user", "a b"),
        lambda: stream_client.feed("user", 1).unfollow("bad slug", 2),
        lambda: stream_client.feed("user", 1).add_activity({"actor": "a", "verb": "v", "object": "o", "to": ["user"]}),
        lambda: stream_client.feed("user", 1).add_activities(
            [{"actor": "a", "verb": "v", "object": "o", "to": ["x:1:2"]}]
        ),
        lambda: stream_client.feed("user", 1).remove_activity(),
        lambda: stream_client.get_activities(foreign_id_times=[("fid",)]),
    ],
    ids=["feed", "follow", "unfollow", "add_activity", "add_activities", "remove_activity", "get_activities"],
)
def test_client_side_argument_errors_are_input_exceptions(hosted, call):
    """stream-python's ValueErrors are InputException (still ValueError); nothing is sent."""
    with pytest.raises(ours.InputException) as info:
        call()
    assert isinstance(info.value, ValueError) and isinstance(info.value, stream.exceptions.InputException)
    assert isinstance(info.value.__cause__, ValueError)
    assert len(hosted.calls) == 0


def test_type_errors_of_stream_python_are_kept(hosted):
    with pytest.raises(TypeError):
        stream_client.feed("user", 1).add_activity({"actor": "a", "verb": "v", "object": "o", "to": "user:2"})
    with pytest.raises(TypeError):
        stream_client.update_activities("not a list")


def test_error_without_detail_and_server_errors(hosted):
    hosted.add("GET", f"{API}feed/user/1/", status=400, json={"code": 16, "exception": "DoesNotExistException"})
    with pytest.raises(ours.DoesNotExistException, match="DoesNotExistException"):
        feed_manager.get_user_feed(1).get()
    hosted.add("GET", f"{API}feed/user/2/", status=500, body="oops")
    with pytest.raises(ours.StreamApiException) as info:
        feed_manager.get_user_feed(2).get()
    assert not isinstance(info.value, ours.BackendUnavailable) and info.value.status_code == 500


def test_gateway_errors_are_unavailability(hosted):
    hosted.add("GET", f"{API}feed/user/1/", status=503, body="<html>maintenance</html>")
    with pytest.raises(ours.BackendUnavailable, match="api.stream-io-api.com.*HTTP 503"):
        feed_manager.get_user_feed(1).get()


@pytest.mark.parametrize("failure", [requests.ConnectTimeout("slow"), requests.ReadTimeout("slower")])
def test_timeouts_are_backend_unavailable(hosted, failure):
    hosted.add("GET", f"{API}feed/user/1/", body=failure)
    with pytest.raises(stream.exceptions.StreamApiException) as info:
        feed_manager.get_user_feed(1).get()
    error = info.value
    assert isinstance(error, ours.BackendUnavailable)
    assert "getstream backend" in str(error) and f"{API}feed/user/1/" in str(error)
    assert "STREAM_TIMEOUT" in str(error) and error.__cause__ is failure


def test_connection_errors_are_backend_unavailable(hosted):
    failure = requests.ConnectionError("Name or service not known")
    hosted.add("POST", f"{API}feed/timeline/1/follows/", body=failure)
    with pytest.raises(ours.BackendUnavailable, match="cannot reach .*feed/timeline/1/follows/") as info:
        feed_manager.follow_user(1, 2)
    assert info.value.__cause__ is failure


# -- read side ------------------------------------------------------------


def hosted_activity(tweet, **extra):
    return {
        **expected_tweet(tweet),
        "time": WHEN_MS,
        "id": "b3a6b000-1560-11f1-8080-8000282f2ea5",
        "origin": f"user:{tweet.user_id}",
        "target": "",
        **extra,
    }


@pytest.mark.django_db
def test_enrich_and_render_hosted_activities(hosted, ann, bob):
    tweet = Tweet(user=ann, text="hello", created_at=WHEN)
    Tweet.objects.bulk_create([tweet])  # bulk_create sends no signals
    gone = {**hosted_activity(tweet), "object": "testapp.Tweet:999999", "id": "other"}
    hosted.add(
        "GET",
        f"{API}feed/timeline/{bob.pk}/",
        json={"results": [hosted_activity(tweet), gone], "next": "", "duration": "2ms"},
    )
    results = feed_manager.get_news_feeds(bob.pk)["timeline"].get(limit=25)["results"]
    assert results[0]["time"] == WHEN.replace(microsecond=123000)
    enriched = Enrich().enrich_activities(results)
    assert enriched[0]["actor"] == ann and enriched[0]["object"] == tweet and enriched[0].enriched
    assert not enriched[1].enriched and enriched[1].not_enriched_data == {"object": "testapp.Tweet:999999"}
    html = Template("{% load activity_tags %}{% render_activity a %}").render(Context({"a": enriched[0]}))
    assert html.strip() == 'ann tweeted "hello"'


@pytest.mark.django_db
def test_enrich_and_render_aggregated_hosted_groups(hosted, ann, bob):
    tweet = Tweet(user=ann, text="grouped", created_at=WHEN)
    Tweet.objects.bulk_create([tweet])
    group = {
        "id": "b3a6b000-1560-11f1-8080-8000282f2ea5.tweet_2026-03-01",
        "group": "tweet_2026-03-01",
        "verb": "tweet",
        "activities": [hosted_activity(tweet)],
        "activity_count": 1,
        "actor_count": 1,
        "created_at": WHEN_MS,
        "updated_at": WHEN_MS,
    }
    hosted.add("GET", f"{API}feed/timeline_aggregated/{bob.pk}/", json={"results": [group], "next": ""})
    groups = feed_manager.get_news_feeds(bob.pk)["timeline_aggregated"].get()["results"]
    (enriched,) = Enrich().enrich_aggregated_activities(groups)
    assert enriched["activities"][0]["object"] == tweet
    html = Template("{% load activity_tags %}{% render_activity g %}").render(Context({"g": enriched}))
    assert html.strip() == '1 user tweeted: ann tweeted "grouped"'
