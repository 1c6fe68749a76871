"""The async API in async code: an async view, coroutines, concurrent awaits.

The contract suite runs through the async API too (tests/contract/conftest.py);
these tests are about what only async code sees: no
``SynchronousOnlyOperation`` in an async view, and many writes awaited at
once ending as the same writes awaited one by one.
"""

from __future__ import annotations

import asyncio
import json
import os

import pytest
import responses
from asgiref.sync import async_to_sync
from django.core.exceptions import SynchronousOnlyOperation
from django.http import JsonResponse
from django.test import AsyncClient as AsyncHttpClient
from django.urls import path

from stream_django.backends import get_backend
from stream_django.backends.base import Page
from stream_django.backends.redis.commands import BoundRounds
from stream_django.client import async_stream_client, stream_client
from stream_django.engine.activities import prepare_activity
from stream_django.engine.feeds import get_group
from stream_django.engine.plan import FeedLayout, plan_write
from stream_django.feed_manager import feed_manager
from stream_django.feeds import AsyncClient, AsyncFeed, get_async_client
from tests.contract.helpers import act
from tests.local_backends import LOCAL_BACKENDS, REDIS_BACKENDS, use_backend
from tests.testapp.models import Tweet

#: Rounds of the concurrency test, and activities awaited at once in each.
ROUNDS = 4
WRITERS = 16


async def timeline_view(request, user_id):
    page = await async_stream_client.feed("timeline", user_id).get(limit=50)
    return JsonResponse({"foreign_ids": [a["foreign_id"] for a in page["results"]]})


urlpatterns = [path("timeline/<int:user_id>/", timeline_view)]


@pytest.fixture(params=list(LOCAL_BACKENDS))
def store(request, settings, transactional_db):
    """Each local backend; the database one on committed transactions, as
    an ASGI server runs a view's ORM calls in a thread of its own. Redis is
    the same store whatever the database: its runs are the SQLite leg's."""
    if request.param != "database" and os.environ.get("STREAM_TEST_DB", "sqlite") != "sqlite":
        pytest.skip("Redis runs these tests on the SQLite leg (CI time)")
    return use_backend(request, settings, request.param)


def run(coroutine_function, *args):
    """Await ``coroutine_function(*args)`` in an event loop of its own, then
    release that loop's connections."""

    async def main():
        try:
            return await coroutine_function(*args)
        finally:
            await get_backend().aclose()

    return async_to_sync(main)()


def test_async_stream_client_is_the_configured_backends(store):
    client = get_async_client()
    assert isinstance(client, AsyncClient) and client.backend is get_backend()
    assert isinstance(async_stream_client.feed("user", 1), AsyncFeed)
    assert repr(async_stream_client).startswith("<async_stream_client -> <stream_django AsyncClient")


def test_an_async_view_awaits_a_feed(store, settings):
    settings.ROOT_URLCONF = __name__
    stream_client.feed("user", 1).add_activity(act(1))
    stream_client.feed("timeline", 2).follow("user", 1)
    response = async_to_sync(AsyncHttpClient().get)("/timeline/2/")
    assert response.status_code == 200
    assert json.loads(response.content) == {"foreign_ids": ["testapp.Tweet:1"]}


def test_await_get_in_a_coroutine_and_the_sync_call_refused(settings, transactional_db):
    """On the database, the sync API in a coroutine is Django's
    ``SynchronousOnlyOperation``; its async twin answers."""
    from stream_django.conf import DATABASE_BACKEND

    settings.STREAM_BACKEND = DATABASE_BACKEND
    stream_client.feed("user", 1).add_activity(act(1))

    async def sync_call():
        return stream_client.feed("user", 1).get()

    async def async_call():
        return await async_stream_client.feed("user", 1).get()

    with pytest.raises(SynchronousOnlyOperation):
        asyncio.run(sync_call())
    page = asyncio.run(async_call())
    assert [a["foreign_id"] for a in page["results"]] == ["testapp.Tweet:1"]


