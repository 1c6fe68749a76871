"""``manage.py stream_import_getstream`` against a mocked getstream.io API."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.core.management import call_command
from django.core.management.base import CommandError

from stream_django.backends.database import DatabaseBackend
from stream_django.backends.database.models import FeedEntry, StoredActivity
from stream_django.backends.database.models import Follow as FollowRow
from stream_django.engine import ids, serializer

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "s" * 40
BASE = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=timezone.utc)
FEED_URL = re.compile(r"https://api\.stream-io-api\.com/api/v1\.0/feed/(\w+)/([\w-]+)/(follows/)?")


def at(minutes):
    return BASE + timedelta(minutes=minutes)


def act(actor, n, *, foreign_id=True, hosted_id=None, origin=None, **extra):
    """A hosted activity as getstream.io returns it (before JSON encoding)."""
    time = at(n)
    fid = f"testapp.Tweet:{actor}{n}" if foreign_id else ""
    if hosted_id is None:
        hosted_id = ids.activity_id(fid, time) if foreign_id else ids._uuid1(
            ids._UUID_EPOCH_OFFSET + ids._epoch_ms(time) * 10_000, 0xB400, 0x0CC47A024BE0)
    activity = {"actor": f"auth.User:{actor}", "verb": "tweet", "object": f"testapp.Tweet:{actor}{n}",
                "time": time.replace(tzinfo=None), "id": hosted_id, "origin": origin, "target": "", **extra}
    if foreign_id:
        activity["foreign_id"] = fid
    return activity


class FakeGetStream:
    """Feeds and follows served the way the hosted API pages them."""

    def __init__(self, mock, ann, bob):
        self.ann, self.bob = ann, bob
        self.fail_on = None  # (feed, id_lt) that raises a connection error once
        a = ann.pk
        self.wrong_id = ids.activity_id("something else", at(2))
        ann_feed = [
            act(a, 5),
            act(a, 4, foreign_id=False),
            act(a, 3, to=[f"notification:{bob.pk}"]),
            act(a, 2, hosted_id=self.wrong_id),
            act(a, 1, extra_field={"nested": [1, 2]}),
        ]
        carl_feed = [act("carl", 0)]
        copies = [{**x, "origin": f"user:{a}"} for x in ann_feed] + [{**carl_feed[0], "origin": "user:carl"}]
        copies.sort(key=lambda x: x["time"], reverse=True)
        notified = {**ann_feed[2], "origin": None}
        self.feeds = {
            f"user:{a}": ann_feed,
            "user:carl": carl_feed,
            f"timeline:{bob.pk}": copies,
            f"timeline_aggregated:{bob.pk}": [self.group("tweet", copies)],
            f"notification:{bob.pk}": [{**self.group("tweet", [notified]), "is_seen": False, "is_read": False}],
        }
        self.follows = {
            f"timeline:{bob.pk}": [f"user:{a}", "user:carl"],
            f"timeline_aggregated:{bob.pk}": [f"user:{a}", "user:carl"],
        }
        self.requests = []
        mock.add_callback("GET", FEED_URL, callback=self.serve)

    @staticmethod
    def group(verb, activities):
        return {"id": f"{activities[0]['id']}.{verb}_2026-03-01", "group": f"{verb}_2026-03-01", "verb": verb,
                "activities": activities, "activity_count": len(activities), "actor_count": 1,
                "created_at": BASE.replace(tzinfo=None), "updated_at": BASE.replace(tzinfo=None)}

    def serve(self, request):
        slug, user_id, follows = FEED_URL.match(request.url).groups()
        feed = f"{slug}:{user_id}"
        params = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        self.requests.append((feed, "follows" if follows else "get", params))
        limit = int(params["limit"])
        if follows:
            offset = int(params["offset"])
            page = self.follows.get(feed, [])[offset : offset + limit]
            results = [{"feed_id": feed, "target_id": t, "created_at": BASE.replace(tzinfo=None),
                        "updated_at": BASE.replace(tzinfo=None)} for t in page]
            return 200, {}, serializer.dumps({"results": results, "duration": "1ms"})
        if self.fail_on == (feed, params.get("id_lt")):
            self.fail_on = None
            raise requests.ConnectionError("connection reset by peer")
        items = self.feeds.get(feed, [])
        if "id_lt" in params:
            cursor = ids.id_to_key(params["id_lt"].split(".")[0])
            items = [x for x in items if ids.id_to_key(x["id"].split(".")[0]) < cursor]
        page = items[:limit]
        more = len(page) == limit
        next_url = f"/api/v1.0/feed/{slug}/{user_id}/?id_lt={page[-1]['id']}&limit={limit}" if more else ""
        return 200, {}, serializer.dumps({"results": page, "next": next_url, "duration": "1ms"})


@pytest.fixture
def api(settings, ann, bob, monkeypatch):
    monkeypatch.delenv("STREAM_URL", raising=False)
    settings.STREAM_API_KEY = "importkey"
    settings.STREAM_API_SECRET = SECRET
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeGetStream(mock, ann, bob)


def run(*args, checkpoint=None):
    out, err = StringIO(), StringIO()
    argv = ["--page-size", "2", *args]
    if checkpoint is not None:
        argv += ["--checkpoint", str(checkpoint)]
    call_command("stream_import_getstream", *argv, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def local():
    return DatabaseBackend().client


def ids_of(feed):
    slug, user_id = feed.split(":")
    return [a["id"] for a in local().feed(slug, user_id).get(limit=100)["results"]]


def assert_imported(api):
    a, b = api.ann.pk, api.bob.pk
    hosted_ann = api.feeds[f"user:{a}"]
    expected_ann = [x["id"] for x in hosted_ann]
    expected_ann[3] = ids.activity_id(f"testapp.Tweet:{a}2", at(2))  # stored under the local id
    assert ids_of(f"user:{a}") == expected_ann
    stored = local().feed("user", a).get(limit=100)["results"]
    assert stored[4]["extra_field"] == {"nested": [1, 2]} and "target" not in stored[4]
    assert stored[2]["to"] == [f"notification:{b}"]
    # Timelines are filled by fan-out, each activity once, with its origin.
    timeline = local().feed("timeline", b).get(limit=100)["results"]
    assert [x["id"] for x in timeline] == [*expected_ann[:5], ids.activity_id("testapp.Tweet:carl0", at(0))]
    assert [x["origin"] for x in timeline] == [f"user:{a}"] * 5 + ["user:carl"]
    groups = local().feed("timeline_aggregated", b).get()["results"]
    assert sum(g["activity_count"] for g in groups) == 6
    notes = local().feed("notification", b).get()
    assert notes["unseen"] == 1
    (note,) = notes["results"]
    assert note["activity_count"] == 1 and note["activities"][0]["id"] == expected_ann[2]
    following = local().feed("timeline", b).following(limit=10)["results"]
    assert sorted(f["target_id"] for f in following) == sorted([f"user:{a}", "user:carl"])
    assert StoredActivity.objects.count() == 6
    assert FollowRow.objects.count() == 4


EXPECTED_COUNTS = [
    "Feeds: 8 site feeds, 1 other followed feeds",
    "Follows: 4 {w}, 0 not copied",
    # user:ann 5 + user:carl 1 + timeline 6 + aggregated 6 + notification 1
    "Activities: 19 read, 7 {w}, 12 fan-out copies (recreated by fan-out), 0 rejected",
    "Id mismatches: 1",
]


def assert_counts(out, written="written"):
    for line in EXPECTED_COUNTS:
        assert line.format(w=written) in out


def test_full_import(api, tmp_path):
    checkpoint = tmp_path / "cp.json"
    out, err = run("--user-ids", str(api.ann.pk), str(api.bob.pk), checkpoint=checkpoint)
    assert_imported(api)
    assert_counts(out)
    a = api.ann.pk
    local_id = ids.activity_id(f"testapp.Tweet:{a}2", at(2))
    assert f"getstream.io {api.wrong_id}, local {local_id}" in out
    assert "follows    [##############################] 8/8 feeds" in out
    assert "activities [##############################] 9/9 feeds" in out
    # Follows pages: offset 0 (full page of 2) then offset 2 (empty).
    follow_reads = [p for f, kind, p in api.requests if f == f"timeline:{api.bob.pk}" and kind == "follows"]
    assert [(p["offset"], p["limit"]) for p in follow_reads] == [("0", "2"), ("2", "2")]
    # Activities newest first, by id_lt.
    ann_reads = [p.get("id_lt") for f, kind, p in api.requests if f == f"user:{a}" and kind == "get"]
    hosted = api.feeds[f"user:{a}"]
    assert ann_reads == [None, hosted[1]["id"], hosted[3]["id"]]
    assert json.loads(checkpoint.read_text())["finished"] is True
    # A finished import is not run again.
    before = len(api.requests)
    out, _ = run("--user-ids", str(api.ann.pk), str(api.bob.pk), checkpoint=checkpoint)
    assert "is complete" in out and len(api.requests) == before


def test_interrupted_import_resumes_without_duplicates(api, tmp_path):
    a, b = api.ann.pk, api.bob.pk
    checkpoint = tmp_path / "cp.json"
    hosted = api.feeds[f"user:{a}"]
    api.fail_on = (f"user:{a}", hosted[3]["id"])  # the third page of user:ann
    with pytest.raises(CommandError, match="ConnectionError|BackendUnavailable") as info:
        run("--user-ids", str(a), str(b), checkpoint=checkpoint)
    assert "run the same command again to resume" in str(info.value)
    saved = json.loads(checkpoint.read_text())
    assert saved["feeds"][f"user:{a}"] == {"cursor": hosted[3]["id"], "read": 4, "done": False}
    assert len(saved["follows_done"]) == 8
    assert len(ids_of(f"user:{a}")) == 4
    assert len(ids_of(f"timeline:{b}")) == 4

    seen = len(api.requests)
    out, _ = run("--user-ids", str(a), str(b), checkpoint=checkpoint)
    resumed = api.requests[seen:]
    assert "Resuming from" in out
    assert not [r for r in resumed if r[1] == "follows"]  # follows are not read again
    ann_reads = [p.get("id_lt") for f, kind, p in resumed if f == f"user:{a}"]
    assert ann_reads == [hosted[3]["id"]]  # only the missing page
    assert_imported(api)
    assert_counts(out)


def test_dry_run_writes_nothing(api, tmp_path):
    checkpoint = tmp_path / "cp.json"
    out, _ = run("--dry-run", checkpoint=checkpoint)  # every user of the user model
    assert "Dry run" in out
    assert_counts(out, "would be written")
    assert not checkpoint.exists()
    assert StoredActivity.objects.count() == FeedEntry.objects.count() == FollowRow.objects.count() == 0
    read_feeds = {f for f, _, _ in api.requests}
    assert f"user:{api.ann.pk}" in read_feeds and f"notification:{api.bob.pk}" in read_feeds


def test_user_ids_file_limit_and_checkpoint_guard(api, tmp_path):
    a = api.ann.pk
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"# users to import\n{a}\n\n")
    checkpoint = tmp_path / "cp.json"
    out, _ = run("--user-ids-file", str(ids_file), "--limit", "3", checkpoint=checkpoint)
    assert "Feeds: 4 site feeds, 0 other followed feeds" in out
    assert len(ids_of(f"user:{a}")) == 3
    assert {f for f, _, _ in api.requests} == {f"user:{a}", f"timeline:{a}", f"timeline_aggregated:{a}", f"notification:{a}"}
    with pytest.raises(CommandError, match="belongs to another import"):
        run("--user-ids", str(a), "--limit", "5", checkpoint=checkpoint)
    out, _ = run("--user-ids", str(a), "--limit", "5", "--restart", checkpoint=checkpoint)
    assert len(ids_of(f"user:{a}")) == 5


def test_rejected_activities_and_follows_are_reported(api, tmp_path, settings):
    a, b = api.ann.pk, api.bob.pk
    api.feeds[f"user:{a}"] = [act(a, 1, to=["nosuchgroup:1"]), act(a, 0)]
    api.follows[f"timeline:{b}"] = ["timeline_aggregated:9"]
    out, err = run("--user-ids", str(a), str(b), checkpoint=tmp_path / "cp.json")
    assert "1 rejected" in out and "1 not copied" in out
    assert "nosuchgroup" in err and "timeline_aggregated:9" in err
    assert ids_of(f"user:{a}") == [api.feeds[f"user:{a}"][1]["id"]]


def test_bad_arguments(api, tmp_path, settings):
    with pytest.raises(CommandError, match="not a local backend"):
        run("--destination", "stream_django.backends.getstream.GetStreamBackend")
    with pytest.raises(CommandError, match="page-size"):
        call_command("stream_import_getstream", "--page-size", "500")
    settings.STREAM_API_KEY = None
    with pytest.raises(CommandError, match="STREAM_API_KEY"):
        run(checkpoint=tmp_path / "cp.json")
