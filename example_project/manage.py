#!/usr/bin/env python
"""Command-line entry point of the example site (``python example_project/manage.py``)."""

import os
import sys
from pathlib import Path


def main() -> None:
    """Run a management command with the example site's settings."""
    # The settings module is ``example_project.settings``: put the repository
    # root on the path so it imports however this script is started.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