@pytest.mark.parametrize("name", REDIS_BACKENDS)
def test_redis_awaits_every_primitive_on_its_event_loop(request, settings, db, name):
    use_backend(request, settings, name)
    backend = get_backend()
    assert backend.native_async
    assert all(isinstance(backend.async_method(m), BoundRounds) for m in backend.ASYNC_METHODS)


@pytest.mark.parametrize("name", REDIS_BACKENDS)
def test_redis_primitives_awaited_natively_store_what_the_sync_ones_do(request, settings, db, name):
    """The round trips of each Redis write, awaited on ``redis.asyncio``,
    leave the store as the same writes sent by redis-py."""
    use_backend(request, settings, name)
    backend = get_backend()
    layout = FeedLayout.current()
    activities = [prepare_activity(act(n, to=["notification:9"] if n % 2 else [])) for n in range(12)]

    async def natively(source, target):
        await backend.acall("follow_many", [(f"timeline:{source}", f"user:{source}")], 0, layout)
        await backend.acall("add_activities", f"user:{source}", plan_write(activities))
        await backend.acall("follow_many", [(f"timeline:{target}", f"user:{source}")], 5, layout)
        await backend.acall("remove_activities", f"user:{source}", [activities[3].key], layout)
        await backend.acall("unfollow_many", [(f"timeline:{target}", f"user:{source}", False)], layout)
        return await backend.acall("read_feed", f"timeline:{source}", Page(limit=50))

    entries = run(natively, "1", "2")
    backend.follow_many([("timeline:3", "user:3")], 0, layout)
    backend.add_activities("user:3", plan_write([prepare_activity(act(n)) for n in range(12)]))
    backend.remove_activities("user:3", [activities[3].key], layout)
    assert [e.key for e in entries] == [e.key for e in backend.read_feed("timeline:3", Page(limit=50))]
    assert len(entries) == 11 and backend.read_feed("timeline:2", Page()) == []
    groups = run(lambda: backend.acall("read_groups", "notification:9", get_group("notification"), Page()))
    assert sum(g.activity_count for g in groups.groups) == 5


def _page(feed):
    """Every entry ``(foreign_id, origin)`` of a flat feed, newest first."""
    slug, user_id = feed.split(":")
    entries = []
    for offset in range(0, 1000, 100):
        page = stream_client.feed(slug, user_id).get(limit=100, offset=offset)["results"]
        entries += [(a["foreign_id"], a["origin"]) for a in page]
        if len(page) < 100:
            return entries
    raise AssertionError(f"{feed} holds more than 1000 entries")


def _ids(feed):
    """The foreign ids of a flat feed, without their side (``side1:7`` is 7)."""
    return [_number(fid) for fid, _ in _page(feed)]


def _number(foreign_id):
    return int(foreign_id.split(":")[1])


def _groups(feed):
    """(verb, activity count, actor count, foreign ids) of each group; the
    actor differs between the two sides, so it is left out."""
    slug, user_id = feed.split(":")
    groups = stream_client.feed(slug, user_id).get(limit=100)["results"]
    return [
        (g["verb"], g["activity_count"], g["actor_count"], [_number(a["foreign_id"]) for a in g["activities"]])
        for g in groups
    ]


