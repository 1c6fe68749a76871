"""The README's examples run as written."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models.signals import post_delete, post_save
from django.template import Context, Template, TemplateDoesNotExist

from stream_django.activity import Activity, model_content_type
from stream_django.enrich import Enrich
from stream_django.feed_manager import feed_manager
from tests.testapp.models import Like, Tweet

pytestmark = pytest.mark.django_db(transaction=True)

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def block(first_line: str) -> str:
    """Return the fenced code block of the README that starts with ``first_line``."""
    for indent, body in re.findall(r"^( *)```\w*\n(.*?)^\1```", README, flags=re.DOTALL | re.MULTILINE):
        body = textwrap.dedent(body) if indent else body  # a block inside a list item
        if body.startswith(first_line):
            return body
    raise AssertionError(f"no README block starts with {first_line!r}")


@pytest.fixture
def readme_pin():
    """The README's ``Pin`` model, renamed ``ReadmePin``, with its table."""
    namespace = {"__name__": "tests.testapp.models", "settings": settings, "models": models, "Activity": Activity}
    exec(block("class Pin(").replace("class Pin(", "class ReadmePin("), namespace)
    model = namespace["ReadmePin"]
    with connection.schema_editor() as editor:
        editor.create_model(model)
    yield model
    with connection.schema_editor() as editor:
        editor.delete_model(model)
    uid = f"stream_django:{model_content_type(model)}"
    post_save.disconnect(sender=model, dispatch_uid=uid)
    post_delete.disconnect(sender=model, dispatch_uid=uid)
    del apps.all_models["testapp"]["readmepin"]
    apps.clear_cache()


def test_the_pin_example_publishes_its_board(readme_pin, ann):
    pin = readme_pin.objects.create(author=ann, board="recipes")
    (activity,) = feed_manager.get_user_feed(ann.id).get()["results"]
    assert activity["actor"] == f"auth.User:{ann.id}"
    assert activity["verb"] == "readmepin"
    assert activity["object"] == f"testapp.ReadmePin:{pin.pk}"
    assert activity["board"] == "recipes"
    assert activity["time"].tzinfo is not None  # as the hooks table says


@pytest.fixture
def readme_templates(tmp_path, settings):
    """The README's ``like`` templates, found before the repository's own."""
    for first_line in ("{# templates/activity/aggregated/like.html #}", "{# templates/activity/liked_like.html #}"):
        path = tmp_path / first_line.split()[1].removeprefix("templates/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block(first_line))
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]


def test_the_aggregated_like_template_renders_with_its_liked_template(readme_templates, django_user_model):
    ann, bob, cara, dan = (django_user_model.objects.create(username=n) for n in ("ann", "bob", "cara", "dan"))
    tweet = Tweet.objects.create(user=ann, text="hello")
    for liker in (cara, dan, bob):
        Like.objects.create(user=liker, tweet=tweet)
    page = feed_manager.get_notification_feed(ann.id).get(limit=25)
    groups = Enrich().enrich_aggregated_activities(page["results"])
    html = Template("{% load activity_tags %}{% render_activity group %}").render(Context({"group": groups[0]}))
    assert " ".join(html.split()) == 'bob and 2 others liked ann\'s tweet "hello"'


def test_a_missing_aggregated_template_renders_the_fallback_or_raises_naming_its_path(caplog):
    group = {"id": "x", "verb": "share", "activities": [], "activity_count": 0, "actor_count": 0}
    html = Template("{% load activity_tags %}{% render_activity group %}").render(Context({"group": group}))
    assert "activity-fallback" in html
    assert "activity/aggregated/share.html" in caplog.text
    with pytest.raises(TemplateDoesNotExist, match="activity/aggregated/share.html"):
        Template("{% load activity_tags %}{% render_activity group '' 'fail' %}").render(Context({"group": group}))


def test_bulk_writes_publish_through_the_tracking_receiver(ann):
    """The README's recipe for ``bulk_create`` and ``QuerySet.update``."""
    Tweet.objects.bulk_create([Tweet(user=ann, text="unpublished")])
    assert feed_manager.get_user_feed(ann.id).get()["results"] == []  # Django sent no post_save
    Tweet.objects.all().delete()
    recipe = block("with transaction.atomic():\n    tweets = Tweet.objects.bulk_create(")
    exec(
        recipe,
        {"transaction": transaction, "Tweet": Tweet, "feed_manager": feed_manager, "ann": ann, "texts": ["a", "b"]},
    )
    results = feed_manager.get_user_feed(ann.id).get()["results"]
    assert sorted(a["object"] for a in results) == sorted(f"testapp.Tweet:{t.pk}" for t in Tweet.objects.all())
    assert [a["text_length"] for a in results] == [6, 6]  # len("edited"): the update was published


def test_the_aggregated_template_that_reuses_the_flat_one(tmp_path, settings):
    (tmp_path / "activity" / "aggregated").mkdir(parents=True)
    (tmp_path / "activity" / "aggregated" / "share.html").write_text(
        block("{# templates/activity/aggregated/share.html #}")
    )
    (tmp_path / "activity" / "share.html").write_text("[{{ activity.text }}]")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    members = [{"verb": "share", "text": "b"}, {"verb": "share", "text": "a"}]
    group = {"id": "x", "verb": "share", "activities": members, "activity_count": 2}
    html = Template("{% load activity_tags %}{% render_activity group %}").render(Context({"group": group}))
    assert html.split() == ["[b][a]"]
