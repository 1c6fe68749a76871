"""
The package without its optional dependencies.

The ``no_extras`` session of ``noxfile.py`` installs the package with no
extra (no django-tasks, redis or stream-python) and runs this module with
the contract suite on the database backend; the other runs check here that
nothing needs more than it declares.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from django.core.management import call_command

import stream_django
from stream_django.client import stream_client
from stream_django.conf import DATABASE_BACKEND
from stream_django.tasks import framework
from tests.contract.helpers import act, fids

#: The modules of the optional extras: only a module of that extra's backend
#: may need one to import.
EXTRA_MODULES = {
    "redis": "redis",
    "stream": "getstream",
    "rest_framework": "api",
    "drf_spectacular": "api",
    "channels": "channels",
}

#: Where the modules of each extra live: its backend, or the REST API.
EXTRA_HOMES = {
    "redis": ".backends.redis",
    "getstream": ".backends.getstream",
    "api": ".api",
    "channels": ".channels",
}


def test_every_module_imports_without_the_extras_it_does_not_serve():
    """django-tasks (the ``tasks`` extra) is imported only when fan-out goes
    to a task backend; Django REST framework and drf-spectacular (the ``api``
    extra) only by the REST API; Channels (the ``channels`` extra) only by
    its consumer; nothing imports django-model-utils."""
    missing = {}
    for module in pkgutil.walk_packages(stream_django.__path__, "stream_django."):
        try:
            importlib.import_module(module.name)
        except ImportError as e:
            missing[module.name] = e.name
    unexpected = {name: dependency for name, dependency in missing.items() if dependency not in EXTRA_MODULES}
    assert unexpected == {}
    for name, dependency in missing.items():
        assert EXTRA_HOMES[EXTRA_MODULES[dependency]] in name, (name, dependency)


@pytest.mark.skipif(
    framework() is not None, reason="a tasks framework is installed (the no_extras nox session has none)"
)
@pytest.mark.django_db
def test_without_a_tasks_framework_fan_out_runs_inline_and_the_checks_pass(settings):
    settings.STREAM_BACKEND = DATABASE_BACKEND
    settings.STREAM_FANOUT_INLINE_LIMIT = 0  # every fan-out would go to the task workers
    for n in range(5):
        stream_client.feed("timeline", n).follow("user", 1)
    stream_client.feed("user", 1).add_activity(act(1))
    assert [fids(stream_client.feed("timeline", n).get()) for n in range(5)] == [["testapp.Tweet:1"]] * 5
    call_command("check", fail_level="WARNING")
