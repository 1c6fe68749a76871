import pytest

from stream_django.signals import reset_cached_state
from tests.redis_support import (  # noqa: F401 - fixtures
    redis_cluster,
    redis_cluster_settings,
    redis_server,
    redis_settings,
)
from tests.stream_api_support import endpoint  # noqa: F401 - fixture


@pytest.fixture(autouse=True)
def _fresh_backend():
    """Each test starts with a backend built from its own settings."""
    reset_cached_state()
    yield
    reset_cached_state()


@pytest.fixture
def ann(django_user_model):
    return django_user_model.objects.create(username="ann")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create(username="bob")
