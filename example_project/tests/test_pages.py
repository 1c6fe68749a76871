"""The feed pages: timelines, notifications, profiles and people."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from example_project.social.aggregation import timeline_group
from example_project.social.feeds import PAGE_SIZE
from example_project.social.models import Follow, Like, Post
from example_project.tests.helpers import (
    badge,
    notification_counts,
    older_cursor,
    text,
    verbs,
)
from stream_django.exceptions import BackendUnavailable
from stream_django.feed_manager import feed_manager

PAGES = ["timeline", "timeline-aggregated", "notifications", "people"]


@pytest.mark.parametrize("name", PAGES)
def test_pages_need_a_signed_in_user(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("sign-in"))


@pytest.mark.parametrize("name", PAGES)
def test_empty_pages_render(client, ann, name):
    client.force_login(ann)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert badge(response) is None


def test_timeline_renders_every_verb_through_its_template(client, ann, bob, cara):
    client.force_login(ann)
    client.post(reverse("follow", args=["bob"]))
    post = Post.objects.create(user=bob, text="A walk by the river")
    Follow.objects.create(user=bob, target=cara)
    Like.objects.create(user=bob, post=Post.objects.create(user=cara, text="Cara's photo"))
    page = client.get(reverse("timeline"))
    assert verbs(page) == ["like", "follow", "post", "follow"]
    words = text(page)
    assert "Bob Test liked Cara Test's post" in words
    assert "Bob Test started following Cara Test" in words
    assert "Bob Test posted" in words
    assert "A walk by the river" in words
    assert f'href="{reverse("profile", args=["cara"])}"' in page.content.decode()
    assert post.text in words


def test_timeline_pages_older_activities_with_id_lt(client, ann, bob):
    start = timezone.now() - timedelta(hours=1)
    for i in range(PAGE_SIZE + 5):
        Post.objects.create(user=bob, text=f"post number {i}", created_at=start + timedelta(minutes=i))
    client.force_login(ann)
    client.post(reverse("follow", args=["bob"]))
    first = client.get(reverse("timeline"))
    assert len(verbs(first)) == PAGE_SIZE
    cursor = older_cursor(first)
    assert cursor
    second = client.get(reverse("timeline"), {"id_lt": cursor})
    assert older_cursor(second) is None
    # 25 posts and Ann's follow, newest first, without overlap or gap.
    assert len(verbs(first)) + len(verbs(second)) == PAGE_SIZE + 6
    assert "post number 24" in text(first)
    assert "post number 0" in text(second)
    assert "post number 0" not in text(first)


@pytest.mark.parametrize("name", ["timeline", "timeline-aggregated", "notifications"])
def test_a_malformed_cursor_is_a_bad_request(client, ann, name):
    client.force_login(ann)
    response = client.get(reverse(name), {"id_lt": "not-an-id"})
    assert response.status_code == 400
    assert b"id_lt" in response.content


def test_profile_pages_older_activities_with_id_lt(client, ann, bob):
    for i in range(PAGE_SIZE + 1):
        Post.objects.create(user=bob, text=f"post {i}", created_at=timezone.now() - timedelta(minutes=30 - i))
    client.force_login(ann)
    first = client.get(reverse("profile", args=["bob"]))
    second = client.get(reverse("profile", args=["bob"]), {"id_lt": older_cursor(first)})
    assert len(verbs(first)) == PAGE_SIZE
    assert verbs(second) == ["post"]
    assert "post 0" in text(second)


def test_aggregated_timeline_groups_likes_of_a_post(client, make_user, ann, bob):
    post = Post.objects.create(user=bob, text="Popular post")
    likers = [make_user(name) for name in ("Dan", "Eve", "Fay")]
    for liker in likers:
        Follow.objects.create(user=ann, target=liker)
        Like.objects.create(user=liker, post=post)
    client.force_login(ann)
    page = client.get(reverse("timeline-aggregated"))
    assert page.status_code == 200
    assert verbs(page)[0] == "like"
    assert "Fay Test and 2 others liked Bob Test's post" in text(page)
    assert "Popular post" in text(page)


def test_aggregated_timeline_groups_posts_and_follows_by_person(client, make_user, ann, bob):
    for i in range(3):
        Post.objects.create(user=bob, text=f"note {i}")
    client.force_login(ann)
    client.post(reverse("follow", args=["bob"]))
    for name in ("Dan", "Eve", "Fay", "Gus"):
        client.post(reverse("follow", args=[make_user(name).username]))
    page = client.get(reverse("timeline-aggregated"))
    words = text(page)
    assert verbs(page) == ["follow", "post"]
    assert "Bob Test wrote 3 posts" in words
    assert "Ann Test started following Gus Test, Fay Test, Eve Test and 2 others" in words


def test_aggregated_timeline_pages_with_id_lt(client, make_user, ann, bob):
    start = timezone.now() - timedelta(days=PAGE_SIZE + 2)
    client.force_login(ann)
    client.post(reverse("follow", args=["bob"]))
    for day in range(PAGE_SIZE + 1):  # one "Bob wrote a post" group per day
        Post.objects.create(user=bob, text=f"day {day}", created_at=start + timedelta(days=day))
    first = client.get(reverse("timeline-aggregated"))
    assert len(verbs(first)) == PAGE_SIZE
    second = client.get(reverse("timeline-aggregated"), {"id_lt": older_cursor(first)})
    assert len(verbs(second)) == 2  # the oldest post and Ann's follow
    assert "day 0" in text(second)
    assert older_cursor(second) is None


def test_timeline_group_names():
    time = timezone.now()
    like = {"verb": "like", "actor": "auth.User:1", "object": "social.Post:9", "time": time}
    post = {"verb": "post", "actor": "auth.User:1", "object": "social.Post:9", "time": time}
    day = time.strftime("%Y-%m-%d")
    assert timeline_group(like) == f"like_social.Post:9_{day}"
    assert timeline_group(post) == f"post_auth.User:1_{day}"


def test_profile_shows_the_user_feed_and_counts(client, ann, bob, cara):
    Post.objects.create(user=bob, text="Bob's only post")
    Follow.objects.create(user=bob, target=cara)
    Follow.objects.create(user=cara, target=bob)
    client.force_login(ann)
    page = client.get(reverse("profile", args=["bob"]))
    words = text(page)
    assert verbs(page) == ["follow", "post"]
    assert "1 post 1 follower 1 following" in words
    assert 'data-action="follow"' in page.content.decode()
    client.post(reverse("follow", args=["bob"]))
    page = client.get(reverse("profile", args=["bob"]))
    assert 'data-action="unfollow"' in page.content.decode()
    assert "2 followers" in text(page)


def test_own_profile_has_no_follow_button(client, ann):
    client.force_login(ann)
    page = client.get(reverse("profile", args=["ann"]))
    assert page.status_code == 200
    assert 'data-action="follow"' not in page.content.decode()
    assert 'aria-current="page">Profile' in page.content.decode()


def test_a_missing_page_is_the_sites_styled_404(client, ann):
    for signed_in in (False, True):
        if signed_in:
            client.force_login(ann)
        response = client.get("/no/such/page/")
        assert response.status_code == 404
        body = response.content.decode()
        assert "social/site.css" in body
        assert "This page does not exist" in text(response)
        assert "/no/such/page/" in text(response)
        assert ("Back to your timeline" if signed_in else "Back to sign in") in text(response)


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert response.content.startswith(b"\x00\x00\x01\x00")  # an ICO file
    assert 'rel="icon" href="/favicon.ico"' in client.get(reverse("sign-in")).content.decode()


def test_a_fresh_activity_says_just_now(client, ann):
    client.force_login(ann)
    Post.objects.create(user=ann, text="older", created_at=timezone.now() - timedelta(minutes=5))
    client.post(reverse("timeline"), {"text": "fresh"})
    words = text(client.get(reverse("timeline")))
    assert "Ann Test posted · just now" in words
    assert "Ann Test posted · 5 minutes ago" in words
    assert "0 minutes" not in words


def test_profile_of_unknown_user_is_404(client, ann):
    client.force_login(ann)
    assert client.get(reverse("profile", args=["nobody"])).status_code == 404


def test_people_lists_others_with_follow_state(client, ann, bob, cara):
    Follow.objects.create(user=ann, target=bob)
    client.force_login(ann)
    body = client.get(reverse("people")).content.decode()
    assert 'data-username="ann"' not in body
    bob_row = body[body.index('data-username="bob"') : body.index('data-username="cara"')]
    cara_row = body[body.index('data-username="cara"') :]
    assert reverse("unfollow", args=["bob"]) in bob_row
    assert reverse("follow", args=["cara"]) in cara_row


def test_notifications_badge_counts_unseen_until_the_page_is_opened(client, ann, bob, cara):
    post = Post.objects.create(user=bob, text="Bob's news")
    Like.objects.create(user=ann, post=post)
    Like.objects.create(user=cara, post=post)
    Follow.objects.create(user=ann, target=bob)
    client.force_login(bob)
    assert badge(client.get(reverse("timeline"))) == "2"  # one like group, one follow group
    page = client.get(reverse("notifications"))
    words = text(page)
    assert "2 new, 2 unread" in words
    # The newest like names the group; two likes in one millisecond tie.
    assert "Cara Test and 1 other liked your post" in words or "Ann Test and 1 other liked your post" in words
    assert "Ann Test started following you" in words
    assert words.count("new") >= 2
    assert page.content.decode().count('class="notification unread new"') == 2
    # The badge counts what the page shows; opening it marked both groups
    # seen, so the next page's badge is the unread count, in grey.
    assert badge(page) == "2" and "badge badge-muted" not in page.content.decode()
    assert notification_counts(bob) == {"unseen": 0, "unread": 2}
    again = client.get(reverse("notifications"))
    assert again.content.decode().count('class="notification unread"') == 2
    assert "0 new, 2 unread" in text(again)
    assert badge(again) == "2" and "badge badge-muted" in again.content.decode()


def test_the_badge_and_the_new_label_count_the_same_groups(client, ann, bob, cara):
    Like.objects.create(user=ann, post=Post.objects.create(user=bob, text="one"))
    Follow.objects.create(user=ann, target=bob)
    client.force_login(bob)
    client.get(reverse("notifications"))  # both groups seen, still unread
    Like.objects.create(user=cara, post=Post.objects.create(user=bob, text="two"))  # a third group, new
    assert notification_counts(bob) == {"unseen": 1, "unread": 3}
    assert badge(client.get(reverse("timeline"))) == "1"
    page = client.get(reverse("notifications"))
    assert "1 new, 3 unread" in text(page)
    assert badge(page) == "1"  # the number the label calls new, not the unread count
    assert page.content.decode().count('<span class="pill">new</span>') == 1
    assert badge(client.get(reverse("timeline"))) == "3"  # seen now: the unread count, in grey


def test_mark_one_notification_group_read(client, ann, bob):
    Like.objects.create(user=ann, post=Post.objects.create(user=bob, text="one"))
    Follow.objects.create(user=ann, target=bob)
    client.force_login(bob)
    group = feed_manager.get_notification_feed(bob.id).get()["results"][0]
    response = client.post(reverse("notifications-read"), {"group": group["id"]})
    assert response.url == reverse("notifications")
    assert notification_counts(bob)["unread"] == 1
    read = [g for g in feed_manager.get_notification_feed(bob.id).get()["results"] if g["is_read"]]
    assert [g["id"] for g in read] == [group["id"]]


def test_mark_all_notifications_read(client, ann, bob):
    Like.objects.create(user=ann, post=Post.objects.create(user=bob, text="one"))
    Follow.objects.create(user=ann, target=bob)
    client.force_login(bob)
    assert 'id="mark-all-read"' in client.get(reverse("notifications")).content.decode()
    client.post(reverse("notifications-read"), {"all": "1"})
    assert notification_counts(bob) == {"unseen": 0, "unread": 0}
    page = client.get(reverse("notifications"))
    assert badge(page) is None
    assert 'id="mark-all-read"' not in page.content.decode()
    assert "0 new, 0 unread" in text(page)


def test_mark_read_needs_valid_groups(client, bob):
    client.force_login(bob)
    assert client.post(reverse("notifications-read")).status_code == 400
    assert client.post(reverse("notifications-read"), {"group": "nonsense"}).status_code == 400
    assert client.get(reverse("notifications-read")).status_code == 405


def test_notifications_page_older_groups_with_id_lt(client, ann, bob):
    start = timezone.now() - timedelta(hours=2)
    for i in range(PAGE_SIZE + 1):  # each liked post is its own group
        post = Post.objects.create(user=bob, text=f"post {i}", created_at=start + timedelta(minutes=i))
        Like.objects.create(user=ann, post=post, created_at=start + timedelta(minutes=i, seconds=30))
    client.force_login(bob)
    first = client.get(reverse("notifications"))
    assert len(verbs(first)) == PAGE_SIZE
    second = client.get(reverse("notifications"), {"id_lt": older_cursor(first)})
    assert verbs(second) == ["like"]
    assert "post 0" in text(second)


def test_pages_render_without_the_badge_when_the_feeds_are_down(client, ann, monkeypatch):
    def down(*args, **kwargs):
        raise BackendUnavailable("the database cannot be reached")

    client.force_login(ann)
    feed = feed_manager.get_notification_feed(ann.id)
    monkeypatch.setattr(type(feed), "get", down)
    response = client.get(reverse("people"))
    assert response.status_code == 200
    assert badge(response) is None
