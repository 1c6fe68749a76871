"""The seed_demo command."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from example_project.social.models import Follow, Like, Post
from example_project.social.seed import ProgressBar, make_plan, user_names
from stream_django.feed_manager import feed_manager

SMALL = {"users": 6, "posts": 30, "likes": 25}


def counts():
    return (get_user_model().objects.count(), Follow.objects.count(), Post.objects.count(), Like.objects.count())


def test_seed_fills_the_feeds_through_the_models():
    out = StringIO()
    call_command("seed_demo", stdout=out, **SMALL)
    plan = make_plan(**SMALL)
    assert counts() == (6, len(plan.follows), 30, 25)
    output = out.getvalue()
    assert f"posts    [{'#' * 30}] 30/30 100%" in output
    assert "Seeded 6 users" in output
    ann = get_user_model().objects.get(username="ann")
    assert ann.first_name == "Ann"
    assert not ann.has_usable_password()
    # Tracking published every post to its author's feed...
    user_feed = feed_manager.get_user_feed(ann.id).get(limit=100)["results"]
    assert {a["object"] for a in user_feed if a["verb"] == "post"} == {
        f"social.Post:{pk}" for pk in Post.objects.filter(user=ann).values_list("pk", flat=True)
    }
    # ...and the follows made the timelines receive them.
    followed = Follow.objects.filter(user=ann).values_list("target_id", flat=True)
    timeline = feed_manager.get_news_feeds(ann.id)["timeline"].get(limit=100)["results"]
    expected = Post.objects.filter(user_id__in=[ann.id, *followed]).count()
    assert len([a for a in timeline if a["verb"] == "post"]) == expected
    notified = sum(
        feed_manager.get_notification_feed(u.id).get(limit=0)["unread"] for u in get_user_model().objects.all()
    )
    assert notified > 0


def test_a_second_run_adds_nothing():
    call_command("seed_demo", stdout=StringIO(), **SMALL)
    before = counts()
    timeline = feed_manager.get_news_feeds(get_user_model().objects.get(username="ann").id)["timeline"]
    activities = timeline.get(limit=100)["results"]
    out = StringIO()
    call_command("seed_demo", stdout=out, **SMALL)
    assert counts() == before
    assert out.getvalue().strip() == "Nothing to add: the demo data is already there."
    assert timeline.get(limit=100)["results"] == activities


def test_a_run_completes_a_partial_seed():
    call_command("seed_demo", stdout=StringIO(), **SMALL)
    Post.objects.filter(pk__in=list(Post.objects.values_list("pk", flat=True)[:5])).delete()
    call_command("seed_demo", stdout=StringIO(), **SMALL)
    assert Post.objects.count() == 30


def test_the_plan_is_deterministic_and_consistent():
    plan = make_plan(users=10, posts=200, likes=300)
    assert plan == make_plan(users=10, posts=200, likes=300)
    assert len({u[0] for u in plan.users}) == 10
    assert all(follower != followed for follower, followed, _ in plan.follows)
    assert len({(f, t) for f, t, _ in plan.follows}) == len(plan.follows)
    assert len(plan.posts) == 200 and len(plan.likes) == 300
    assert len({(u, p) for u, p, _ in plan.likes}) == 300
    for user, post, age in plan.likes:
        author, _, post_age = plan.posts[post]
        assert user != author
        assert age < post_age  # liked after it was posted


def test_user_names_stay_unique_past_the_name_list():
    names = [u[0] for u in user_names(120)]
    assert len(set(names)) == 120
    assert names[0] == "ann" and names[50] == "ann2"


def test_bad_options_are_refused():
    with pytest.raises(CommandError):
        call_command("seed_demo", users=1, stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("seed_demo", posts=-1, stdout=StringIO())


def test_progress_bar_on_a_terminal_redraws_one_line():
    class Terminal(StringIO):
        def isatty(self):
            return True

    out = Terminal()
    bar = ProgressBar(out, "posts", 4, width=8)
    bar.update(2)
    bar.finish()
    assert out.getvalue().startswith("\rposts    [####----] 2/4  50%\rposts    [########] 4/4 100%")
    assert out.getvalue().count("\n") == 1
