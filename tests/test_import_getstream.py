"""``manage.py stream_import_getstream`` against a mocked getstream.io API.

``FakeGetStream`` serves feeds and follows the way the hosted API pages them
(``limit``/``offset`` for follows, ``id_lt``/``id_gt`` newest first for
feeds, group objects for aggregated and notification feeds), from data
shaped like recorded responses.
"""

from __future__ import annotations

import re
import sys
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
from stream_django.conf import DATABASE_BACKEND
from stream_django.engine import ids, serializer
from stream_django.feeds import get_client
from stream_django.importers.getstream import Journal
from stream_django.management.commands.stream_import_getstream import Command

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "s" * 40
BASE = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=timezone.utc)
FEED_URL = re.compile(r"https://api\.stream-io-api\.com/api/v1\.0/feed/(\w+)/([\w-]+)/(follows/)?")


def at(minutes):
    return BASE + timedelta(minutes=minutes)


def random_v1(time):
    """A hosted id of the old kind: a v1 UUID not derived from a foreign_id."""
    return ids._uuid1(ids._UUID_EPOCH_OFFSET + ids._epoch_ms(time) * 10_000, 0xB400, 0x0CC47A024BE0)


def act(actor, n, *, foreign_id=True, hosted_id=None, origin=None, verb="tweet", **extra):
    """A hosted activity as getstream.io returns it (before JSON encoding)."""
    time = at(n)
    fid = f"testapp.Tweet:{actor}{n}" if foreign_id else ""
    if hosted_id is None:
        hosted_id = ids.activity_id(fid, time) if foreign_id else random_v1(time)
    activity = {
        "actor": f"auth.User:{actor}",
        "verb": verb,
        "object": f"testapp.Tweet:{actor}{n}",
        "time": time.replace(tzinfo=None),
        "id": hosted_id,
        "origin": origin,
        "target": "",
        **extra,
    }
    if foreign_id:
        activity["foreign_id"] = fid
    return activity


def copies(origin, activities):
    return [{**x, "origin": origin} for x in activities]


def newest_first(items):
    return sorted(items, key=lambda x: ids.id_to_key(x["id"].split(".")[0]), reverse=True)


def group(name, activities, **flags):
    activities = newest_first(activities)
    return {
        "id": f"{activities[0]['id']}.{name}",
        "group": name,
        "verb": activities[0]["verb"],
        "activities": activities,
        "activity_count": len(activities),
        "actor_count": 1,
        "created_at": BASE.replace(tzinfo=None),
        "updated_at": BASE.replace(tzinfo=None),
        **flags,
    }


class FakeGetStream:
    """Feeds and follows of a small hosted app.

    ann (a site user) wrote five tweets; one was sent to bob's notification
    feed, one has no foreign_id, one has a hosted id of another kind. bob's
    news feeds follow ann and carl (not a site user); bob's timeline also
    kept a tweet of dave, unfollowed with keep_history. bob's notifications
    hold ann's tweet (seen) and a welcome note (seen and read), in groups
    whose hosted names differ from the local aggregation's.
    """

    def __init__(self, mock, ann, bob):
        self.ann, self.bob = ann, bob
        self.fail_on = None  # (feed, id_lt) that raises a connection error once
        a, b = ann.pk, bob.pk
        self.wrong_id = random_v1(at(2))
        self.user_a = [
            act(a, 5),
            act(a, 4, foreign_id=False),
            act(a, 3, to=[f"notification:{b}"]),
            act(a, 2, hosted_id=self.wrong_id),
            act(a, 1, extra_field={"nested": [1, 2]}),
        ]
        self.user_carl = [act("carl", 0)]
        self.dave = act("dave", 7, origin="user:dave")
        self.welcome = act("system", 8, verb="welcome")
        self.feeds = {
            f"user:{a}": self.user_a,
            "user:carl": self.user_carl,
            f"notification:{b}": [
                group("h2", [self.welcome], is_seen=True, is_read=True),
                group("h1", [self.user_a[2]], is_seen=True, is_read=False),
            ],
        }
        self.follows = {
            f"timeline:{b}": [f"user:{a}", "user:carl"],
            f"timeline_aggregated:{b}": [f"user:{a}", "user:carl"],
        }
        self.kept = {f"timeline:{b}": [self.dave]}
        self.requests = []
        mock.add_callback("GET", FEED_URL, callback=self.serve)

    def news(self, feed):
        """bob's news feeds: copies of what they follow (and kept history)."""
        items = list(self.kept.get(feed, []))
        for target in self.follows.get(feed, []):
            items += copies(target, self.feeds.get(target, []))
        items = newest_first(items)
        if feed.startswith("timeline_aggregated:"):
            return [group("tweets", items)] if items else []
        return items

    def serve(self, request):
        slug, user_id, follows = FEED_URL.match(request.url).groups()
        feed = f"{slug}:{user_id}"
        params = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        self.requests.append((feed, "follows" if follows else "get", params))
        limit = int(params["limit"])
        if follows:
            offset = int(params["offset"])
            page = self.follows.get(feed, [])[offset : offset + limit]
            results = [
                {
                    "feed_id": feed,
                    "target_id": t,
                    "created_at": BASE.replace(tzinfo=None),
                    "updated_at": BASE.replace(tzinfo=None),
                }
                for t in page
            ]
            return 200, {}, serializer.dumps({"results": results, "duration": "1ms"})
        if self.fail_on == (feed, params.get("id_lt")):
            self.fail_on = None
            raise requests.ConnectionError("connection reset by peer")
        items = self.news(feed) if slug.startswith("timeline") else self.feeds.get(feed, [])
        for name, keep in (("id_lt", lambda k, c: k < c), ("id_gt", lambda k, c: k > c)):
            if name in params:
                cursor = ids.id_to_key(params[name].split(".")[0])
                items = [x for x in items if keep(ids.id_to_key(x["id"].split(".")[0]), cursor)]
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


