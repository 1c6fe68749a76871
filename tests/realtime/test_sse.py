"""
The SSE endpoint under a real ASGI server (uvicorn) read by a real HTTP
client: the wire format, live delivery, resume, heartbeats, reload, the
REST API's authorisation, and the answer under WSGI.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.test import Client

from stream_django.client import stream_client
from tests.local_backends import LOCAL_BACKENDS, use_backend
from tests.realtime.support import open_stream, session_cookie
from tests.realtime.test_events import post

pytest.importorskip("rest_framework", reason="the api extra (djangorestframework) is not installed")
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=list(LOCAL_BACKENDS))
def store(request, settings):
    return use_backend(request, settings, request.param)


def run(coro, timeout: float = 30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def in_thread(fn, *args):
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


def test_a_follower_gets_each_post_live_and_resumes_after_a_disconnect(store, asgi_server, ann, bob):
    stream_client.feed("timeline", ann.pk).follow("user", bob.pk)
    auth = session_cookie(Client(), ann)
    path = f"/api/feeds/timeline/{ann.pk}/events/"

    async def scenario():
        stream = await open_stream(asgi_server, path, auth)
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["cache-control"] == "no-cache"
        assert stream.headers["x-accel-buffering"] == "no"
        await in_thread(post, str(bob.pk), 1)
        first = await stream.next()
        stream.close()
        for n in (2, 3):
            await in_thread(post, str(bob.pk), n)
        resumed = await open_stream(asgi_server, path, {**auth, "Last-Event-ID": first.id})
        second, third = await resumed.next(), await resumed.next()
        await in_thread(post, str(bob.pk), 4)
        fourth = await resumed.next()
        resumed.close()
        by_query = await open_stream(asgi_server, f"{path}?last_event_id={second.id}", auth)
        again = [await by_query.next(), await by_query.next()]
        by_query.close()
        return first, [second, third, fourth], again

    first, later, again = run(scenario())
    assert first.event == "feed" and first.id.endswith(f"/timeline:{ann.pk}")
    read = stream_client.feed("timeline", ann.pk).get(limit=4)["results"]
    assert first.json() == {
        "feed": f"timeline:{ann.pk}",
        "new": [json.loads(json.dumps(read[3], cls=DjangoJSONEncoder))],
        "deleted": [],
        "deleted_foreign_ids": [],
        "published_at": first.json()["published_at"],
    }
    assert [m.json()["new"][0]["foreign_id"] for m in later] == ["app.Tweet:2", "app.Tweet:3", "app.Tweet:4"]
    assert [m.id for m in again] == [m.id for m in later[1:]]


def test_heartbeats_and_reload(settings, asgi_server, ann):
    settings.STREAM_EVENTS = {"heartbeat": 0.2}
    auth = session_cookie(Client(), ann)
    path = f"/api/feeds/timeline/{ann.pk}/events/"
    stream_client.feed("timeline", ann.pk).follow("user", "7")
    post("7", 5)
    (old,) = stream_client_history(ann.pk)
    settings.STREAM_EVENTS = {"heartbeat": 0.2, "retention": 0}
    post("7", 6)  # and the window is now empty: both records are pruned
    from stream_django.events.store import get_transport

    get_transport().prune()

    async def scenario():
        stream = await open_stream(asgi_server, path, auth)
        ping = await stream.next(timeout=5, comments=True)
        while ping.data == "connected":
            ping = await stream.next(timeout=5, comments=True)
        stream.close()
        expired = await open_stream(asgi_server, path, {**auth, "Last-Event-ID": old.id})
        reload = await expired.next()
        end = await expired.next()
        return ping, reload, end

    ping, reload, end = run(scenario())
    assert (ping.event, ping.data) == (":", "ping")
    assert reload.event == "reload" and "reload" in reload.json()["reason"]
    assert end is None  # the server closed the stream


def stream_client_history(user_id):
    from stream_django.events import history

    return history([f"timeline:{user_id}"])


def test_authorised_like_the_rest_api(settings, asgi_server, ann, bob):
    settings.STREAM_ENDPOINT_KEYS = {"key": "a-secret-long-enough-for-hs256-keys!"}
    rest = Client()

    def both(path: str, headers: dict[str, str]):
        cookie = headers.get("Cookie", "")
        if cookie:
            rest.cookies["sessionid"] = cookie.split("=", 1)[1]
        else:
            rest.cookies.clear()
        expected = rest.get(f"/api/feeds/{path}")
        stream = run(open_stream(asgi_server, f"/api/feeds/{path}events/", headers))
        return (stream.status, json.loads(stream.body)), (expected.status_code, expected.json())

    settings.ROOT_URLCONF = "tests.api_urls"
    anonymous = both(f"timeline/{ann.pk}/", {})
    assert anonymous[0] == anonymous[1] and anonymous[0][0] in (401, 403)
    auth = session_cookie(Client(), ann)
    other = both(f"notification/{bob.pk}/", auth)
    assert other[0] == other[1] and other[0][0] == 403
    unknown = both(f"nosuchgroup/{ann.pk}/", auth)
    assert unknown[0] == unknown[1] and unknown[0][0] == 404
    bad = both(f"timeline/{'x' * 3}!/", auth)
    assert bad[0][0] == bad[1][0] == 400

    import jwt

    good = jwt.encode(
        {"resource": "feed", "action": "read", "feed_id": f"notification{bob.pk}"},
        "a-secret-long-enough-for-hs256-keys!",
    )
    wrong = jwt.encode(
        {"resource": "feed", "action": "read", "feed_id": f"notification{ann.pk}"},
        "a-secret-long-enough-for-hs256-keys!",
    )

    async def tokens():
        ok = await open_stream(asgi_server, f"/api/feeds/notification/{bob.pk}/events/?api_key=key&token={good}")
        first = await ok.next(comments=True)
        ok.close()
        refused = await open_stream(asgi_server, f"/api/feeds/notification/{bob.pk}/events/?api_key=key&token={wrong}")
        forged = await open_stream(asgi_server, f"/api/feeds/notification/{bob.pk}/events/?api_key=key&token=a.b.c")
        return ok.status, first, refused, forged

    status, first, refused, forged = run(tokens())
    assert status == 200 and first.data == "connected"
    assert refused.status == 403 and "does not grant feed/read" in json.loads(refused.body)["detail"]
    assert forged.status == 401


def test_under_wsgi_the_endpoint_answers_501(settings, ann):
    settings.ROOT_URLCONF = "tests.api_urls"
    client = Client()
    client.force_login(ann)
    response = client.get(f"/api/feeds/timeline/{ann.pk}/events/")
    assert response.status_code == 501
    assert "needs an ASGI server" in response.json()["detail"]
