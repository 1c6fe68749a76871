"""
The Channels consumer (``stream_django.channels.FeedConsumer``, the
``channels`` extra) through Channels' ``WebsocketCommunicator``: the real
consumer behind ``AuthMiddlewareStack`` with a real session, fed by the
events of real writes through the feeds API.

Skipped when Channels or Django REST framework is not installed (the
``channels`` extra), except in CI (``CI`` or ``STREAM_REQUIRE_SERVICES``),
where it is installed and this module must run.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from tests.local_backends import LOCAL_BACKENDS, use_backend
from tests.services import required

try:
    import channels  # noqa: F401
    import rest_framework  # noqa: F401
except ImportError as e:
    if required():
        raise
    pytest.skip(f"the channels extra is not installed ({e.name} is missing)", allow_module_level=True)

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import path

from stream_django.channels import CLOSE_UNAUTHENTICATED, FeedConsumer
from stream_django.client import stream_client
from stream_django.conf import stream_settings
from stream_django.events import history

pytestmark = pytest.mark.django_db(transaction=True)

APPLICATION = AuthMiddlewareStack(URLRouter([path("ws/feeds/", FeedConsumer.as_asgi())]))
TIMEOUT = 10


@pytest.fixture(params=list(LOCAL_BACKENDS))
def store(request, settings):
    return use_backend(request, settings, request.param)


@pytest.fixture
def ann(django_user_model):
    return django_user_model.objects.create_user(username="ann", password="pw-ann")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user(username="bob", password="pw-bob")


def session_cookie(client: Any, user: Any) -> bytes:
    """Sign ``user`` in with Django's test client; return the Cookie header."""
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


def post(author: Any, n: int) -> dict[str, Any]:
    return stream_client.feed("user", author.pk).add_activity(
        {
            "actor": f"auth.User:{author.pk}",
            "verb": "tweet",
            "object": f"testapp.Tweet:{n}",
            "foreign_id": f"testapp.Tweet:{n}",
            "time": datetime(2026, 1, 1, 12, 0, n % 60, tzinfo=timezone.utc),
        }
    )


def connect(cookie: bytes | None) -> WebsocketCommunicator:
    headers = [(b"cookie", cookie)] if cookie else []
    return WebsocketCommunicator(APPLICATION, "/ws/feeds/", headers=headers)


async def opened(cookie: bytes, **subscribe: Any) -> WebsocketCommunicator:
    """A connected communicator whose subscription was answered ``subscribed``."""
    communicator = connect(cookie)
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    await communicator.send_json_to({"type": "subscribe", **subscribe})
    answer = await communicator.receive_json_from(timeout=TIMEOUT)
    assert answer["type"] == "subscribed", answer
    return communicator


async def feed_messages(communicator: WebsocketCommunicator, count: int) -> list[dict[str, Any]]:
    messages = [await communicator.receive_json_from(timeout=TIMEOUT) for _ in range(count)]
    assert all(m["type"] == "feed" for m in messages), messages
    return messages


def foreign_ids(messages: list[dict[str, Any]]) -> list[str]:
    return [a["foreign_id"] for m in messages for a in m["data"]["new"]]


