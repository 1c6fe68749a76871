"""The user-visible strings of the admin and the checks are marked for
translation, and the ``locale/`` catalogue lists every one of them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation

from stream_django.checks.fanout import check_fanout_settings
from tests.services import required

PACKAGE = Path(__file__).resolve().parent.parent / "stream_django"
CATALOGUE = PACKAGE / "locale" / "en" / "LC_MESSAGES" / "django.po"


def msgids(text: str) -> set[str]:
    found = set()
    for block in re.findall(r'^msgid ((?:".*"\n)+)', text, flags=re.MULTILINE):
        found.add("".join(re.findall(r'"(.*)"', block)))
    return found - {""}


def test_the_catalogue_lists_every_marked_string(tmp_path):
    if shutil.which("xgettext") is None:
        if required():
            pytest.fail("xgettext (gettext) is required in CI", pytrace=False)
        pytest.skip("xgettext not found (apt-get install gettext)")
    copy = tmp_path / "stream_django"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("locale", "__pycache__"))
    (copy / "locale").mkdir()
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "en", "--settings=tests.settings"],
        cwd=copy,
        check=True,
        capture_output=True,
        env={"PYTHONPATH": str(PACKAGE.parent), "PATH": "/usr/bin:/bin"},
    )
    fresh = msgids((copy / "locale" / "en" / "LC_MESSAGES" / "django.po").read_text())
    assert fresh == msgids(CATALOGUE.read_text()), "run makemessages -l en in stream_django/"
    assert "Feed inspector" in fresh
    assert "STREAM_FANOUT_CHUNK_SIZE must be a positive int, got %(chunk)r." in fresh


def test_check_messages_are_formatted_from_their_translatable_text(settings):
    settings.STREAM_FANOUT_CHUNK_SIZE = 0
    with translation.override("en"):
        (message,) = check_fanout_settings()
    assert message.msg == "STREAM_FANOUT_CHUNK_SIZE must be a positive int, got 0."
