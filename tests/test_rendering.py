"""``{% render_activity %}``: a verb never chooses a path, and one odd
activity never takes a page down unless the policy is ``"fail"``."""

from __future__ import annotations

import logging

import pytest
from django.template import Context, Template, TemplateDoesNotExist

pytestmark = pytest.mark.django_db


def render(text, **context):
    return Template("{% load activity_tags %}" + text).render(Context(context))


def activity(verb, **extra):
    return {"id": "a1", "actor": "ann", "verb": verb, "object": "post:1", **extra}


@pytest.fixture
def templates(tmp_path, settings):
    """A template folder with a template outside ``activity/`` and one in a
    subfolder of it, the targets a verb with ``..`` or ``/`` would reach."""
    (tmp_path / "activity" / "sub").mkdir(parents=True)
    (tmp_path / "secret.html").write_text("SECRET")
    (tmp_path / "activity" / "sub" / "dir.html").write_text("SUBDIR")
    (tmp_path / "activity" / "comment.add.html").write_text("DOTTED")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    return tmp_path


@pytest.mark.parametrize("verb", ["../secret", "sub/dir", "..", ".hidden", "a..b", "", None, 3])
def test_a_verb_that_is_no_template_name_never_chooses_the_path(templates, verb, caplog):
    with caplog.at_level(logging.WARNING):
        html = render("{% render_activity a %}", a=activity(verb))
    assert "SECRET" not in html and "SUBDIR" not in html
    assert 'class="activity activity-fallback"' in html
    assert "is not a template name" in caplog.text
    with pytest.raises(TemplateDoesNotExist, match="is not a template name"):
        render("{% render_activity a '' 'fail' %}", a=activity(verb))


def test_a_dotted_verb_names_its_template(templates):
    assert render("{% render_activity a %}", a=activity("comment.add")) == "DOTTED"


def test_a_prefix_that_is_no_template_name_raises(templates):
    with pytest.raises(ValueError, match="template prefix '../x'"):
        render("{% render_activity a '../x' %}", a=activity("tweet"))


def test_a_verb_without_a_template_renders_the_fallback_under_warn_and_ignore(caplog):
    with caplog.at_level(logging.WARNING):
        html = render("{% render_activity a %}", a=activity("share")).strip()
    assert html == '<span class="activity activity-fallback">ann share post:1</span>'
    assert "activity/share.html" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert render("{% render_activity a '' 'ignore' %}", a=activity("share")).strip() == html
    assert caplog.text == ""
    with pytest.raises(TemplateDoesNotExist, match="activity/share.html"):
        render("{% render_activity a '' 'fail' %}", a=activity("share"))


def test_a_group_without_a_template_renders_the_aggregated_fallback():
    group = {"id": "g1", "verb": "share", "activities": [], "activity_count": 3, "actor_count": 2}
    html = render("{% render_activity g '' 'ignore' %}", g=group).strip()
    assert html == '<span class="activity activity-fallback">3 share (2 actors)</span>'


def test_a_prefixed_fallback_comes_first(templates):
    (templates / "activity" / "homepage_fallback.html").write_text("HOME FALLBACK")
    assert render("{% render_activity a 'homepage' 'ignore' %}", a=activity("share")) == "HOME FALLBACK"
    assert "activity-fallback" in render("{% render_activity a 'liked' 'ignore' %}", a=activity("share"))


def test_one_odd_activity_does_not_take_the_page_down():
    page = [activity("tweet", id="t1"), activity("../secret", id="t2"), activity("share", id="t3")]
    html = render("{% for a in page %}[{% render_activity a %}]{% endfor %}", page=page)
    assert html.count("[") == 3
    assert html.count("activity-fallback") == 2
