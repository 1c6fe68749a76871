"""The django-user-streams API (stream_django.streams) on every local backend."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext

from stream_django.conf import DATABASE_BACKEND
from stream_django.streams import StreamItem, add_stream_item, get_stream_items

BACKENDS = ["database", "redis", "redis_cluster"]

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(params=BACKENDS)
def backend(request, settings, db):
    if request.param == "database":
        settings.STREAM_BACKEND = DATABASE_BACKEND
    elif request.param in ("redis", "redis_cluster"):
        request.getfixturevalue(f"{request.param}_settings")
    else:  # pragma: no cover - each other backend adds its own branch
        raise AssertionError(request.param)
    return request.param


@pytest.fixture
def users(backend):
    User.objects.bulk_create([User(username=f"u{i}") for i in range(5)])
    return list(User.objects.order_by("pk"))


def contents(items):
    return [i.content for i in items]


def test_single_user(users):
    add_stream_item(users[0], "hello", T0)
    (item,) = list(get_stream_items(users[0]))
    assert item == StreamItem(content="hello", created_at=T0)
    assert list(get_stream_items(users[1])) == []


def test_newest_first_whatever_the_order_of_adding(users):
    for minutes in (2, 0, 1):
        add_stream_item(users[0], f"m{minutes}", T0 + timedelta(minutes=minutes))
    assert contents(get_stream_items(users[0])) == ["m2", "m1", "m0"]


def test_list_and_queryset_broadcasts(users):
    add_stream_item(users[:2], "to a list", T0)
    add_stream_item(User.objects.filter(username__in=["u2", "u3"]), "to a queryset", T0 + timedelta(seconds=1))
    assert [contents(get_stream_items(u)) for u in users] == [["to a list"], ["to a list"], ["to a queryset"], ["to a queryset"], []]


def test_empty_queryset_adds_nothing(users):
    add_stream_item(User.objects.none(), "nobody", T0)
    assert all(len(get_stream_items(u)) == 0 for u in users)


def test_broadcast_cost_does_not_grow_per_user(backend, settings):
    if backend != "database":
        pytest.skip("counts SQL statements (Redis round trips: tests/backends/test_redis.py)")
    settings.STREAM_FANOUT_CHUNK_SIZE = 500
    User.objects.bulk_create([User(username=f"b{i}") for i in range(2000)])
    few = User.objects.filter(username__in=["b1", "b2", "b3"])
    with CaptureQueriesContext(connection) as small:
        add_stream_item(few, "three", T0)
    with CaptureQueriesContext(connection) as big:
        add_stream_item(User.objects.filter(username__startswith="b").exclude(pk__in=few), "many", T0)
    # one read of the ids, then one transaction per chunk of 500 ids, each
    # the same few statements (SQLite splits a 500-row insert in two)
    statements = [q["sql"].split()[0] for q in big.captured_queries]
    assert statements.count("SAVEPOINT") == 4  # 1,997 users in chunks of 500
    blocks, current = [], 0
    for statement in statements[1:]:
        if statement == "SAVEPOINT":
            current = 0
        elif statement == "RELEASE":
            blocks.append(current)
        else:
            current += 1
    assert len(blocks) == 4 and len(set(blocks)) == 1 and blocks[0] <= 3
    assert len(small.captured_queries) <= 6
    last = User.objects.get(username="b1999")
    assert contents(get_stream_items(last)) == ["many"]
    from stream_django.models import StoredActivity

    assert StoredActivity.objects.filter(data__contains='"many"').count() == 1


def test_identical_messages_are_separate_items(users):
    add_stream_item(users[0], "same", T0)
    add_stream_item(users[0], "same", T0)
    assert contents(get_stream_items(users[0])) == ["same", "same"]


def test_slicing_len_and_paginator_are_one_query_each(backend, users):
    # Redis round trips are counted in tests/backends/test_redis.py.
    queries = 1 if backend == "database" else 0
    user = users[0]
    for n in range(30):
        add_stream_item(user, f"m{n}", T0 + timedelta(seconds=n))
    items = get_stream_items(user)
    with CaptureQueriesContext(connection) as ctx:
        assert len(items) == 30
    assert len(ctx.captured_queries) == queries
    with CaptureQueriesContext(connection) as ctx:
        assert contents(items[:3]) == ["m29", "m28", "m27"]
    assert len(ctx.captured_queries) == queries
    assert contents(items[27:]) == ["m2", "m1", "m0"]
    assert contents(items[28:40]) == ["m1", "m0"]
    assert items[0].content == "m29"
    assert items[29].content == "m0"
    with pytest.raises(IndexError):
        items[30]
    with pytest.raises(ValueError, match="Negative"):
        items[-1]
    with pytest.raises(ValueError, match="Negative"):
        items[-3:]
    with pytest.raises(ValueError):
        items[::2]
    page = Paginator(get_stream_items(user), 10).page(3)
    assert contents(page.object_list) == [f"m{n}" for n in range(9, -1, -1)]
    assert page.paginator.num_pages == 3


def test_unicode_and_content_as_given(users):
    text = "naïve <b>bold</b> & 日本語 🎉\n  spaced  "
    add_stream_item(users[0], text, T0)
    item = get_stream_items(users[0])[0]
    assert item.content == text
    rendered = Template("{{ item.content }}").render(Context({"item": item}))
    assert "<b>" not in rendered and "&lt;b&gt;bold&lt;/b&gt;" in rendered


def test_default_time_is_now(users):
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    add_stream_item(users[0], "now")
    created = get_stream_items(users[0])[0].created_at
    assert before <= created <= datetime.now(timezone.utc)
    assert created.tzinfo is not None


def test_without_use_tz_times_are_local_naive(users, settings):
    settings.USE_TZ = False
    settings.TIME_ZONE = "Europe/Amsterdam"
    add_stream_item(users[0], "local", datetime(2026, 7, 1, 14, 0))
    assert get_stream_items(users[0])[0].created_at == datetime(2026, 7, 1, 14, 0)
    add_stream_item(users[1], "now")
    now = datetime.now()
    assert abs(get_stream_items(users[1])[0].created_at - now) < timedelta(seconds=5)


def test_without_use_tz_and_with_use_utc_times_are_naive_utc(users, settings):
    settings.USE_TZ = False
    settings.TIME_ZONE = "Europe/Amsterdam"
    settings.USER_STREAMS_USE_UTC = True
    add_stream_item(users[0], "utc", datetime(2026, 7, 1, 14, 0))
    assert get_stream_items(users[0])[0].created_at == datetime(2026, 7, 1, 14, 0)
    add_stream_item(users[1], "now")
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    assert abs(get_stream_items(users[1])[0].created_at - now) < timedelta(seconds=5)


def test_times_keep_milliseconds(users):
    add_stream_item(users[0], "ms", T0.replace(microsecond=123456))
    assert get_stream_items(users[0])[0].created_at == T0.replace(microsecond=123000)


class ListBackend:
    """A custom backend, as django-user-streams lets sites write."""

    items: dict = {}

    def add_stream_item(self, users, content, created_at):
        for user in users:
            self.items.setdefault(user.pk, []).insert(0, StreamItem(content, created_at))

    def get_stream_items(self, user):
        return self.items.get(user.pk, [])


def test_a_custom_backend_class(users, settings):
    settings.USER_STREAMS_BACKEND = "tests.test_streams.ListBackend"
    ListBackend.items = {}
    add_stream_item(users[0], "custom", T0)
    add_stream_item(User.objects.filter(pk=users[1].pk), "custom 2")
    assert contents(get_stream_items(users[0])) == ["custom"]
    assert contents(get_stream_items(users[1])) == ["custom 2"]
    settings.USER_STREAMS_BACKEND = None
    assert list(get_stream_items(users[0])) == []


def test_bad_input(users):
    with pytest.raises(TypeError, match="content"):
        add_stream_item(users[0], 42)
    with pytest.raises(TypeError, match="user_or_users"):
        add_stream_item(None, "x")
    with pytest.raises(TypeError, match="user_or_users"):
        add_stream_item(["u0"], "x")
    with pytest.raises(TypeError, match="created_at"):
        add_stream_item(users[0], "x", "yesterday")
    with pytest.raises(TypeError, match="user"):
        get_stream_items(3)
    assert list(get_stream_items(users[0])) == []
