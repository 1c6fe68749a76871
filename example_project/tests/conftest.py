"""
Fixtures of the example site's tests.

Run from the repository root with the example's settings::

    pytest --ds=example_project.settings example_project/tests

Every test uses a transactional database: model tracking publishes when a
transaction commits, so the tests let the requests commit as they would in
production instead of wrapping them in a transaction that never does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from stream_django.backends import reset_backend

# pytest-django's live server (the browser test) listens on this address.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")


@pytest.fixture(autouse=True)
def _committing_db(transactional_db: Any, settings: Any) -> None:
    settings.DEMO_MODE = True
    reset_backend()


@pytest.fixture
def make_user() -> Callable[..., Any]:
    """Return a function creating a user from a first name."""

    def make(first_name: str, **fields: Any) -> Any:
        return get_user_model().objects.create_user(
            username=first_name.lower(), first_name=first_name, last_name="Test", **fields
        )

    return make


@pytest.fixture
def ann(make_user: Callable[..., Any]) -> Any:
    return make_user("Ann")


@pytest.fixture
def bob(make_user: Callable[..., Any]) -> Any:
    return make_user("Bob")


@pytest.fixture
def cara(make_user: Callable[..., Any]) -> Any:
    return make_user("Cara")