@pytest.fixture
def journal(tmp_path):
    return tmp_path / "import.journal"


def run(*args, journal=None):
    out, err = StringIO(), StringIO()
    argv = ["--page-size", "2", *args]
    if journal is not None:
        argv += ["--checkpoint", str(journal)]
    call_command("stream_import_getstream", *argv, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def users(api):
    return ["--user-ids", str(api.ann.pk), str(api.bob.pk)]


def local():
    return get_client(DatabaseBackend())


def ids_of(feed):
    slug, user_id = feed.split(":")
    return [a["id"] for a in local().feed(slug, user_id).get(limit=100)["results"]]


def local_ann_ids(api):
    """ann's activity ids as stored: hosted ids, but the computed one for the mismatch."""
    computed = ids.activity_id(f"testapp.Tweet:{api.ann.pk}2", at(2))
    return [computed if x["id"] == api.wrong_id else x["id"] for x in api.user_a]


def assert_imported(api):
    a, b = api.ann.pk, api.bob.pk
    ann_ids = local_ann_ids(api)
    assert ids_of(f"user:{a}") == ann_ids
    stored = local().feed("user", a).get(limit=100)["results"]
    assert stored[4]["extra_field"] == {"nested": [1, 2]} and "target" not in stored[4]
    assert stored[2]["to"] == [f"notification:{b}"]
    # The timeline is filled by fan-out, each activity once, with its origin;
    # dave's kept-history entry is written directly.
    timeline = local().feed("timeline", b).get(limit=100)["results"]
    assert [x["id"] for x in timeline] == [api.dave["id"], *ann_ids, api.user_carl[0]["id"]]
    assert [x["origin"] for x in timeline] == [None] + [f"user:{a}"] * 5 + ["user:carl"]
    groups = local().feed("timeline_aggregated", b).get()["results"]
    assert sum(g["activity_count"] for g in groups) == 6
    # Notifications: hosted groups h1/h2 are the local tweet/welcome groups; seen/read carried over.
    notes = local().feed("notification", b).get()
    assert (notes["unseen"], notes["unread"]) == (0, 1)
    state = {g["group"]: (g["activity_count"], g["is_seen"], g["is_read"]) for g in notes["results"]}
    assert state == {"welcome_2026-03-01": (1, True, True), "tweet_2026-03-01": (1, True, False)}
    following = local().feed("timeline", b).following(limit=10)["results"]
    assert sorted(f["target_id"] for f in following) == sorted([f"user:{a}", "user:carl"])
    assert StoredActivity.objects.count() == 8
    assert FollowRow.objects.count() == 4


EXPECTED_COUNTS = [
    "Feeds: 8 site feeds, 1 other followed feeds",
    "Follows: 4 {w}, 0 not copied",
    # read: user:ann 5 + user:carl 1 + timeline 7 + aggregated 6 + notification 2
    # written: ann 5 + carl 1 + the 2 notifications; dave's copy directly
    "Activities: 21 read, 8 {w}, 12 fan-out copies (recreated by fan-out), 1 copies {w} directly, 0 rejected",
    "Notification groups marked: 2 seen, 1 read",
    "Id mismatches: 1; without foreign_id (hosted id kept): 1",
]


def assert_counts(out, written="written"):
    for line in EXPECTED_COUNTS:
        assert line.format(w=written) in out


def test_full_import(api, journal):
    out, err = run(*users(api), journal=journal)
    assert err == ""
    assert_imported(api)
    assert_counts(out)
    a = api.ann.pk
    local_id = ids.activity_id(f"testapp.Tweet:{a}2", at(2))
    assert f"getstream.io {api.wrong_id}, local {local_id}" in out
    assert "follows       [##############################] 8/8 feeds" in out
    assert "activities    [##############################] 7/7 feeds  19 entries" in out
    assert "notifications [##############################] 2/2 feeds  21 entries" in out
    # Follow pages: offset 0 (a full page of 2), then offset 2 (empty).
    follow_reads = [p for f, kind, p in api.requests if f == f"timeline:{api.bob.pk}" and kind == "follows"]
    assert [(p["offset"], p["limit"]) for p in follow_reads] == [("0", "2"), ("2", "2")]
    # Activities newest first, by id_lt.
    ann_reads = [p.get("id_lt") for f, kind, p in api.requests if f == f"user:{a}" and kind == "get"]
    assert ann_reads == [None, api.user_a[1]["id"], api.user_a[3]["id"]]
    # The requests carry the API key.
    assert {p["api_key"] for _, _, p in api.requests} == {"importkey"}
    # A finished import is not run again.
    before = len(api.requests)
    out, _ = run(*users(api), journal=journal)
    assert "is complete" in out and len(api.requests) == before
    assert_counts(out)


def test_interrupted_import_resumes_without_duplicates(api, journal):
    a, b = api.ann.pk, api.bob.pk
    api.fail_on = (f"user:{a}", api.user_a[3]["id"])  # the third page of user:ann
    with pytest.raises(CommandError, match="BackendUnavailable: getstream backend: cannot reach") as info:
        run(*users(api), journal=journal)
    assert "run the same command again to resume" in str(info.value)
    saved = Journal(str(journal), {"api_key": "importkey", "destination": DATABASE_BACKEND})
    saved.load()
    assert saved.cursors[f"user:{a}"] == (api.user_a[3]["id"], 4)
    assert f"user:{a}" not in saved.done and len(saved.follows_done) == 8
    assert saved.stats.activities_written == 4
    assert len(ids_of(f"user:{a}")) == 4
    assert len(ids_of(f"timeline:{b}")) == 4

    seen = len(api.requests)
    out, _ = run(*users(api), journal=journal)
    resumed = api.requests[seen:]
    assert "Resuming the import" in out
    assert not [r for r in resumed if r[1] == "follows"]  # follows are not read again
    ann_reads = [p.get("id_lt") for f, kind, p in resumed if f == f"user:{a}"]
    assert ann_reads == [api.user_a[3]["id"]]  # only the missing page
    assert_imported(api)
    assert_counts(out)  # each entry counted once over both runs


def test_a_line_cut_short_by_a_crash_is_dropped(api, journal):
    api.fail_on = (f"user:{api.ann.pk}", api.user_a[3]["id"])
    with pytest.raises(CommandError):
        run(*users(api), journal=journal)
    with open(journal, "a") as f:
        f.write('{"event": "page", "feed": "user:')
    out, _ = run(*users(api), journal=journal)
    assert_imported(api)
    assert_counts(out)
    assert journal.read_text().endswith('{"event": "finished"}\n')


def test_dry_run_writes_nothing(api, journal):
    out, _ = run("--dry-run", journal=journal)  # every user of the user model
    assert "Dry run" in out
    assert_counts(out, "would be written")
    assert not journal.exists()
    assert StoredActivity.objects.count() == FeedEntry.objects.count() == FollowRow.objects.count() == 0
    read_feeds = {f for f, _, _ in api.requests}
    assert f"user:{api.ann.pk}" in read_feeds and f"notification:{api.bob.pk}" in read_feeds


def test_catch_up_copies_what_changed_since(api, journal):
    a, b = api.ann.pk, api.bob.pk
    run(*users(api), journal=journal)
    # Later on getstream.io: ann tweets twice, bob's news feeds follow dan
    # (who tweeted before) and unfollow carl.
    api.user_a[:0] = [act(a, 10), act(a, 9)]
    api.feeds["user:dan"] = [act("dan", 6)]
    for feed in (f"timeline:{b}", f"timeline_aggregated:{b}"):
        api.follows[feed] = [f"user:{a}", "user:dan"]
    # bob read the notification of ann's tweet: the group keeps its id.
    api.feeds[f"notification:{b}"][1]["is_read"] = True
    seen = len(api.requests)

    out, _ = run("--catch-up", "--dry-run", *users(api), journal=journal)
    assert "Follows: 2 would be written, 2 removed" in out
    assert len(ids_of(f"timeline:{b}")) == 7  # nothing written

    out, err = run("--catch-up", *users(api), journal=journal)
    assert err == ""
    assert "Catch-up totals" in out and "Follows: 2 written, 2 removed, 0 not copied" in out
    # read: ann 2 new, timeline 2 new copies, the aggregated group (bumped:
    # all its 8 copies), dan 1 (a new followed feed: read from its newest),
    # the first page of notifications (2 groups already copied: re-marked only)
    assert "Activities: 15 read, 3 written, 10 fan-out copies" in out
    assert "Notification groups marked: 2 seen, 2 read" in out
    assert local().feed("notification", b).get()["unread"] == 0
    ann_reads = [p for f, kind, p in api.requests[seen:] if f == f"user:{a}" and kind == "get"]
    assert all(p["id_gt"] == api.user_a[2]["id"] for p in ann_reads)  # newer than the import's newest
    # New tweets by fan-out, dan's by fan-out from his import, carl's purged
    # by the unfollow (as getstream.io does), dave's kept history still there.
    timeline = local().feed("timeline", b).get(limit=100)["results"]
    dan = api.feeds["user:dan"][0]["id"]
    assert [(x["id"], x["origin"]) for x in timeline] == [
        (api.user_a[0]["id"], f"user:{a}"),
        (api.user_a[1]["id"], f"user:{a}"),
        (api.dave["id"], None),
        (dan, "user:dan"),
        *[(x, f"user:{a}") for x in local_ann_ids(api)[2:]],
    ]
    assert sorted(f["target_id"] for f in local().feed("timeline", b).following()["results"]) == sorted(
        [f"user:{a}", "user:dan"]
    )

    # Nothing new: a second catch-up writes nothing.
    out, _ = run("--catch-up", *users(api), journal=journal)
    assert "Follows: 0 written, 0 removed" in out and "Activities: 2 read, 0 written" in out


def test_catch_up_reports_feeds_with_more_new_entries_than_the_limit(api, journal, settings):
    a = api.ann.pk
    run("--user-ids", str(a), journal=journal)
    api.user_a[:0] = [act(a, 12), act(a, 11), act(a, 10)]
    settings.STREAM_BACKEND = DATABASE_BACKEND  # switched, with writes paused
    _, err = run("--catch-up", "--force", "--limit", "2", "--user-ids", str(a), journal=journal)
    assert f"user:{a}: more than 2 new entries; the older ones were not copied" in err
    assert ids_of(f"user:{a}")[:3] == [api.user_a[0]["id"], api.user_a[1]["id"], api.user_a[3]["id"]]


def test_journal_guards(api, journal, settings):
    a = api.ann.pk
    with pytest.raises(CommandError, match="no finished import"):
        run("--catch-up", "--user-ids", str(a), journal=journal)
    api.fail_on = (f"user:{a}", api.user_a[1]["id"])
    with pytest.raises(CommandError):
        run("--user-ids", str(a), journal=journal)
    with pytest.raises(CommandError, match="not finished: run it again without --catch-up"):
        run("--catch-up", "--user-ids", str(a), journal=journal)
    with pytest.raises(CommandError, match="started with --limit 100"):
        run("--user-ids", str(a), "--limit", "5", journal=journal)
    with pytest.raises(CommandError, match="belongs to another import"):
        run("--user-ids", str(a), "--api-key", "otherkey", "--api-secret", SECRET, journal=journal)
    with pytest.raises(CommandError, match="cannot be combined"):
        run("--restart", "--catch-up", journal=journal)
    settings.STREAM_BACKEND = DATABASE_BACKEND
    with pytest.raises(CommandError, match="STREAM_BACKEND is already .*DatabaseBackend: a catch-up would remove"):
        run("--catch-up", "--user-ids", str(a), journal=journal)
    settings.STREAM_BACKEND = None
    journal.write_text("not json\n")
    with pytest.raises(CommandError, match="is not an import journal"):
        run("--user-ids", str(a), journal=journal)
    run("--user-ids", str(a), "--limit", "3", "--restart", journal=journal)
    assert len(ids_of(f"user:{a}")) == 3


def test_user_ids_file_and_limit(api, journal, tmp_path):
    a = api.ann.pk
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"# users to import\n{a}  # ann\n\n")
    out, _ = run("--user-ids-file", str(ids_file), "--limit", "3", journal=journal)
    assert "Feeds: 4 site feeds, 0 other followed feeds" in out
    assert len(ids_of(f"user:{a}")) == 3
    assert {f for f, _, _ in api.requests} == {
        f"user:{a}",
        f"timeline:{a}",
        f"timeline_aggregated:{a}",
        f"notification:{a}",
    }


