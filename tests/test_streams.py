"""The django-user-streams API (stream_django.streams) on every local backend.

Each test runs once per name in ``BACKENDS``; a backend joins the suite by
adding its name there and a branch to the ``backend`` fixture. Costs are
counted in round trips: database queries, plus whatever the branch's
``trips`` counts for a backend that is not the database.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.core.exceptions import ImproperlyConfigured
from django.core.paginator import Paginator
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.utils.safestring import SafeData, mark_safe

from stream_django import streams
from stream_django.backends import get_backend
from stream_django.backends.base import BaseBackend, Page
from stream_django.conf import DATABASE_BACKEND
from stream_django.streams import StreamItem, add_stream_item, get_stream_items

BACKENDS = ["database", "redis"]

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


@dataclass
class UnderTest:
    name: str
    #: A context manager yielding a function that returns how many round
    #: trips other than database queries the storage made inside it.
    trips: Callable[[], AbstractContextManager[Callable[[], int]]] | None = None
    #: Round trips of one page read (``read_feed``); the API promises one.
    read_trips: int = 1


@pytest.fixture(params=BACKENDS)
def backend(request, settings, db):
    if request.param == "database":
        settings.STREAM_BACKEND = DATABASE_BACKEND
        return UnderTest("database")
    if request.param == "redis":
        request.getfixturevalue("redis_settings")
        return UnderTest("redis", trips=_redis_pipelines, read_trips=2)
    raise AssertionError(f"unknown backend {request.param}")  # pragma: no cover


@contextmanager
def _redis_pipelines():
    """Count the pipelines the Redis backend sends (one round trip each)."""
    from stream_django.backends.redis import RedisBackend

    sent = [0]
    original = RedisBackend._send

    def counting(self, calls):
        sent[0] += 1
        return original(self, calls)

    RedisBackend._send = counting
    try:
        yield lambda: sent[0]
    finally:
        RedisBackend._send = original


@pytest.fixture
def users(backend):
    User.objects.bulk_create([User(username=f"u{i}") for i in range(5)])
    return list(User.objects.order_by("pk"))


def contents(items):
    return [i.content for i in items]


def entry_keys(user):
    """The stored item keys in ``user``'s stream, newest first."""
    return [e.key for e in get_backend().read_feed(f"user_stream:{user.pk}", Page(limit=100))]


def fill(user, n):
    """Give ``user`` items "m0" .. "m<n-1>", one second apart (m<n-1> newest)."""
    for i in range(n):
        add_stream_item(user, f"m{i}", T0 + timedelta(seconds=i))


def round_trips(backend, func):
    """Run ``func``; return (round trips it made, its result)."""
    other = backend.trips() if backend.trips else nullcontext(lambda: 0)
    with CaptureQueriesContext(connection) as db, other as count_other:
        result = func()
    return len(db.captured_queries) + count_other(), result


# -- adding ------------------------------------------------------------------


def test_single_user(users):
    add_stream_item(users[0], "hello", T0)
    assert list(get_stream_items(users[0])) == [StreamItem(content="hello", created_at=T0)]
    assert list(get_stream_items(users[1])) == []


def test_list_tuple_and_generator_of_users(users):
    add_stream_item([users[0], users[1]], "list", T0)
    add_stream_item((users[1], users[2]), "tuple", T0 + timedelta(seconds=1))
    add_stream_item((u for u in users[3:]), "generator", T0 + timedelta(seconds=2))
    assert [contents(get_stream_items(u)) for u in users] == [
        ["list"],
        ["tuple", "list"],
        ["tuple"],
        ["generator"],
        ["generator"],
    ]


def test_a_user_listed_twice_gets_the_item_once(users):
    add_stream_item([users[0], users[0], users[1]], "twice", T0)
    assert contents(get_stream_items(users[0])) == ["twice"]


def test_queryset_broadcast_stores_one_item_for_every_user(backend, settings):
    settings.STREAM_FANOUT_CHUNK_SIZE = 500
    User.objects.bulk_create([User(username=f"b{i:04}") for i in range(2000)])
    User.objects.create(username="outsider")
    add_stream_item(User.objects.filter(username__startswith="b"), "to everyone", T0)
    receivers = list(User.objects.filter(username__startswith="b").order_by("pk"))
    sample = receivers[:2] + receivers[999:1001] + receivers[-2:]
    assert [contents(get_stream_items(u)) for u in sample] == [["to everyone"]] * 6
    # one stored item: every entry references the same key
    assert len({entry_keys(u)[0] for u in sample}) == 1
    assert list(get_stream_items(User.objects.get(username="outsider"))) == []


