"""
Screenshots of the running demo for the docs.

    make demo                      # in one terminal (seeded data)
    python -m example_project.screenshots --url http://127.0.0.1:8000

writes docs/screenshots/{timeline,timeline-aggregated,notifications,profile}.png
at desktop width (1100 px) and the same names ending in -phone.png at phone
width (390 px); ``--size desktop`` or ``--size phone`` takes only one.
Opening the notifications page marks them seen, as it does for a person.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from example_project.browser import (
    SCREENSHOT_SIZES,
    browser_unavailable,
    open_browser,
    sign_in,
    take_screenshots,
)

#: ``--size`` choices: name -> file name suffix in ``SCREENSHOT_SIZES``.
SIZE_CHOICES = {"desktop": "", "phone": "-phone"}

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def main(argv: list[str] | None = None) -> int:
    """Take the screenshots; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="address of the running demo")
    parser.add_argument("--user", default="ann", help="user to sign in as (default ann)")
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR, help="output folder")
    parser.add_argument("--size", choices=["all", *SIZE_CHOICES], default="all", help="desktop, phone or all (default)")
    args = parser.parse_args(argv)
    sizes = SCREENSHOT_SIZES
    if args.size != "all":
        suffix = SIZE_CHOICES[args.size]
        sizes = {suffix: SCREENSHOT_SIZES[suffix]}
    reason = browser_unavailable()
    if reason:
        print(f"Cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    base_url = args.url.rstrip("/")
    with open_browser() as browser:
        page = browser.new_page()
        sign_in(page, base_url, args.user)
        for path in take_screenshots(page, base_url, args.user, args.out, sizes):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
