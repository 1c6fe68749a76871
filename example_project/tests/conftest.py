"""
Fixtures of the example site's tests.

Run from the repository root with the example's settings::

    pytest --ds=example_project.settings example_project/tests

Every test uses a transactional database: model tracking publishes when a
transaction commits, so the tests let the requests commit as they would in
production instead of wrapping them in a transaction that never does.

The test database is a SQLite file rather than SQLite's in-memory
database, so that the site served by uvicorn in a child process (the
browser tests, ``asgi_site``) reads and writes the same data as the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from stream_django.backends import reset_backend


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from django.conf import settings

    test = settings.DATABASES["default"].setdefault("TEST", {})
    test["NAME"] = str(tmp_path_factory.mktemp("example-db") / "test.sqlite3")


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


@pytest.fixture
def asgi_site(_committing_db: None) -> Iterator[str]:
    """Serve the example site with uvicorn (``example_project/asgi.py``, as
    ``make demo`` does) on the test database; yield its base URL.

    Writes made in the test process reach the site's pages through the
    shared database, but their feed events stay in this process: what a
    page should see live is done in a browser, on the site.
    """
    from django.db import connection

    from example_project.asgi_server import uvicorn_server

    env = {
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DEMO_DB": str(connection.settings_dict["NAME"]),
        "DEMO_MODE": "1",
    }
    with uvicorn_server("example_project.asgi:application", env) as url:
        yield url
