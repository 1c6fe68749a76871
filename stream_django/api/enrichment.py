"""
Enrichment of a page for the REST API: references become serialized objects.

``PageEnricher`` loads the ``actor``, ``object`` and ``target`` references of
a whole page through ``Enrich`` (one query per model class), then serializes
the instances of each model class with one serializer call: the model's
entry of ``STREAM_API_SERIALIZERS``, else ``STREAM_API_DEFAULT_SERIALIZER``.
A reference whose object no longer exists leaves its activity out of the
page (``STREAM_API_MISSING_REFERENCES = "omit"``, the default) or becomes
``{"id", "type", "str": None, "url": None, "missing": True}`` (``"mark"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.module_loading import import_string

from stream_django.activity import model_content_type
from stream_django.conf import stream_settings
from stream_django.enrich import Enrich, EnrichedActivity

FIELDS = ("actor", "object", "target")
MISSING_POLICIES = ("omit", "mark")


def serializer_for(label: str) -> type[Any]:
    """Return the serializer class configured for the model ``label``."""
    path = stream_settings.API_SERIALIZERS.get(label) or stream_settings.API_DEFAULT_SERIALIZER
    try:
        return import_string(path)
    except ImportError as e:
        raise ImproperlyConfigured(f"the API serializer {path!r} of {label} cannot be imported: {e}") from e


def missing_policy() -> str:
    policy = stream_settings.API_MISSING_REFERENCES
    if policy not in MISSING_POLICIES:
        raise ImproperlyConfigured(f"STREAM_API_MISSING_REFERENCES must be one of {MISSING_POLICIES}, not {policy!r}")
    return policy


class PageEnricher:
    """Enriches and serializes the activities of one page."""

    enrich_class = Enrich

    def __init__(self, context: dict[str, Any] | None = None, fields: Sequence[str] = FIELDS) -> None:
        self.context = context or {}
        self.fields = fields
        self.policy = missing_policy()

    def activities(self, activities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Return the activities of a flat feed page, enriched and serialized."""
        enriched = self.enrich_class(fields=self.fields).enrich_activities(activities)
        return self._serialize(enriched)

    def groups(self, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Return the groups of an aggregated page with their activities enriched.

        Under the ``omit`` policy a group whose activities all lost a
        reference is left out too; its counts are the stored ones.
        """
        enriched = self.enrich_class(fields=self.fields).enrich_aggregated_activities(groups)
        flat = [a for g in enriched for a in g["activities"]]
        serialized = iter(self._serialize(flat, keep_positions=True))
        out = []
        for group in enriched:
            kept = [a for a in (next(serialized) for _ in group["activities"]) if a is not None]
            if not kept and group["activities"] and self.policy == "omit":
                continue
            out.append({**group, "activities": kept})
        return out

    def _serialize(self, activities: list[EnrichedActivity], keep_positions: bool = False) -> list[Any]:
        instances: dict[str, dict[Any, models.Model]] = {}
        for activity in activities:
            for field in self.fields:
                value = activity.get(field)
                if isinstance(value, models.Model):
                    instances.setdefault(model_content_type(type(value)), {})[value.pk] = value
        data: dict[tuple[str, Any], Any] = {}
        for label, by_pk in instances.items():
            rows = serializer_for(label)(list(by_pk.values()), many=True, context=self.context).data
            for pk, row in zip(by_pk, rows):
                data[label, pk] = row
        out: list[Any] = []
        for activity in activities:
            row = dict(activity.activity_data)
            if activity.not_enriched_data:
                if self.policy == "omit":
                    if keep_positions:
                        out.append(None)
                    continue
                for field, reference in activity.not_enriched_data.items():
                    label, _, pk = reference.partition(":")
                    row[field] = {"id": pk, "type": label, "str": None, "url": None, "missing": True}
            for field in self.fields:
                value = row.get(field)
                if isinstance(value, models.Model):
                    row[field] = data[model_content_type(type(value)), value.pk]
            out.append(row)
        return out
