"""The package's admin: the failure ledger, the fan-out backlog, follows and
the feed inspector, through Django's test client, on every local backend."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from stream_django.client import stream_client
from stream_django.engine import serializer
from stream_django.models import FailedOperation, FanoutChunk
from tests.contract.helpers import act
from tests.local_backends import LOCAL_BACKENDS, use_backend
from tests.test_fanout import DUMMY

pytestmark = pytest.mark.django_db

LEDGER = "/admin/stream_django/failedoperation/"
BACKLOG = "/admin/stream_django/fanoutchunk/"


@pytest.fixture(params=list(LOCAL_BACKENDS))
def store(request, settings):
    return use_backend(request, settings, request.param)


def staff(django_user_model, *codenames: str):
    user = django_user_model.objects.create_user(username="operator", password="x", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def viewer(client, django_user_model):
    client.force_login(staff(django_user_model, "view_failedoperation", "view_fanoutchunk"))
    return client


@pytest.fixture
def operator(client, django_user_model):
    client.force_login(
        staff(
            django_user_model,
            "view_failedoperation",
            "change_failedoperation",
            "view_fanoutchunk",
            "change_fanoutchunk",
        )
    )
    return client


def failure(n: int, model: str = "testapp.Tweet", operation: str = "add") -> FailedOperation:
    payload = serializer.dumps(act(n, actor="auth.User:1"))
    return FailedOperation.objects.create(
        operation=operation,
        model=model,
        object_pk=str(n),
        feed="user:1",
        payload=payload,
        error="BackendUnavailable: down",
    )


def test_the_views_need_staff_with_the_package_permissions(client, django_user_model):
    inspector = reverse("admin:stream_django_inspector")
    assert client.get(inspector).status_code == 302  # to the login page
    client.force_login(staff(django_user_model))
    assert client.get(inspector).status_code == 403
    assert client.get(reverse("admin:stream_django_follows")).status_code == 403
    assert client.get(LEDGER).status_code == 403


def test_the_ledger_lists_filters_and_is_read_only(viewer):
    failure(1)
    failure(2, model="testapp.Like", operation="remove")
    page = viewer.get(LEDGER).content.decode()
    assert "testapp.Like" in page and "testapp.Tweet" in page
    assert "BackendUnavailable: down" in page
    assert "replay_selected" not in page  # the action needs change_failedoperation
    assert "addlink" not in page
    filtered = viewer.get(LEDGER, {"model": "testapp.Like"}).context["cl"]
    assert [op.model for op in filtered.result_list] == ["testapp.Like"]
    assert viewer.get(LEDGER, {"operation": "remove"}).context["cl"].result_count == 1
    op = FailedOperation.objects.get(object_pk="1")
    detail = viewer.get(f"{LEDGER}{op.id}/change/")
    assert detail.status_code == 200 and b'name="_save"' not in detail.content


def test_replay_selected_replays_through_the_feeds_api(store, operator):
    ok = failure(1, model="")  # a direct write: replayed from its payload
    response = operator.post(LEDGER, {"action": "replay_selected", "_selected_action": [ok.id]}, follow=True)
    assert "Replayed 1 operation." in response.content.decode()
    assert not FailedOperation.objects.exists()
    assert [a["foreign_id"] for a in stream_client.feed("user", 1).get()["results"]] == ["testapp.Tweet:1"]


def test_replay_selected_keeps_what_fails_again(store, operator):
    bad = FailedOperation.objects.create(
        operation="add", model="", object_pk="", feed="user:1", payload='{"verb": "x"}', error="e"
    )
    response = operator.post(LEDGER, {"action": "replay_selected", "_selected_action": [bad.id]}, follow=True)
    assert f"Operation {bad.id} failed again: InputException" in response.content.decode()
    bad.refresh_from_db()
    assert bad.attempts == 2


def test_the_backlog_shows_state_and_age_and_requeues(operator, settings):
    settings.TASKS = DUMMY
    chunk = FanoutChunk.objects.create(steps='[{"op": "add", "source": "user:1", "keys": []}]', error="boom")
    page = operator.get(BACKLOG).content.decode()
    assert "failed" in page and "0h 0m" in page
    response = operator.post(BACKLOG, {"action": "requeue_selected", "_selected_action": [chunk.id]}, follow=True)
    assert "Requeued 1 chunk" in response.content.decode()
    chunk.refresh_from_db()
    assert chunk.error == ""


def test_the_inspector_shows_a_flat_page_and_where_an_activity_is(store, viewer):
    stream_client.feed("timeline", 1).follow("user", 2)
    stream_client.feed("user", 2).add_activity(act(1, actor="auth.User:2", to=["notification:3"]))
    url = reverse("admin:stream_django_inspector")
    page = viewer.get(url, {"feed": "timeline:1"}).content.decode()
    assert "auth.User:2" in page and "testapp.Tweet:1" in page and "user:2" in page
    located = viewer.get(url, {"activity": "testapp.Tweet:1"})
    (found,) = located.context["located"]
    assert found["item"].holders == [("notification:3", None), ("timeline:1", "user:2"), ("user:2", None)]
    assert "(added directly)" in located.content.decode()


def test_the_inspector_says_why_a_feed_does_not_hold_an_activity(store, viewer):
    stream_client.feed("user", 2).add_activity(act(1, actor="auth.User:2"))
    stream_client.feed("timeline", 5).follow("user", 2)
    stream_client.feed("timeline", 5).unfollow("user", 2, keep_history=True)
    stream_client.feed("user", 2).add_activity(act(2, actor="auth.User:2"))
    url = reverse("admin:stream_django_inspector")
    response = viewer.get(url, {"feed": "timeline:4", "activity": "testapp.Tweet:1"})
    (found,) = response.context["located"]
    assert found["reasons"] == ["timeline:4 does not follow user:2, where the activity was added"]
    response = viewer.get(url, {"feed": "timeline:5", "activity": "testapp.Tweet:2"})
    assert response.context["located"][0]["reasons"] == [
        "timeline:5 unfollowed user:2 (keeping its history) before this activity"
    ]
    stream_client.feed("timeline", 6).follow("user", 2, activity_copy_limit=0)
    response = viewer.get(url, {"feed": "timeline:6", "activity": "testapp.Tweet:2"})
    assert "followed user:2 after this activity" in response.context["located"][0]["reasons"][0]


def test_the_inspector_explains_a_pending_chunk(store, viewer):
    stream_client.feed("user", 2).add_activity(act(1, actor="auth.User:2"))
    key = stream_client.feed("user", 2).get()["results"][0]["id"]
    from stream_django.engine import ids

    FanoutChunk.objects.create(steps=f'[{{"op": "add", "source": "user:2", "keys": ["{ids.id_to_key(key)}"]}}]')
    response = viewer.get(reverse("admin:stream_django_inspector"), {"feed": "timeline:1", "activity": key})
    reasons = response.context["located"][0]["reasons"]
    assert reasons[0].startswith("fan-out chunk ") and reasons[0].endswith("is pending (waiting)")


def test_the_inspector_shows_groups_with_counts_and_seen_read(store, viewer):
    stream_client.feed("notification", 1).add_activities(
        [act(1, verb="like"), act(2, verb="like", actor="auth.User:2")]
    )
    stream_client.feed("notification", 1).get(mark_seen=True)
    response = viewer.get(reverse("admin:stream_django_inspector"), {"feed": "notification:1"})
    (group,) = response.context["page"]["results"]
    assert (group["activity_count"], group["actor_count"], group["is_seen"], group["is_read"]) == (2, 2, True, False)
    assert "0 unseen, 1 unread" in response.content.decode()


def test_the_inspector_names_bad_input(store, viewer):
    url = reverse("admin:stream_django_inspector")
    assert "feed &#x27;nope&#x27; is not of the form" in viewer.get(url, {"feed": "nope"}).content.decode()
    assert (
        "No stored activity has this id or foreign id." in viewer.get(url, {"activity": "nothing:1"}).content.decode()
    )


def test_follows_lists_both_directions(store, viewer):
    stream_client.feed("timeline", 1).follow("user", 2)
    stream_client.feed("timeline", 3).follow("user", 1)
    stream_client.feed("timeline", 1).follow("user", 4)
    url = reverse("admin:stream_django_follows")
    response = viewer.get(url, {"feed": "user:1"})
    assert [f["feed_id"] for f in response.context["followers"]] == ["timeline:3"]
    response = viewer.get(url, {"feed": "timeline:1"})
    assert sorted(f["target_id"] for f in response.context["following"]) == ["user:2", "user:4"]
    assert 'href="?feed=user:2"' in response.content.decode()


def test_the_inspector_names_a_recorded_failure_of_the_activity(store, viewer):
    stream_client.feed("user", 2).add_activity(act(1, actor="auth.User:2"))
    failed = FailedOperation.objects.create(
        operation="update",
        model="testapp.Tweet",
        object_pk="1",
        feed="user:2",
        payload=serializer.dumps(act(1, actor="auth.User:2")),
        error="BackendUnavailable: down",
    )
    FailedOperation.objects.create(
        operation="add", model="testapp.Tweet", object_pk="8", feed="user:2", payload="not json", error="e"
    )
    response = viewer.get(
        reverse("admin:stream_django_inspector"), {"feed": "timeline:1", "activity": "testapp.Tweet:1"}
    )
    reasons = response.context["located"][0]["reasons"]
    assert (
        reasons[0]
        == f"a tracking write failed and is recorded (failed operation {failed.id}: BackendUnavailable: down)"
    )


def test_the_inspector_says_the_hosted_service_has_no_activity_search(viewer, settings, monkeypatch):
    monkeypatch.delenv("STREAM_URL", raising=False)
    settings.STREAM_API_KEY = "key"
    settings.STREAM_API_SECRET = "s" * 32
    response = viewer.get(reverse("admin:stream_django_inspector"), {"activity": "testapp.Tweet:1"})
    assert "the getstream backend is a remote engine" in response.context["error"]
