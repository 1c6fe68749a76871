"""
Enrichment: turn the model references of activities back into instances.

``Enrich().enrich_activities(activities)`` loads every ``"app.Model:pk"``
reference of the enriched fields (``actor`` and ``object`` by default) with
one query per model class, and replaces the references by the instances.
References that cannot be loaded stay as they are and are listed in the
activity's ``not_enriched_data``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, MutableMapping, Sequence
from typing import Any

from django.apps import apps
from django.db import models

DEFAULT_FIELDS = ("actor", "object")


class EnrichedActivity(MutableMapping):
    """A dict-like activity that remembers which references failed to load."""

    def __init__(self, activity_data: dict[str, Any]) -> None:
        self.activity_data = activity_data
        self.not_enriched_data: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        return self.activity_data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.activity_data[key] = value

    def __delitem__(self, key: str) -> None:
        del self.activity_data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.activity_data)

    def __len__(self) -> int:
        return len(self.activity_data)

    def __repr__(self) -> str:
        return f"EnrichedActivity(activity_data={self.activity_data}, not_enriched_data={self.not_enriched_data})"

    def track_not_enriched_field(self, field: str, value: Any) -> None:
        self.not_enriched_data[field] = value

    @property
    def enriched(self) -> bool:
        """Whether every reference was loaded."""
        return not self.not_enriched_data


class Enrich:
    """Loads the model instances referenced by activities.

    Subclasses may override ``fetch_model_instances(model, pks)``, or define
    ``fetch_<model name>_instances(pks)`` for one model, and
    ``enrich_instance(instance)`` to change what is injected.
    """

    def __init__(self, fields: Sequence[str] = DEFAULT_FIELDS) -> None:
        self.fields = fields

    def enrich_activities(self, activities: Iterable[dict[str, Any]]) -> list[EnrichedActivity]:
        """Return the activities wrapped and enriched."""
        wrapped = self.wrap_activities(activities)
        objects = self._fetch_objects(self._collect_references(wrapped, self.fields))
        self._inject_objects(wrapped, objects, self.fields)
        return wrapped

    def enrich_aggregated_activities(self, activities: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Enrich the activities inside aggregated groups, in one pass."""
        groups = list(activities)
        references: dict[str, set[str]] = defaultdict(set)
        for group in groups:
            group["activities"] = self.wrap_activities(group["activities"])
            for label, pks in self._collect_references(group["activities"], self.fields).items():
                references[label] |= pks
        objects = self._fetch_objects(references)
        for group in groups:
            self._inject_objects(group["activities"], objects, self.fields)
        return groups

    def wrap_activities(self, activities: Iterable[dict[str, Any]]) -> list[EnrichedActivity]:
        return [a if isinstance(a, EnrichedActivity) else EnrichedActivity(a) for a in activities]

    def is_ref(self, activity: Any, field: str) -> bool:
        """Whether ``activity[field]`` is an ``"app.Model:pk"`` reference."""
        value = activity.get(field)
        return isinstance(value, str) and value.count(":") == 1 and "." in value.split(":")[0]

    def _collect_references(self, activities: Iterable[Any], fields: Sequence[str]) -> dict[str, set[str]]:
        references: dict[str, set[str]] = defaultdict(set)
        for activity in activities:
            for field in fields:
                if self.is_ref(activity, field):
                    label, pk = activity[field].split(":")
                    references[label].add(pk)
        return references

    def fetch_model_instances(self, modelClass: type[models.Model], pks: Iterable[Any]) -> dict[Any, models.Model]:
        """Return ``{pk: instance}`` for the instances of ``modelClass`` among ``pks``."""
        hook = getattr(self, f"fetch_{modelClass._meta.model_name}_instances", None)
        if hook is not None:
            return hook(pks)
        qs = modelClass._default_manager.all()
        related = getattr(modelClass, "activity_related_models", None)
        if related is not None and related() is not None:
            qs = qs.select_related(*related())
        return qs.in_bulk(list(pks))

    def _model(self, label: str) -> type[models.Model] | None:
        try:
            return apps.get_model(label)
        except (LookupError, ValueError):
            return None

    def _fetch_objects(self, references: dict[str, set[str]]) -> dict[str, dict[Any, Any]]:
        objects: dict[str, dict[Any, Any]] = {}
        for label, pks in references.items():
            model = self._model(label)
            if model is None:
                continue
            valid = set()
            for pk in pks:
                try:
                    valid.add(model._meta.pk.to_python(pk))
                except Exception:  # noqa: BLE001 - a malformed reference is left unenriched
                    continue
            objects[label] = self.fetch_model_instances(model, valid) if valid else {}
        return objects

    def _inject_objects(
        self, activities: Iterable[EnrichedActivity], objects: dict[str, dict[Any, Any]], fields: Sequence[str]
    ) -> None:
        for activity in activities:
            for field in fields:
                if not self.is_ref(activity, field):
                    continue
                label, pk = activity[field].split(":")
                model = self._model(label)
                instance = None
                if model is not None:
                    try:
                        instance = objects.get(label, {}).get(model._meta.pk.to_python(pk))
                    except Exception:  # noqa: BLE001 - as above
                        instance = None
                if instance is None:
                    activity.track_not_enriched_field(field, activity[field])
                else:
                    activity[field] = self.enrich_instance(instance)

    def enrich_instance(self, instance: models.Model) -> Any:
        return instance
