from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import class_prepared, post_migrate, pre_migrate
from django.utils.translation import gettext_lazy as _


class StreamDjangoConfig(AppConfig):
    name = "stream_django"
    verbose_name = _("Activity feeds")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from stream_django import checks, signals  # noqa: F401  (registers the checks and the resets)

        manager = _feed_manager()
        if manager is not None:
            for model in apps.get_models():
                manager.bind_model(model)
        class_prepared.connect(_bind_late_model, dispatch_uid="stream_django.bind")
        pre_migrate.connect(_migration_started, dispatch_uid="stream_django.pre_migrate")
        post_migrate.connect(_migration_finished, dispatch_uid="stream_django.post_migrate")


def _feed_manager() -> Any:
    """Return ``feed_manager``, or ``None`` if ``STREAM_FEED_MANAGER_CLASS`` is unusable.

    Starting Django must not fail on a bad path: ``manage.py check`` reports
    it (E013, E019), and ``feed_manager`` raises ``ImproperlyConfigured`` at
    first use.
    """
    from stream_django.feed_manager import feed_manager

    try:
        feed_manager.bind_model  # noqa: B018  (creates the instance)
    except ImproperlyConfigured:
        return None
    return feed_manager


def _bind_late_model(sender: Any, **kwargs: Any) -> None:
    manager = _feed_manager()
    if manager is not None:
        manager.bind_model(sender)


def _migration_started(**kwargs: Any) -> None:
    manager = _feed_manager()
    if manager is not None:
        manager._migrating = True


def _migration_finished(**kwargs: Any) -> None:
    manager = _feed_manager()
    if manager is not None:
        manager._migrating = False
