"""
Screenshots of the running demo for the docs.

    make demo                      # in one terminal (seeded data)
    python -m example_project.screenshots --url http://127.0.0.1:8000

writes docs/screenshots/{timeline,timeline-aggregated,notifications,profile}.png.
Opening the notifications page marks them seen, as it does for a person.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from example_project.browser import (
    browser_unavailable,
    open_browser,
    sign_in,
    take_screenshots,
)

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def main(argv: list[str] | None = None) -> int:
    """Take the screenshots; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="address of the running demo")
    parser.add_argument("--user", default="ann", help="user to sign in as (default ann)")
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR, help="output folder")
    args = parser.parse_args(argv)
    reason = browser_unavailable()
    if reason:
        print(f"Cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    base_url = args.url.rstrip("/")
    with open_browser() as browser:
        page = browser.new_page()
        sign_in(page, base_url, args.user)
        for path in take_screenshots(page, base_url, args.user, args.out):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
