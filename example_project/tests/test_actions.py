"""Posting, liking, following and deleting, and what each does to the feeds."""

from django.urls import reverse

from example_project.social.models import Follow, Like, Post
from example_project.tests.helpers import feed_objects, notification_counts, text, verbs
from stream_django.activity import create_model_reference
from stream_django.feed_manager import feed_manager


def timeline_of(user):
    return feed_manager.get_news_feeds(user.id)["timeline"]


def test_a_post_reaches_the_author_and_the_followers_timelines(client, ann, bob):
    Follow.objects.create(user=ann, target=bob)
    client.force_login(bob)
    response = client.post(reverse("timeline"), {"text": "Hello from Bob"})
    assert response.status_code == 302
    post = Post.objects.get(user=bob)
    assert post.text == "Hello from Bob"
    ref = create_model_reference(post)
    assert ref in feed_objects(feed_manager.get_user_feed(bob.id))
    assert ref in feed_objects(timeline_of(bob))
    assert ref in feed_objects(timeline_of(ann))
    page = client.get(reverse("timeline"))
    assert "Posted." in text(page)
    assert verbs(page)[0] == "post"
    assert "Bob Test posted" in text(page)


def test_an_empty_or_too_long_post_is_refused(client, bob):
    client.force_login(bob)
    empty = client.post(reverse("timeline"), {"text": "   "})
    assert empty.status_code == 200
    assert "This field is required." in text(empty)
    assert 'action="/timeline/"' in empty.content.decode()
    long = client.post(reverse("timeline"), {"text": "x" * 281})
    assert "at most 280 characters" in text(long)
    assert not Post.objects.exists()
    assert feed_objects(feed_manager.get_user_feed(bob.id)) == []


def test_posting_needs_a_signed_in_user(client, bob):
    response = client.post(reverse("timeline"), {"text": "hi"})
    assert response.url.startswith(reverse("sign-in"))
    assert not Post.objects.exists()


def test_like_notifies_the_author_and_shows_in_the_timelines(client, ann, bob, cara):
    post = Post.objects.create(user=bob, text="Bob's news")
    Follow.objects.create(user=cara, target=ann)
    client.force_login(ann)
    response = client.post(reverse("like", args=[post.pk]), {"next": reverse("timeline")})
    assert response.url == reverse("timeline")
    like = Like.objects.get(user=ann, post=post)
    assert notification_counts(bob) == {"unseen": 1, "unread": 1}
    group = feed_manager.get_notification_feed(bob.id).get()["results"][0]
    assert group["verb"] == "like"
    assert group["activities"][0]["foreign_id"] == create_model_reference(like)
    # Cara follows Ann, so she sees Ann's like (after her own follow).
    client.force_login(cara)
    page = client.get(reverse("timeline"))
    assert verbs(page) == ["like", "follow"]
    assert "Ann Test liked Bob Test's post" in text(page)
    assert "1 like" in text(page)


def test_liked_posts_show_an_unlike_button(client, ann, bob):
    post = Post.objects.create(user=bob, text="Bob's news")
    client.force_login(ann)
    client.post(reverse("follow", args=["bob"]))
    page = client.get(reverse("timeline")).content.decode()
    assert f'action="{reverse("like", args=[post.pk])}"' in page
    client.post(reverse("like", args=[post.pk]))
    page = client.get(reverse("timeline")).content.decode()
    assert f'action="{reverse("unlike", args=[post.pk])}"' in page
    assert 'aria-pressed="true"' in page


def test_liking_twice_keeps_one_like(client, ann, bob):
    post = Post.objects.create(user=bob, text="news")
    client.force_login(ann)
    client.post(reverse("like", args=[post.pk]))
    client.post(reverse("like", args=[post.pk]))
    assert Like.objects.filter(user=ann, post=post).count() == 1
    assert feed_manager.get_notification_feed(bob.id).get()["results"][0]["activity_count"] == 1


def test_you_cannot_like_your_own_post(client, ann, bob):
    own = Post.objects.create(user=ann, text="Ann's news")
    other = Post.objects.create(user=bob, text="Bob's news")
    Follow.objects.create(user=ann, target=bob)
    client.force_login(ann)
    response = client.post(reverse("like", args=[own.pk]))
    assert response.status_code == 400
    assert response.content == b"You cannot like your own post."
    assert not Like.objects.exists()
    assert notification_counts(ann) == {"unseen": 0, "unread": 0}
    page = client.get(reverse("timeline")).content.decode()
    assert f'action="{reverse("like", args=[other.pk])}"' in page
    assert f'action="{reverse("like", args=[own.pk])}"' not in page
    assert f'action="{reverse("unlike", args=[own.pk])}"' not in page