def test_broadcast_cost_grows_per_chunk_not_per_user(backend, settings):
    settings.STREAM_FANOUT_CHUNK_SIZE = 500
    created = User.objects.bulk_create([User(username=f"c{i:04}") for i in range(3500)])
    pks = sorted(u.pk for u in User.objects.filter(username__startswith="c"))
    assert len(created) == len(pks) == 3500

    def cost(first, n):
        qs = User.objects.filter(pk__gte=pks[first], pk__lte=pks[first + n - 1])
        return round_trips(backend, lambda: add_stream_item(qs, f"{n} users", T0))[0]

    add_stream_item(User.objects.create(username="warm-up"), "first use", T0)
    one_chunk, two_chunks, four_chunks = cost(0, 500), cost(500, 1000), cost(1500, 2000)
    per_chunk = two_chunks - one_chunk
    assert four_chunks - two_chunks == 2 * per_chunk
    assert per_chunk <= 6  # a few statements for 500 users
    assert one_chunk <= per_chunk + 1  # plus one read of the ids
    last = User.objects.get(pk=pks[3499])
    assert contents(get_stream_items(last)) == ["2000 users"]


def test_a_sliced_queryset_is_accepted(users):
    add_stream_item(User.objects.order_by("-pk")[:2], "latest two", T0)
    assert [len(get_stream_items(u)) for u in users] == [0, 0, 0, 1, 1]


def test_empty_list_or_queryset_adds_nothing(users):
    add_stream_item([], "nobody", T0)
    add_stream_item(User.objects.none(), "nobody", T0)
    assert [len(get_stream_items(u)) for u in users] == [0] * 5


@pytest.mark.django_db(transaction=True)
def test_broadcast_outside_a_transaction_commits_chunk_by_chunk(backend, settings, transactional_db):
    settings.STREAM_FANOUT_CHUNK_SIZE = 3
    User.objects.bulk_create([User(username=f"t{i}") for i in range(8)])
    add_stream_item(User.objects.all(), "committed", T0)
    assert all(contents(get_stream_items(u)) == ["committed"] for u in User.objects.all())


def test_identical_messages_are_separate_items(users):
    add_stream_item(users[0], "same", T0)
    add_stream_item(users[0], "same", T0)
    add_stream_item(users[:2], "same", T0)
    assert contents(get_stream_items(users[0])) == ["same"] * 3
    assert len(set(entry_keys(users[0]))) == 3
    assert len(get_stream_items(users[1])) == 1


# -- reading -----------------------------------------------------------------


def test_newest_first_whatever_the_order_of_adding(users):
    for minutes in (2, 0, 3, 1):
        add_stream_item(users[0], f"m{minutes}", T0 + timedelta(minutes=minutes))
    assert contents(get_stream_items(users[0])) == ["m3", "m2", "m1", "m0"]


def test_get_stream_items_is_lazy(backend, users):
    fill(users[0], 3)
    count, items = round_trips(backend, lambda: get_stream_items(users[0]))
    assert count == 0
    assert len(items) == 3


def test_first_and_last_items_are_one_read_each(backend, users):
    fill(users[0], 30)
    items = get_stream_items(users[0])
    assert round_trips(backend, lambda: contents(items[:3])) == (backend.read_trips, ["m29", "m28", "m27"])
    assert round_trips(backend, lambda: contents(items[27:])) == (backend.read_trips, ["m2", "m1", "m0"])
    assert round_trips(backend, lambda: contents(items[27:30])) == (backend.read_trips, ["m2", "m1", "m0"])
    assert round_trips(backend, lambda: items[0].content) == (backend.read_trips, "m29")
    assert round_trips(backend, lambda: items[29].content) == (backend.read_trips, "m0")
    assert contents(items[28:40]) == ["m1", "m0"]
    assert items[40:50] == []
    assert items[5:2] == []
    with pytest.raises(IndexError):
        items[30]


def test_negative_indexes_and_steps_behave_as_on_querysets(backend, users):
    fill(users[0], 6)
    items = get_stream_items(users[0])
    users_qs = User.objects.order_by("pk")
    for index in (-1, slice(-3, None), slice(None, -1), slice(-5, -2)):
        with pytest.raises(ValueError, match="Negative indexing is not supported.") as ours:
            items[index]
        with pytest.raises(ValueError) as theirs:
            users_qs[index]
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError, match="indices must be integers or slices, not str"):
        items["0"]
    with pytest.raises(TypeError, match="QuerySet indices must be integers or slices, not str"):
        users_qs["0"]
    # a step applies to the slice read, as on querysets
    assert round_trips(backend, lambda: contents(items[::2])) == (backend.read_trips, ["m5", "m3", "m1"])
    assert contents(items[1:5:3]) == ["m4", "m1"]
    assert [u.username for u in users_qs[::2]] == ["u0", "u2", "u4"]


