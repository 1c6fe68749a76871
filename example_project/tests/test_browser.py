"""
The demo in a real browser: headless Chromium against the site served by
uvicorn, as ``make demo`` serves it (the ``asgi_site`` fixture). The live
updates between two people are in test_live.py.

Skipped when the playwright package or Chromium is missing; failed instead
when ``CI`` (or ``STREAM_REQUIRE_SERVICES``) is set, as for the servers in
``tests/services.py``.
"""

import pytest

from example_project.browser import (
    PHONE_VIEWPORT,
    SCREENSHOT_PAGES,
    SCREENSHOT_SIZES,
    browser_unavailable,
    open_browser,
    sign_in,
    take_screenshots,
)
from example_project.social.models import Follow, Like, Post
from tests.services import required

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def require_browser() -> None:
    """Skip (or, in CI, fail) unless playwright and Chromium are there."""
    reason = browser_unavailable()
    if reason is None:
        return
    if required():
        pytest.fail(f"browser unavailable: {reason} - required in CI", pytrace=False)
    pytest.skip(f"browser unavailable: {reason}")


@pytest.fixture
def browser(monkeypatch):
    # Playwright's synchronous API runs an event loop in this thread; the
    # test's own database queries are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with open_browser() as context:
        yield context


def test_follow_post_like_and_notify(asgi_site, make_user, tmp_path, request):
    require_browser()
    from playwright.sync_api import expect

    browser = request.getfixturevalue("browser")

    make_user("Ann")
    bob = make_user("Bob")
    base = asgi_site
    page = browser.new_page()
    text = "Hello from Bob, posted in a browser"

    # Ann follows Bob from his profile.
    sign_in(page, base, "ann")
    page.goto(f"{base}/users/bob/")
    page.click('button[data-action="follow"]')
    expect(page.locator('button[data-action="unfollow"]')).to_be_visible()

    # Bob posts; Ann's follow is his first notification.
    sign_in(page, base, "bob")
    expect(page.locator("#notification-badge")).to_have_text("1")
    page.fill("#post-form textarea", text)
    page.click("#post-form button[type=submit]")
    expect(page.locator('article[data-verb="post"]').first).to_contain_text(text)

    # Ann sees the post in her timeline and likes it.
    sign_in(page, base, "ann")
    post = page.locator('article[data-verb="post"]', has_text=text)
    expect(post).to_be_visible()
    post.locator('button[data-action="like"]').click()
    liked = page.locator('article[data-verb="post"]', has_text=text)
    expect(liked.locator('button[data-action="unlike"]')).to_be_visible()
    expect(liked).to_contain_text("1 like")

    # Bob's badge counts the like; the notifications page shows it.
    sign_in(page, base, "bob")
    expect(page.locator("#notification-badge")).to_have_text("2")
    page.click("#nav-notifications")
    expect(page.locator(".notification").first).to_contain_text("Ann Test liked your post")
    expect(page.locator("#notification-summary")).to_have_text("2 new, 2 unread")
    page.locator(".notification").first.locator("button", has_text="Mark as read").click()
    expect(page.locator("#notification-summary")).to_have_text("0 new, 1 unread")

    files = take_screenshots(page, base, "bob", tmp_path)
    assert [f.stem for f in files] == [f"{name}{suffix}" for name in SCREENSHOT_PAGES for suffix in SCREENSHOT_SIZES]
    for file in files:
        data = file.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000

    assert Follow.objects.filter(user__username="ann", target=bob).exists()
    assert Like.objects.filter(user__username="ann", post__in=Post.objects.filter(user=bob, text=text)).exists()


def test_delete_asks_first_and_a_phone_sees_every_tab(asgi_site, make_user, request):
    require_browser()
    from playwright.sync_api import expect

    browser = request.getfixturevalue("browser")
    ann = make_user("Ann")
    Post.objects.create(user=ann, text="A post to think twice about")
    base = asgi_site
    page = browser.new_page()
    sign_in(page, base, "ann")
    post = page.locator('article[data-verb="post"]', has_text="A post to think twice about")
    expect(post).to_be_visible()
    expect(post.locator('button[data-action="like"]')).to_have_count(0)  # not on your own post

    # Cancelling the confirmation keeps the post.
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    post.locator('button[data-action="delete"]').click()
    expect(post).to_be_visible()
    assert asked == ["Delete this post? Its likes go with it."]
    assert Post.objects.filter(user=ann).exists()

    # Accepting it deletes the post.
    page.once("dialog", lambda dialog: dialog.accept())
    post.locator('button[data-action="delete"]').click()
    expect(page.locator(".message")).to_have_text("Post deleted.")
    expect(post).to_have_count(0)
    assert not Post.objects.filter(user=ann).exists()

    # At phone width every tab of the navigation is on screen.
    page.set_viewport_size(PHONE_VIEWPORT)
    page.goto(f"{base}/timeline/")
    tabs = page.locator("nav.tabs a")
    expect(tabs).to_have_text(["Timeline", "Aggregated", "Notifications", "People", "Profile"])
    for i in range(tabs.count()):
        expect(tabs.nth(i)).to_be_in_viewport(ratio=1)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
