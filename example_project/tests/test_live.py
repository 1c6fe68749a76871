"""
Live updates in a real browser: the site served by uvicorn (as ``make
demo`` serves it), two people in two browser contexts; one acts, the other
sees it on the open page, without a reload.

Skipped when the playwright package or Chromium is missing; failed instead
when ``CI`` (or ``STREAM_REQUIRE_SERVICES``) is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from example_project.browser import open_contexts, sign_in
from example_project.social.models import Follow, Like, Post
from example_project.tests.test_browser import require_browser

#: A post whose text a page must show as text, never run or render as HTML.
HOSTILE = 'Live from Bob <img src=x onerror="window.__xss=1"><script>window.__xss=2</script><b>bold</b>'


@pytest.fixture
def two_people(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    require_browser()
    # Playwright's synchronous API runs an event loop in this thread; the
    # test's own database queries are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with open_contexts(2) as contexts:
        yield contexts


def watch(page: Any) -> None:
    """Mark the page's window, to tell later that it was never reloaded."""
    page.evaluate("window.__live_marker = 'still the same page'")


def not_reloaded(page: Any) -> bool:
    return page.evaluate("window.__live_marker") == "still the same page"


def test_a_post_appears_on_a_followers_open_timeline_and_the_badge_counts_up(asgi_site, make_user, two_people):
    from playwright.sync_api import expect

    ann, bob = make_user("Ann"), make_user("Bob")
    Follow.objects.create(user=ann, target=bob)
    Post.objects.create(user=ann, text="Ann's older post")
    ann_page, bob_page = (context.new_page() for context in two_people)

    sign_in(ann_page, asgi_site, "ann")
    expect(ann_page.locator("#notification-badge")).to_have_count(0)
    expect(ann_page.locator('article[data-verb="post"]')).to_have_count(1)
    watch(ann_page)

    # Bob posts (in his own browser): the post appears on top of Ann's open
    # timeline, its text shown as text.
    sign_in(bob_page, asgi_site, "bob")
    bob_page.fill("#post-form textarea", HOSTILE)
    bob_page.click("#post-form button[type=submit]")
    expect(bob_page.locator(".message")).to_have_text("Posted.")
    live = ann_page.locator(".feed-item").first.locator('article[data-verb="post"]')
    expect(live).to_contain_text(HOSTILE, timeout=10_000)
    expect(live).to_contain_text("Bob Test posted")
    expect(live.locator('button[data-action="like"]')).to_be_visible()  # rendered as the page renders it
    assert live.locator("img, script, b").count() == 0
    assert ann_page.evaluate("window.__xss") is None
    expect(ann_page.locator('article[data-verb="post"]')).to_have_count(2)

    # Bob follows Ann, then likes her post: her badge counts 1, then 2.
    bob_page.goto(f"{asgi_site}/users/ann/")
    bob_page.click('button[data-action="follow"]')
    expect(bob_page.locator('button[data-action="unfollow"]')).to_be_visible()
    expect(ann_page.locator("#notification-badge")).to_have_text("1", timeout=10_000)
    bob_page.locator('article[data-verb="post"]', has_text="Ann's older post").locator(
        'button[data-action="like"]'
    ).click()
    expect(bob_page.locator('button[data-action="unlike"]')).to_be_visible()
    expect(ann_page.locator("#notification-badge")).to_have_text("2", timeout=10_000)
    expect(ann_page.locator("#notification-badge")).to_have_attribute("data-unread", "2")

    # Each live change appeared once, on the page that was never reloaded.
    expect(ann_page.locator('article[data-verb="post"]', has_text="Live from Bob")).to_have_count(1)
    assert not_reloaded(ann_page)
    assert ann_page.url == f"{asgi_site}/timeline/"
    assert Like.objects.filter(user=bob, post__user=ann).count() == 1


def test_an_open_page_catches_up_after_the_server_restarts(make_user, two_people, _committing_db):
    """The stream drops when the server stops; the page reconnects on its
    own when it is back and shows what was posted meanwhile."""
    from django.db import connection
    from playwright.sync_api import expect

    from example_project.asgi_server import free_port, uvicorn_server

    ann, _ = make_user("Ann"), make_user("Bob")
    Follow.objects.create(user=ann, target=_)
    env = {"DJANGO_SETTINGS_MODULE": "example_project.settings", "DEMO_DB": str(connection.settings_dict["NAME"])}
    port = free_port()
    ann_page, bob_page = (context.new_page() for context in two_people)
    with uvicorn_server("example_project.asgi:application", env, port=port) as site:
        sign_in(ann_page, site, "ann")
        sign_in(bob_page, site, "bob")
        watch(ann_page)
    # The server is down: Ann's page keeps trying. Bob posts once it is back.
    with uvicorn_server("example_project.asgi:application", env, port=port) as site:
        bob_page.goto(f"{site}/timeline/")
        bob_page.fill("#post-form textarea", "Posted after the restart")
        bob_page.click("#post-form button[type=submit]")
        expect(ann_page.locator('article[data-verb="post"]', has_text="Posted after the restart")).to_have_count(
            1, timeout=40_000
        )
    assert not_reloaded(ann_page)