def test_len_and_count_are_one_round_trip(backend, users):
    fill(users[0], 4)
    items = get_stream_items(users[0])
    assert round_trips(backend, lambda: len(items)) == (1, 4)
    assert round_trips(backend, lambda: items.count()) == (0, 4)  # remembered
    assert len(get_stream_items(users[1])) == 0


def test_truth_value_reads_at_most_one_item(backend, users):
    add_stream_item(users[0], "x", T0)
    assert round_trips(backend, lambda: bool(get_stream_items(users[0]))) == (backend.read_trips, True)
    assert bool(get_stream_items(users[1])) is False


def test_paginator_pages(backend, users):
    fill(users[0], 25)
    paginator = Paginator(get_stream_items(users[0]), 10)
    count, first = round_trips(backend, lambda: paginator.page(1))
    assert count == 1 + backend.read_trips  # the count, then the page
    assert contents(first) == [f"m{n}" for n in range(24, 14, -1)]
    assert first.has_next() and not first.has_previous()
    assert paginator.num_pages == 3
    count, last = round_trips(backend, lambda: paginator.page(3))
    assert count == backend.read_trips
    assert contents(last.object_list) == [f"m{n}" for n in range(4, -1, -1)]
    assert not last.has_next()
    assert Paginator(get_stream_items(users[1]), 10).page(1).object_list == []


def test_iterating_reads_everything_in_pages(backend, users, monkeypatch):
    monkeypatch.setattr(streams, "ITER_PAGE_SIZE", 4)
    fill(users[0], 10)
    items = get_stream_items(users[0])
    count, result = round_trips(backend, lambda: contents(iter(items)))
    assert result == [f"m{n}" for n in range(9, -1, -1)]
    assert count == 3 * backend.read_trips
    # a template's for loop sees every item in order
    rendered = Template("{% for i in items %}{{ i.content }},{% endfor %}").render(Context({"items": items}))
    assert rendered == ",".join(f"m{n}" for n in range(9, -1, -1)) + ","


# -- content -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "naïve café — 日本語 🎉 👩‍👩‍👧",
        "עברית and العربية",
        "e\u0301 (combining) and \ufeff bom",
        "  leading and trailing spaces  \n\ttabs\r\n",
        "nul \x00 and other controls \x01\x7f",
        '{"json": "looking", "n": 1}',
        "2026-03-01",
        "2026-03-01T12:00:00.000000",
        "<b>bold</b> & <script>alert(1)</script>",
        "",
        "x" * 9000,
    ],
)
def test_content_round_trips_exactly(users, text):
    add_stream_item(users[0], text, T0)
    (item,) = get_stream_items(users[0])
    assert type(item.content) is str
    assert item.content == text


def test_content_is_never_marked_safe_and_templates_escape_it(users):
    add_stream_item(users[0], mark_safe("<b>bold</b> & <script>x</script>"), T0)
    item = get_stream_items(users[0])[0]
    assert not isinstance(item.content, SafeData)
    rendered = Template("<li>{{ item.content }}</li>").render(Context({"item": item}))
    assert rendered == "<li>&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt;</li>"


def test_content_must_be_a_string(users):
    for bad in (42, None, b"bytes", ["a"]):
        with pytest.raises(TypeError, match="^content must be a string"):
            add_stream_item(users[0], bad, T0)
    assert len(get_stream_items(users[0])) == 0


def test_content_must_be_encodable_unicode(users):
    with pytest.raises(ValueError, match="content is not valid Unicode text.*position 2"):
        add_stream_item(users[0], "ab\ud800", T0)
    assert len(get_stream_items(users[0])) == 0


def test_too_long_content_is_refused_naming_it(users):
    with pytest.raises(ValueError, match="content is too long: 20000 bytes"):
        add_stream_item(users[0], "x" * 20000, T0)
    assert len(get_stream_items(users[0])) == 0


# -- times -------------------------------------------------------------------


