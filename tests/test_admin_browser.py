"""
The feed inspector in a real browser: headless Chromium against a live
server, signed in through the admin's login form.

Skipped when playwright or Chromium is missing; failed instead in CI.
``STREAM_INSPECTOR_SCREENSHOT=docs/screenshots/inspector.png`` writes the
screenshot shown in docs/operations.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.db import connections

from example_project.browser import browser_unavailable, open_browser
from stream_django.client import stream_client
from tests.contract.helpers import act
from tests.services import required

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser(monkeypatch):
    reason = browser_unavailable()
    if reason is not None:
        if required():
            pytest.fail(f"browser unavailable: {reason} - required in CI", pytrace=False)
        pytest.skip(f"browser unavailable: {reason}")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with open_browser() as context:
        try:
            yield context
        finally:
            # Inside Playwright's sync API the test runs in a context of its
            # own, where Django's context-local connections are new ones:
            # close them here, or the test database cannot be dropped at the
            # end of the session (PostgreSQL: "is being accessed by other
            # users").
            connections.close_all()


def test_the_inspector_in_a_browser(live_server, browser, django_user_model, tmp_path):
    user = django_user_model.objects.create_user(username="operator", password="pw-operator", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_failedoperation"]))
    stream_client.feed("timeline", 1).follow("user", 2)
    stream_client.feed("timeline", 1).follow("user", 3)
    stream_client.feed("user", 2).add_activity(act(1, actor="auth.User:2", to=["notification:3"]))
    stream_client.feed("user", 3).add_activity(act(2, actor="auth.User:3", verb="like"))
    stream_client.feed("user", 4).add_activity(act(3, actor="auth.User:4"))
    page = browser.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/stream_django/failedoperation/inspector/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "pw-operator")
    page.click("input[type=submit]")
    page.fill("#id_feed", "timeline:1")
    page.fill("#id_activity", "testapp.Tweet:3")
    page.click("input[value=Inspect]")
    page.wait_for_selector("#page")
    assert page.locator("#page tbody tr").count() == 2
    assert page.locator("#located").inner_text().count("user:4") >= 1
    assert "timeline:1 does not follow user:4" in page.locator(".reasons").inner_text()
    target = Path(os.environ.get("STREAM_INSPECTOR_SCREENSHOT") or tmp_path / "inspector.png")
    target.parent.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(target), full_page=True)
    page.close()
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
