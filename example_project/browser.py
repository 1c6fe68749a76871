"""
Driving the example site in headless Chromium (Playwright's Python API).

Shared by the browser test and ``python -m example_project.screenshots``.
Playwright drives the system's Chromium (``DEMO_CHROMIUM``, default
``/usr/bin/chromium``); it never downloads a browser of its own.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("DEMO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1100, "height": 860}
#: A phone held upright: 390 CSS pixels wide.
PHONE_VIEWPORT = {"width": 390, "height": 844}

#: Screenshot sizes: file name suffix -> viewport.
SCREENSHOT_SIZES = {"": VIEWPORT, "-phone": PHONE_VIEWPORT}

#: The pages shown in the docs: file name -> path (``{username}`` filled in).
SCREENSHOT_PAGES = {
    "timeline": "/timeline/",
    "timeline-aggregated": "/timeline/aggregated/",
    "notifications": "/notifications/",
    "profile": "/users/{username}/",
}


def browser_unavailable() -> str | None:
    """Return why the browser cannot run here, or ``None`` when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (set DEMO_CHROMIUM)"
    return None


@contextmanager
def open_browser() -> Iterator[Any]:
    """Yield a headless Chromium context with a fresh, temporary profile."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="demo-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            user_data_dir=profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()


@contextmanager
def open_contexts(count: int) -> Iterator[list[Any]]:
    """Yield ``count`` browser contexts of one headless Chromium, each with
    cookies of its own: as many people, each signed in as someone else."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(count)]
            for context in contexts:
                context.set_default_timeout(15_000)
            yield contexts
        finally:
            browser.close()


def sign_in(page: Any, base_url: str, username: str) -> None:
    """Sign in as ``username`` on the demo sign-in page."""
    page.goto(f"{base_url}/sign-in/")
    page.locator(f'#demo-users li[data-username="{username}"] button[type=submit]').click()
    page.wait_for_url(f"{base_url}/timeline/")


def take_screenshots(
    page: Any, base_url: str, username: str, directory: Path, sizes: dict[str, dict[str, int]] | None = None
) -> list[Path]:
    """Screenshot each of ``SCREENSHOT_PAGES`` as ``username``; return the files.

    Each page is taken at every size of ``sizes`` (default
    ``SCREENSHOT_SIZES``: desktop ``timeline.png``, phone
    ``timeline-phone.png``), resizing the loaded page rather than reloading
    it, so both show the same state. The notifications page is visited
    after the timelines, so they still show the unseen-notifications badge.
    """
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for name, path in SCREENSHOT_PAGES.items():
        page.goto(base_url + path.format(username=username))
        for suffix, viewport in (sizes or SCREENSHOT_SIZES).items():
            page.set_viewport_size(viewport)
            target = directory / f"{name}{suffix}.png"
            page.screenshot(path=str(target))
            files.append(target)
    page.set_viewport_size(VIEWPORT)
    return files