def test_with_use_tz_times_are_aware_utc(users, settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    add_stream_item(users[0], "now")
    created = get_stream_items(users[0])[0].created_at
    assert created.tzinfo == timezone.utc
    assert before <= created <= datetime.now(timezone.utc)

    amsterdam = ZoneInfo("Europe/Amsterdam")
    add_stream_item(users[1], "aware", datetime(2026, 7, 1, 14, 0, tzinfo=amsterdam))
    add_stream_item(users[2], "naive is TIME_ZONE", datetime(2026, 7, 1, 14, 0))
    expected = datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc)
    assert get_stream_items(users[1])[0].created_at == expected
    assert get_stream_items(users[2])[0].created_at == expected


def test_without_use_tz_times_are_local_naive(users, settings):
    settings.USE_TZ = False
    settings.TIME_ZONE = "Europe/Amsterdam"
    add_stream_item(users[0], "local", datetime(2026, 7, 1, 14, 0))
    add_stream_item(users[1], "aware", datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc))
    add_stream_item(users[2], "now")
    assert get_stream_items(users[0])[0].created_at == datetime(2026, 7, 1, 14, 0)
    assert get_stream_items(users[1])[0].created_at == datetime(2026, 7, 1, 14, 0)
    local_now = datetime.now(ZoneInfo("Europe/Amsterdam")).replace(tzinfo=None)
    created = get_stream_items(users[2])[0].created_at
    assert created.tzinfo is None
    assert abs(created - local_now) < timedelta(seconds=5)


def test_without_use_tz_and_with_use_utc_times_are_naive_utc(users, settings):
    settings.USE_TZ = False
    settings.TIME_ZONE = "Europe/Amsterdam"
    settings.USER_STREAMS_USE_UTC = True
    add_stream_item(users[0], "utc", datetime(2026, 7, 1, 14, 0))
    add_stream_item(users[1], "now")
    assert get_stream_items(users[0])[0].created_at == datetime(2026, 7, 1, 14, 0)
    created = get_stream_items(users[1])[0].created_at
    assert created.tzinfo is None
    assert abs(created - datetime.now(timezone.utc).replace(tzinfo=None)) < timedelta(seconds=5)