def test_a_post_reaches_a_followers_socket_as_the_feed_event(store, client, ann, bob):
    stream_client.feed("timeline", ann.pk).follow("user", bob.pk)
    cookie = session_cookie(client, ann)

    async def scenario() -> None:
        communicator = await opened(cookie, feeds=[f"timeline:{ann.pk}"])
        added = await sync_to_async(post)(bob, 1)
        (message,) = await feed_messages(communicator, 1)
        (event,) = await sync_to_async(history)([f"timeline:{ann.pk}"])
        data = json.loads(json.dumps(event.data, cls=DjangoJSONEncoder))
        assert message == {"type": "feed", "id": event.id, "feed": f"timeline:{ann.pk}", "data": data}
        assert message["data"]["new"][0]["id"] == added["id"]
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_without_feeds_it_subscribes_the_users_news_and_notification_feeds(store, client, ann, bob):
    cookie = session_cookie(client, ann)
    news = list(dict.fromkeys(stream_settings.NEWS_FEEDS.values()))

    async def scenario() -> None:
        communicator = connect(cookie)
        assert (await communicator.connect(timeout=TIMEOUT))[0]
        await communicator.send_json_to({"type": "subscribe"})
        answer = await communicator.receive_json_from(timeout=TIMEOUT)
        assert answer == {"type": "subscribed", "feeds": [*(f"{s}:{ann.pk}" for s in news), f"notification:{ann.pk}"]}
        # A like of Ann's post goes to her notification feed.
        await sync_to_async(stream_client.feed("user", bob.pk).add_activity)(
            {
                "actor": f"auth.User:{bob.pk}",
                "verb": "like",
                "object": "testapp.Tweet:7",
                "to": [f"notification:{ann.pk}"],
            }
        )
        (message,) = await feed_messages(communicator, 1)
        assert message["feed"] == f"notification:{ann.pk}"
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_resuming_with_last_event_id_sends_what_was_missed_exactly_once_in_order(store, client, ann, bob):
    stream_client.feed("timeline", ann.pk).follow("user", bob.pk)
    cookie = session_cookie(client, ann)
    feeds = [f"timeline:{ann.pk}"]

    async def scenario() -> None:
        first = await opened(cookie, feeds=feeds)
        for n in (1, 2):
            await sync_to_async(post)(bob, n)
        got = await feed_messages(first, 2)
        await first.disconnect()
        # Posted while the socket is closed.
        for n in (3, 4, 5):
            await sync_to_async(post)(bob, n)
        again = await opened(cookie, feeds=feeds, last_event_id=got[-1]["id"])
        replayed = await feed_messages(again, 3)
        await sync_to_async(post)(bob, 6)
        live = await feed_messages(again, 1)
        assert await again.receive_nothing(timeout=0.3)
        await again.disconnect()
        every = [*got, *replayed, *live]
        assert foreign_ids(every) == [f"testapp.Tweet:{n}" for n in range(1, 7)]
        assert [m["id"] for m in every] == [e.id for e in await sync_to_async(history)(feeds)]
        assert [m["id"] for m in every] == sorted(m["id"] for m in every)

    async_to_sync(scenario)()


def test_concurrent_writers_each_event_arrives_once(store, client, ann, django_user_model):
    """Four authors post together (a barrier starts them), five posts each;
    the socket gets every post once, in the order of the events' ids."""
    from django.db import connection

    if store == "database" and connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers: the race needs PostgreSQL or MariaDB (their legs run it)")
    authors = [django_user_model.objects.create_user(username=f"author{i}") for i in range(4)]
    for author in authors:
        stream_client.feed("timeline", ann.pk).follow("user", author.pk)
    cookie = session_cookie(client, ann)
    feeds = [f"timeline:{ann.pk}"]
    per_author = 5

    def write_together() -> None:
        barrier = threading.Barrier(len(authors))
        errors: list[BaseException] = []

        def run(index: int, author: Any) -> None:
            from django.db import connection

            try:
                barrier.wait()
                for k in range(per_author):
                    post(author, index * per_author + k + 1)
            except BaseException as e:
                errors.append(e)
            finally:
                connection.close()

        threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(authors)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []

    async def scenario() -> list[dict[str, Any]]:
        communicator = await opened(cookie, feeds=feeds)
        await sync_to_async(write_together, thread_sensitive=False)()
        total = len(authors) * per_author
        messages = []
        while len(foreign_ids(messages)) < total:
            messages.extend(await feed_messages(communicator, 1))
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()
        return messages

    messages = async_to_sync(scenario)()
    expected = sorted(f"testapp.Tweet:{n}" for n in range(1, len(authors) * per_author + 1))
    assert sorted(foreign_ids(messages)) == expected
    assert len(foreign_ids(messages)) == len(expected)
    assert [m["id"] for m in messages] == [e.id for e in history(feeds)]


def test_another_users_notification_feed_is_refused_and_nothing_is_sent(store, client, ann, bob):
    cookie = session_cookie(client, ann)

    async def scenario() -> None:
        communicator = connect(cookie)
        assert (await communicator.connect(timeout=TIMEOUT))[0]
        await communicator.send_json_to({"type": "subscribe", "feeds": [f"notification:{bob.pk}"]})
        answer = await communicator.receive_json_from(timeout=TIMEOUT)
        assert answer == {
            "type": "error",
            "error": "forbidden",
            "detail": f"you may not read the feed notification:{bob.pk}",
        }
        await sync_to_async(stream_client.feed("user", ann.pk).add_activity)(
            {
                "actor": f"auth.User:{ann.pk}",
                "verb": "like",
                "object": "testapp.Tweet:1",
                "to": [f"notification:{bob.pk}"],
            }
        )
        assert await communicator.receive_nothing(timeout=0.5)
        # Any user's user feed is readable, as in the REST API.
        await communicator.send_json_to({"type": "subscribe", "feeds": [f"user:{bob.pk}"]})
        assert (await communicator.receive_json_from(timeout=TIMEOUT))["type"] == "subscribed"
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_a_socket_without_a_signed_in_user_is_closed(store):
    async def scenario() -> None:
        communicator = connect(None)
        connected, code = await communicator.connect(timeout=TIMEOUT)
        assert (connected, code) == (False, CLOSE_UNAUTHENTICATED)

    async_to_sync(scenario)()


