"""
The npm ``getstream`` client (8.x, ``tests/js/``) under Node.js against the
Stream API endpoint on a live server, with tokens signed by the site.

``tests/js/flow.js`` makes the calls a browser or app makes (reading a
timeline and following its ``next``, adding and removing activities,
following, reading and marking a notification feed, wrong tokens) and the
server-side ones (batch routes, activities by id, updates); this test
prepares the site through its models, runs the script and checks each
answer against the shapes of stream-semantics.md and the site's own feeds.
In CI (``STREAM_REQUIRE_SERVICES``), a missing Node.js or client fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from stream_django.enrich import Enrich
from stream_django.feed_manager import feed_manager
from tests import services
from tests.stream_api_support import KEY, SECRET, feed_token, token
from tests.testapp.models import Tweet

pytestmark = pytest.mark.django_db(transaction=True)

JS = Path(__file__).resolve().parent / "js"
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
DURATION = re.compile(r"^\d+(\.\d+)?ms$")


def locked_version() -> str:
    return json.loads((JS / "package-lock.json").read_text())["packages"]["node_modules/getstream"]["version"]


@pytest.fixture(scope="module")
def node() -> str:
    """Node.js and the locked getstream client (``npm ci`` when it is missing)."""
    services.require("node")
    installed = JS / "node_modules" / "getstream" / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != locked_version():
        services.require("npm")
        done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=JS, capture_output=True, text=True)
        if done.returncode != 0:
            message = f"npm ci in {JS} failed: {done.stderr[-2000:]}"
            if services.required():
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
    assert locked_version().startswith("8.")
    return shutil.which("node") or "node"


def run_flow(node: str, env: dict[str, str]) -> dict:
    done = subprocess.run(
        [node, str(JS / "flow.js")], cwd=JS, env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_activity(activity: dict) -> None:
    assert uuid.UUID(activity["id"]).version == 1
    assert TIME.match(activity["time"])
    assert {"actor", "verb", "object"} <= set(activity)


def test_the_npm_client_against_the_site(node, endpoint, django_user_model):
    ann, bob, carol, dan = (django_user_model.objects.create(username=n) for n in ("ann", "bob", "carol", "dan"))
    # The site: bob follows ann; ann follows bob; two of ann's tweets; carol
    # has three posts; ann replies to bob, which notifies bob.
    feed_manager.follow_user(bob.id, ann.id)
    feed_manager.follow_user(ann.id, bob.id)
    Tweet.objects.create(user=ann, text="first")
    Tweet.objects.create(user=ann, text="second")
    for n in range(3):
        Tweet.objects.create(user=carol, text=f"carol {n}")
    bobs = Tweet.objects.create(user=bob, text="question")
    Tweet.objects.create(user=ann, text="answer", parent=bobs)
    mine = Tweet.objects.create(user=bob, text="from the app")

    out = run_flow(
        node,
        {
            "API_URL": endpoint,
            "API_KEY": KEY,
            "API_SECRET": SECRET,
            "APP_ID": "1",
            "ANN": str(ann.id),
            "BOB": str(bob.id),
            "CAROL": str(carol.id),
            "DAN": str(dan.id),
            "TWEET": f"testapp.Tweet:{mine.pk}",
            "TIMELINE_READ_TOKEN": feed_token(f"timeline:{bob.id}", "read"),
            "TIMELINE_WRITE_TOKEN": feed_token(f"timeline:{bob.id}"),
            "USER_TOKEN": feed_token(f"user:{bob.id}"),
            "CAROL_READ_TOKEN": feed_token(f"user:{carol.id}", "read"),
            "NOTIFICATION_TOKEN": feed_token(f"notification:{bob.id}"),
            "ANN_USER_TOKEN": feed_token(f"user:{ann.id}"),
            "FORGED_TOKEN": token("another-secret-of-32-bytes-or-more!!", resource="*", action="*", feed_id="*"),
            "BOB_USER_TOKEN": token(SECRET, user_id=str(bob.id)),
        },
    )

    # Reading a timeline, and its next page.
    page = out["timeline"]
    assert set(page) == {"results", "next", "duration"} and DURATION.match(page["duration"])
    (newest,) = page["results"]
    assert_activity(newest)
    assert newest["origin"] == f"user:{ann.id}" and newest["actor"] == f"auth.User:{ann.id}"
    assert page["next"].startswith(f"/api/v1.0/enrich/feed/timeline/{bob.id}/?")
    (older,) = out["timelinePage2"]["results"]
    assert older["time"] < newest["time"]

    # Adding and removing activities.
    added = out["added"]
    assert_activity(added)
    assert added["time"] == "2026-06-01T12:00:00.123000" and added["client"] == "js" and added["foreign_id"] == "js:1"
    assert [a["foreign_id"] for a in out["addedMany"]["activities"]] == ["js:2", "js:3"]
    assert out["removed"]["removed"] == "js:3"
    assert out["removedById"]["removed"] == out["addedMany"]["activities"][0]["id"]
    # ... fanned out to ann's timeline, enriched and rendered as a model's.
    (in_ann,) = [a for a in feed_manager.get_news_feeds(ann.id)["timeline"].get()["results"] if a["id"] == added["id"]]
    (enriched,) = Enrich().enrich_activities([in_ann])
    assert enriched.enriched and enriched["object"] == mine and enriched["actor"] == bob
    assert [
        a["foreign_id"] for a in feed_manager.get_user_feed(bob.id).get()["results"] if a["foreign_id"].startswith("js")
    ] == ["js:1"]

    # Following, the follow lists, the stats, unfollowing with history.
    assert set(out["follow"]) == {"duration"}
    assert [f["target_id"] for f in out["following"]["results"]] == [f"user:{carol.id}", f"user:{ann.id}"]
    assert set(out["following"]["results"][0]) == {"feed_id", "target_id", "created_at", "updated_at"}
    assert TIME.match(out["following"]["results"][0]["created_at"])
    assert [f["target_id"] for f in out["followingFiltered"]["results"]] == [f"user:{carol.id}"]
    assert f"timeline:{bob.id}" in [f["feed_id"] for f in out["followers"]["results"]]
    assert sum(a["actor"] == f"auth.User:{carol.id}" for a in out["afterFollow"]["results"]) == 3
    stats = out["followStats"]["results"]
    assert stats["followers"]["feed"] == f"user:{carol.id}" and stats["followers"]["count"] == 1
    assert set(out["unfollow"]) == {"duration"}
    assert [a["id"] for a in out["detail"]["results"]] == [out["afterFollow"]["results"][0]["id"]]
    kept = feed_manager.get_news_feeds(bob.id)["timeline"].get()["results"]
    assert sum(a["actor"] == f"auth.User:{carol.id}" for a in kept) == 3  # keep_history

    # The notification feed: the marking read shows the state before.
    notification = out["notification"]
    assert notification["unseen"] == 1 and notification["unread"] == 1
    (group,) = notification["results"]
    assert {"id", "group", "verb", "activity_count", "actor_count", "is_seen", "is_read", "activities"} <= set(group)
    assert group["verb"] == "tweet" and group["is_seen"] is False and TIME.match(group["updated_at"])
    assert out["notificationAfterSeen"]["results"] == [] and out["notificationAfterSeen"]["unseen"] == 0
    assert out["notificationAfterRead"]["unread"] == 0
    assert out["notificationAfterRead"]["results"][0]["is_read"] is True

    # Wrong tokens: Stream's 401/403 body, nothing stored.
    for name, status, exception in [
        ("wrongFeed", 403, "NotAllowedException"),
        ("readOnlyFollow", 403, "NotAllowedException"),
        ("badSignature", 401, "SignatureException"),
        ("badKey", 401, "ApiKeyException"),
        ("userTokenOther", 403, "NotAllowedException"),
    ]:
        answer = out[name]
        assert answer["ok"] is False and answer["status"] == status, name
        assert set(answer["body"]) == {"code", "detail", "exception", "status_code", "duration"}, name
        assert answer["body"]["exception"] == exception and answer["body"]["status_code"] == status, name
    assert "js:wrong" not in [a.get("foreign_id") for a in feed_manager.get_user_feed(bob.id).get()["results"]]
    assert feed_manager.get_user_feed(ann.id).get()["results"][0]["verb"] == "tweet"
    assert [f["target_id"] for f in feed_manager.get_news_feeds(bob.id)["timeline"].following()["results"]] == [
        f"user:{ann.id}"
    ]

    # A user token reads its own feeds (enriched: no reactions are served).
    read = out["userTokenRead"]["results"]
    assert read and all(a["own_reactions"] == {} and a["reaction_counts"] == {} for a in read)
    reactions = out["reactions"]
    assert reactions["status"] == 404 and reactions["body"]["exception"] == "DoesNotExistException"

    # Server side: batch routes, activities by id and foreign id, updates.
    assert len(out["danTimeline"]["results"]) == 3  # follow_many copied carol's three
    assert set(out["unfollowMany"]) == {"duration"} and set(out["addToMany"]) == {"duration"}
    assert len(feed_manager.get_news_feeds(dan.id)["timeline"].get()["results"]) == 0
    assert [a["verb"] for a in feed_manager.get_user_feed(dan.id).get()["results"]] == ["announce"]
    assert [a["id"] for a in out["getActivities"]["results"]] == [added["id"]]
    assert [a["id"] for a in out["getByForeignId"]["results"]] == [added["id"]]
    partial = out["partial"]  # the client unwraps {"activities": [one]}
    assert partial["id"] == added["id"] and partial["meta"] == {"lang": "en"} and "client" not in partial
    assert set(out["update"]) == {"duration"}
    assert out["afterUpdate"]["results"][0]["text"] == "edited"