def test_credentials_on_the_command_line(api, journal, settings):
    settings.STREAM_API_KEY = settings.STREAM_API_SECRET = None
    with pytest.raises(CommandError, match="STREAM_API_KEY"):
        run(journal=journal)
    with pytest.raises(CommandError, match="give both --api-key and --api-secret"):
        run("--api-key", "cli", journal=journal)
    run("--user-ids", str(api.ann.pk), "--api-key", "clikey", "--api-secret", SECRET, journal=journal)
    assert {p["api_key"] for _, _, p in api.requests} == {"clikey"}


def test_rejected_activities_and_follows_are_reported(api, journal):
    a, b = api.ann.pk, api.bob.pk
    api.feeds[f"user:{a}"][:] = [act(a, 1, to=["nosuchgroup:1"]), act(a, 0)]
    api.follows[f"timeline:{b}"] = ["timeline_aggregated:9"]
    out, err = run(*users(api), journal=journal)
    assert "1 rejected" in out and "1 not copied" in out
    assert "nosuchgroup" in err and "timeline_aggregated:9" in err
    assert ids_of(f"user:{a}") == [api.feeds[f"user:{a}"][1]["id"]]


def test_bad_arguments(api, journal, settings):
    with pytest.raises(CommandError, match="not a local backend"):
        run("--destination", "stream_django.backends.getstream.GetStreamBackend")
    with pytest.raises(CommandError, match="--destination: Could not import"):
        run("--destination", "no.such.Backend")
    with pytest.raises(CommandError, match="page-size must be from 1 to 100, got 500"):
        call_command("stream_import_getstream", "--page-size", "500")
    with pytest.raises(CommandError, match="--limit must be 0 or more, got -1"):
        call_command("stream_import_getstream", "--limit", "-1")
    with pytest.raises(CommandError, match="give --user-ids or --user-ids-file"):
        run("--user-ids", "1", "--user-ids-file", "x", journal=journal)
    settings.STREAM_USER_FEED = "nosuch"
    with pytest.raises(CommandError, match="feed group 'nosuch' does not exist.*STREAM_FEEDS"):
        run(journal=journal)


def test_missing_stream_python_names_the_extra(api, journal, monkeypatch):
    monkeypatch.setitem(sys.modules, "stream", None)
    with pytest.raises(CommandError, match=r'pip install "django-activity-feeds\[getstream\]"'):
        run(journal=journal)


def test_progress_bar_prints_a_line_per_percent_when_not_a_terminal():
    out = StringIO()
    command = Command(stdout=out)
    command._importer, command._last_percent = None, {}
    for done in range(1, 1001):
        command.progress("follows", done, 1000, f"user:{done}")
    lines = out.getvalue().splitlines()
    assert len(lines) == 101
    assert lines[-1].startswith("follows       [##############################] 1000/1000 feeds")
    assert lines[50].startswith("follows       [###############...............] 500/1000 feeds")