@pytest.mark.parametrize(
    ("message", "error", "detail"),
    [
        ("not json", "bad_message", "send {'type': 'subscribe'"),
        ({"type": "listen"}, "bad_message", "send {'type': 'subscribe'"),
        ({"type": "subscribe", "feeds": "timeline:1"}, "bad_message", "feeds must be a list of 1 to 50"),
        ({"type": "subscribe", "feeds": []}, "bad_message", "feeds must be a list of 1 to 50"),
        ({"type": "subscribe", "feeds": ["timeline"]}, "bad_feed", "feed"),
        ({"type": "subscribe", "feeds": ["nosuchgroup:1"]}, "bad_feed", "feed group 'nosuchgroup' does not exist"),
        ({"type": "subscribe", "feeds": ["user:1"], "last_event_id": 5}, "bad_message", "last_event_id must be a"),
        ({"type": "subscribe", "feeds": ["user:1"], "last_event_id": "garbage"}, "bad_last_event_id", "garbage"),
    ],
)
def test_bad_messages_get_an_error_naming_what_is_wrong(client, ann, message, error, detail):
    cookie = session_cookie(client, ann)

    async def scenario() -> dict[str, Any]:
        communicator = connect(cookie)
        assert (await communicator.connect(timeout=TIMEOUT))[0]
        if isinstance(message, str):
            await communicator.send_to(text_data=message)
        else:
            await communicator.send_json_to(message)
        answer = await communicator.receive_json_from(timeout=TIMEOUT)
        await communicator.disconnect()
        return answer

    answer = async_to_sync(scenario)()
    assert answer["type"] == "error" and answer["error"] == error
    assert detail in answer["detail"]


def test_an_expired_last_event_id_says_reload(client, ann, bob, settings):
    stream_client.feed("timeline", ann.pk).follow("user", bob.pk)
    cookie = session_cookie(client, ann)
    feeds = [f"timeline:{ann.pk}"]
    post(bob, 1)
    (old,) = history(feeds)
    settings.STREAM_EVENTS = {"retention": 0}
    post(bob, 2)  # the write that trims the events older than the window

    async def scenario() -> dict[str, Any]:
        communicator = connect(cookie)
        assert (await communicator.connect(timeout=TIMEOUT))[0]
        await communicator.send_json_to({"type": "subscribe", "feeds": feeds, "last_event_id": old.id})
        answer = await communicator.receive_json_from(timeout=TIMEOUT)
        await communicator.disconnect()
        return answer

    answer = async_to_sync(scenario)()
    assert answer["type"] == "reload"
    assert old.id in answer["detail"]


def test_a_feed_token_reads_the_feeds_it_grants_and_nothing_else(store, settings, ann, bob):
    """Without the session: ``?api_key=&token=``, checked as the SSE endpoint checks it."""
    from tests.stream_api_support import KEY, SECRET, feed_token

    settings.STREAM_ENDPOINT_KEYS = {KEY: SECRET}
    stream_client.feed("timeline", ann.pk).follow("user", bob.pk)
    token = feed_token(f"timeline:{ann.pk}", action="read", resource="feed")

    async def scenario() -> None:
        communicator = WebsocketCommunicator(APPLICATION, f"/ws/feeds/?api_key={KEY}&token={token}")
        assert (await communicator.connect(timeout=TIMEOUT))[0]
        await communicator.send_json_to({"type": "subscribe", "feeds": [f"timeline:{bob.pk}"]})
        assert await communicator.receive_json_from(timeout=TIMEOUT) == {
            "type": "error",
            "error": "forbidden",
            "detail": f"you may not read the feed timeline:{bob.pk}",
        }
        await communicator.send_json_to({"type": "subscribe"})
        assert (await communicator.receive_json_from(timeout=TIMEOUT))["detail"] == (
            "a connection with a feed token names its feeds"
        )
        await communicator.send_json_to({"type": "subscribe", "feeds": [f"timeline:{ann.pk}"]})
        assert (await communicator.receive_json_from(timeout=TIMEOUT))["type"] == "subscribed"
        await sync_to_async(post)(bob, 1)
        (message,) = await feed_messages(communicator, 1)
        assert foreign_ids([message]) == ["testapp.Tweet:1"]
        await communicator.disconnect()

        for query in (f"api_key={KEY}&token=a.b.c", f"api_key=nokey&token={token}"):
            refused = WebsocketCommunicator(APPLICATION, f"/ws/feeds/?{query}")
            assert await refused.connect(timeout=TIMEOUT) == (False, CLOSE_UNAUTHENTICATED)

    async_to_sync(scenario)()