def test_the_stored_instant_is_read_in_the_current_mode(users, settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    add_stream_item(users[0], "x", datetime(2026, 1, 10, 9, 30, tzinfo=timezone.utc))
    settings.USE_TZ = False
    assert get_stream_items(users[0])[0].created_at == datetime(2026, 1, 10, 10, 30)
    settings.USER_STREAMS_USE_UTC = True
    assert get_stream_items(users[0])[0].created_at == datetime(2026, 1, 10, 9, 30)


def test_created_at_is_kept_to_the_millisecond(users):
    add_stream_item(users[0], "ms", T0.replace(microsecond=123456))
    assert get_stream_items(users[0])[0].created_at == T0.replace(microsecond=123000)


def test_created_at_must_be_a_datetime_in_range(users):
    with pytest.raises(TypeError, match="^created_at must be a datetime"):
        add_stream_item(users[0], "x", "yesterday")
    with pytest.raises(TypeError, match="^created_at must be a datetime"):
        add_stream_item(users[0], "x", T0.date())
    for bad in (datetime(1, 1, 1), datetime(1500, 1, 1, tzinfo=timezone.utc), datetime(9999, 12, 31)):
        with pytest.raises(ValueError, match="created_at .* is out of range"):
            add_stream_item(users[0], "x", bad)
    assert len(get_stream_items(users[0])) == 0


# -- users -------------------------------------------------------------------


def test_bad_users_are_refused_naming_the_argument(users):
    cases = [
        (None, TypeError, "^user_or_users must be a user"),
        ("u0", TypeError, "^user_or_users must be a user"),
        (users[0].pk, TypeError, "^user_or_users must be a user"),
        ([users[0], "u1"], TypeError, r"^user_or_users\[1\] must be an instance of auth.User"),
        (Group.objects.all(), TypeError, "^user_or_users must be a queryset of auth.User"),
        (User(username="unsaved"), ValueError, "^user_or_users: user .* is not saved"),
        ([users[1], User(username="unsaved")], ValueError, r"^user_or_users\[1\]: user .* is not saved"),
    ]
    for value, error, message in cases:
        with pytest.raises(error, match=message):
            add_stream_item(value, "x", T0)
    # nothing was stored, not even for the valid users listed first
    assert [len(get_stream_items(u)) for u in users] == [0] * 5


def test_get_stream_items_needs_a_saved_user(users):
    with pytest.raises(TypeError, match="^user must be an instance of auth.User"):
        get_stream_items(AnonymousUser())
    with pytest.raises(TypeError, match="^user must be an instance of auth.User"):
        get_stream_items(users[0].pk)
    with pytest.raises(ValueError, match="^user: user .* is not saved"):
        get_stream_items(User(username="unsaved"))


# -- configuration -----------------------------------------------------------


def test_the_feed_group_can_be_renamed(users, settings):
    settings.USER_STREAMS_FEED = "news_items"
    add_stream_item(users[0], "renamed", T0)
    assert contents(get_stream_items(users[0])) == ["renamed"]
    assert get_backend().feed_length(f"news_items:{users[0].pk}") == 1
    assert get_backend().feed_length(f"user_stream:{users[0].pk}") == 0


def test_a_non_flat_feed_group_is_refused(users, settings):
    settings.STREAM_FEEDS = {**settings.STREAM_FEEDS, "user_stream": "aggregated"}
    with pytest.raises(
        ImproperlyConfigured, match="USER_STREAMS_FEED 'user_stream' names a feed group of type 'aggregated'"
    ):
        add_stream_item(users[0], "x", T0)


class RemoteBackend(BaseBackend):
    name = "remote"
    is_remote = True
    client = None


def test_a_remote_backend_is_refused_with_a_hint(users, settings):
    settings.STREAM_BACKEND = "tests.test_streams.RemoteBackend"
    with pytest.raises(ImproperlyConfigured, match="USER_STREAMS_BACKEND"):
        add_stream_item(users[0], "x", T0)
    with pytest.raises(ImproperlyConfigured, match="needs a local backend"):
        get_stream_items(users[0])


class ListBackend:
    """A custom backend, as django-user-streams lets sites write."""

    calls: ClassVar[list] = []
    items: ClassVar[dict] = {}

    def add_stream_item(self, users, content, created_at):
        self.calls.append((users, content, created_at))
        for user in users:
            self.items.setdefault(user.pk, []).insert(0, StreamItem(content, created_at))

    def get_stream_items(self, user):
        return self.items.get(user.pk, [])


@pytest.fixture
def list_backend(settings):
    settings.USER_STREAMS_BACKEND = "tests.test_streams.ListBackend"
    ListBackend.calls, ListBackend.items = [], {}
    return ListBackend


def test_a_custom_backend_class_gets_the_calls(users, list_backend, settings):
    add_stream_item(users[0], "custom", T0)
    everyone = User.objects.filter(pk__in=[users[1].pk, users[2].pk])
    add_stream_item(everyone, "custom 2")
    (one, content, when), (many, _, default_time) = list_backend.calls
    assert one == [users[0]] and content == "custom" and when == T0
    assert many is everyone  # handed over as given, lazily
    assert default_time.tzinfo is not None
    assert contents(get_stream_items(users[0])) == ["custom"]
    assert contents(get_stream_items(users[2])) == ["custom 2"]
    settings.USER_STREAMS_BACKEND = None
    assert list(get_stream_items(users[0])) == []


def test_a_custom_backend_gets_now_in_the_configured_mode(users, list_backend, settings):
    settings.USE_TZ = False
    settings.TIME_ZONE = "Asia/Tokyo"
    add_stream_item(users[0], "local")
    settings.USER_STREAMS_USE_UTC = True
    add_stream_item(users[0], "utc")
    (_, _, local), (_, _, utc) = list_backend.calls
    assert local.tzinfo is None and utc.tzinfo is None
    assert abs(local - utc - timedelta(hours=9)) < timedelta(seconds=5)


def test_a_bad_custom_backend_is_reported(users, settings):
    settings.USER_STREAMS_BACKEND = "tests.nowhere.Backend"
    with pytest.raises(ImproperlyConfigured, match="USER_STREAMS_BACKEND 'tests.nowhere.Backend' cannot be imported"):
        add_stream_item(users[0], "x", T0)
    settings.USER_STREAMS_BACKEND = "tests.test_streams.RemoteBackend"
    with pytest.raises(ImproperlyConfigured, match="has no add_stream_item or get_stream_items method"):
        get_stream_items(users[0])


def test_indexes_past_any_stream_behave_as_on_lists(backend, users):
    """An index or slice bound past what a store's integers hold is past
    the end of every stream: no OverflowError or raw ResponseError."""
    fill(users[0], 3)
    items = get_stream_items(users[0])
    assert contents(items[10**19 :]) == []
    assert contents(items[1 : 10**19]) == ["m1", "m0"]
    with pytest.raises(IndexError, match="stream item index out of range"):
        items[10**19]