def test_concurrent_adds_end_as_serial_ones(store):
    """Many adds awaited at once (followers, ``to`` targets, an aggregated
    feed) leave every feed as the same adds awaited one by one."""
    followers = [f"timeline:{n}" for n in range(10, 16)]
    client = stream_client
    for prefix in ("1", "2"):
        client.follow_many([{"source": f, "target": f"user:{prefix}"} for f in followers], activity_copy_limit=0)
        client.feed("timeline_aggregated", prefix).follow("user", prefix)

    def activities(prefix, n):
        return [
            act(
                i,
                actor=f"auth.User:{prefix}",
                foreign_id=f"side{prefix}:{i}",
                to=[f"notification:{prefix}"] if i % 3 == 0 else [],
            )
            for i in range(n * WRITERS, (n + 1) * WRITERS)
        ]

    async def together(n):
        feed = async_stream_client.feed("user", "1")
        start = asyncio.Event()

        async def write(activity):
            await start.wait()
            return await feed.add_activity(activity)

        tasks = [asyncio.ensure_future(write(a)) for a in activities("1", n)]
        await asyncio.sleep(0)
        start.set()
        return await asyncio.gather(*tasks)

    async def one_by_one(n):
        feed = async_stream_client.feed("user", "2")
        return [await feed.add_activity(a) for a in activities("2", n)]

    async def pages_together(feeds):
        return await asyncio.gather(*[async_stream_client.feed(*f.split(":")).get(limit=100) for f in feeds])

    async def pages_one_by_one(feeds):
        return [await async_stream_client.feed(*f.split(":")).get(limit=100) for f in feeds]

    for n in range(ROUNDS):
        concurrent = run(together, n)
        serial = run(one_by_one, n)
        assert sorted(_number(r["foreign_id"]) for r in concurrent) == sorted(_number(r["foreign_id"]) for r in serial)
    total = ROUNDS * WRITERS
    feeds = [*followers, "user:1", "user:2", "notification:1", "timeline_aggregated:2"] * 4
    strip = [
        [{k: v for k, v in p.items() if k != "duration"} for p in pages]
        for pages in (run(pages_together, feeds), run(pages_one_by_one, feeds))
    ]
    assert strip[0] == strip[1]
    assert len(_ids("user:1")) == total and _ids("user:1") == _ids("user:2")
    assert sum(count for _, count, _, _ in _groups("notification:1")) == len(range(0, total, 3))
    assert _groups("notification:1") == _groups("notification:2")
    assert _groups("timeline_aggregated:1") == _groups("timeline_aggregated:2")
    for follower in followers:
        entries = _page(follower)
        one = [_number(fid) for fid, origin in entries if origin == "user:1"]
        two = [_number(fid) for fid, origin in entries if origin == "user:2"]
        assert len(one) == total and one == two and len(entries) == 2 * total


def test_feed_manager_async_twins(store, ann, bob):
    feed_manager.disable_model_tracking()
    try:
        tweet = Tweet.objects.create(user=ann, text="hello")
    finally:
        feed_manager.enable_model_tracking()

    async def scenario():
        await feed_manager.afollow_user(bob.pk, ann.pk)
        await feed_manager.aadd_activity_to_feed(tweet)
        timeline = feed_manager.get_async_news_feeds(bob.pk)["timeline"]
        seen = [a["foreign_id"] for a in (await timeline.get())["results"]]
        tweet.text = "hello again"
        await feed_manager.aupdate_activity_in_feed(tweet)
        updated = (await timeline.get())["results"][0]["text_length"]
        await feed_manager.aremove_activity_from_feed(tweet)
        after_remove = (await timeline.get())["results"]
        await feed_manager.aunfollow_user(bob.pk, ann.pk)
        following = (await timeline.following())["results"]
        return seen, updated, after_remove, following

    seen, updated, after_remove, following = run(scenario)
    assert seen == [f"testapp.Tweet:{tweet.pk}"]
    assert updated == len("hello again")
    assert after_remove == [] and following == []


def test_hosted_backend_runs_stream_pythons_client_in_threads(settings, monkeypatch, db):
    from tests.backends.test_getstream import API, KEY, SECRET, query

    monkeypatch.delenv("STREAM_URL", raising=False)
    settings.STREAM_API_KEY = KEY
    settings.STREAM_API_SECRET = SECRET
    with responses.RequestsMock() as mock:
        mock.add("GET", f"{API}feed/user/3/", json={"results": [], "next": "", "duration": "1ms"})
        feed = async_stream_client.feed("user", 3)
        page = async_to_sync(feed.get)(limit=5)
        assert page["results"] == [] and query(mock.calls[0])["limit"] == "5"
    assert feed.slug == "user" and feed.id == "user:3"
    assert not isinstance(feed, AsyncFeed)
