"""A database backend whose server is down fails with a clear error."""

import pytest

from stream_django.client import stream_client
from stream_django.exceptions import BackendUnavailable
from tests.contract.helpers import act


def test_an_unreachable_database_names_the_backend_and_address(settings, django_db_blocker):
    settings.STREAM_BACKEND_OPTIONS = {"using": "unreachable"}  # nothing listens on its port
    with django_db_blocker.unblock():
        with pytest.raises(BackendUnavailable) as info:
            stream_client.feed("user", 1).add_activity(act(1))
        assert "database 'unreachable' (postgresql nothing on 127.0.0.1)" in str(info.value)
        with pytest.raises(BackendUnavailable):
            stream_client.feed("user", 1).get()