def test_like_of_a_missing_post_is_404(client, ann):
    client.force_login(ann)
    assert client.post(reverse("like", args=[999])).status_code == 404


def test_unlike_removes_the_like_everywhere(client, ann, bob):
    post = Post.objects.create(user=bob, text="news")
    client.force_login(ann)
    client.post(reverse("like", args=[post.pk]))
    assert notification_counts(bob)["unread"] == 1
    client.post(reverse("unlike", args=[post.pk]))
    assert not Like.objects.exists()
    assert notification_counts(bob) == {"unseen": 0, "unread": 0}
    assert feed_objects(feed_manager.get_user_feed(ann.id)) == []


def test_follow_copies_the_targets_activities_and_notifies(client, ann, bob):
    post = Post.objects.create(user=bob, text="before the follow")
    client.force_login(ann)
    response = client.post(reverse("follow", args=["bob"]), {"next": reverse("profile", args=["bob"])})
    assert response.url == reverse("profile", args=["bob"])
    assert Follow.objects.filter(user=ann, target=bob).exists()
    assert create_model_reference(post) in feed_objects(timeline_of(ann))
    group = feed_manager.get_notification_feed(bob.id).get()["results"][0]
    assert group["verb"] == "follow"
    # Ann's own follow shows in her timeline (it follows her user feed).
    page = client.get(reverse("timeline"))
    assert verbs(page) == ["follow", "post"]
    assert "Ann Test started following Bob Test" in text(page)
    assert "You follow Bob Test now." in text(page)


def test_unfollow_removes_the_targets_activities(client, ann, bob):
    post = Post.objects.create(user=bob, text="news")
    client.force_login(ann)
    client.post(reverse("follow", args=["bob"]))
    assert create_model_reference(post) in feed_objects(timeline_of(ann))
    client.post(reverse("unfollow", args=["bob"]))
    assert not Follow.objects.exists()
    assert feed_objects(timeline_of(ann)) == []
    assert notification_counts(bob) == {"unseen": 0, "unread": 0}
    assert feed_manager.get_news_feeds(ann.id)["timeline_aggregated"].get()["results"] == []


def test_follow_twice_is_one_follow(client, ann, bob):
    client.force_login(ann)
    client.post(reverse("follow", args=["bob"]))
    client.post(reverse("follow", args=["bob"]))
    assert Follow.objects.filter(user=ann, target=bob).count() == 1


def test_following_oneself_or_nobody_is_refused(client, ann):
    client.force_login(ann)
    assert client.post(reverse("follow", args=["ann"])).status_code == 400
    assert client.post(reverse("follow", args=["nobody"])).status_code == 404
    assert not Follow.objects.exists()


def test_deleting_a_post_removes_it_from_every_feed(client, ann, bob):
    Follow.objects.create(user=ann, target=bob)
    post = Post.objects.create(user=bob, text="oops")
    Like.objects.create(user=ann, post=post)
    client.force_login(bob)
    response = client.post(reverse("post-delete", args=[post.pk]))
    assert response.status_code == 302
    assert not Post.objects.exists()
    assert not Like.objects.exists()
    ref = create_model_reference(post)
    for feed in (feed_manager.get_user_feed(bob.id), timeline_of(ann), timeline_of(bob)):
        assert ref not in feed_objects(feed)
    groups = feed_manager.get_notification_feed(bob.id).get()["results"]
    assert [g["verb"] for g in groups] == ["follow"]  # Ann's follow; the like is gone


def test_only_the_author_can_delete_a_post(client, ann, bob):
    post = Post.objects.create(user=bob, text="mine")
    client.force_login(ann)
    assert client.post(reverse("post-delete", args=[post.pk])).status_code == 404
    assert Post.objects.filter(pk=post.pk).exists()
    client.force_login(bob)
    page = client.get(reverse("profile", args=["bob"])).content.decode()
    assert reverse("post-delete", args=[post.pk]) in page
    client.force_login(ann)
    page = client.get(reverse("profile", args=["bob"])).content.decode()
    assert reverse("post-delete", args=[post.pk]) not in page
