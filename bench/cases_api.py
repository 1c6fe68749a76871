"""
The REST API case: a page of 25 enriched activities through
``GET /api/feeds/timeline/<reader>/`` (stream_django.api), next to the same
page read with the Python API, enriched with ``Enrich`` and serialized to
the same JSON by hand, in one run on the same data; first page and a deep
page (``id_lt`` at ``deep_position``).

The request goes through Django's test client (the whole request cycle:
URL resolution, authentication, the permission policy, throttles, the JSON
renderer), signed in with ``force_authenticate`` so no session lookup is
counted; a site with session authentication adds its two session queries.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from bench.cases_db import DB, PAGE, deep_cursor
from bench.measure import Contender, compare, count_queries
from bench.report import Row
from bench.scales import Scale
from stream_django.activity import model_content_type
from stream_django.engine import ids
from stream_django.enrich import Enrich
from stream_django.feeds import get_client

SECTION = "6. REST API: a page of 25 enriched activities (PostgreSQL)"
FIELDS = ("actor", "object", "target")


def _reference(instance: models.Model) -> dict[str, Any]:
    get_url = getattr(instance, "get_absolute_url", None)
    return {
        "id": str(instance.pk),
        "type": model_content_type(type(instance)),
        "str": str(instance),
        "url": get_url() if callable(get_url) else None,
    }


def by_hand(feed: Any, params: dict[str, Any]) -> bytes:
    """The page with the Python API, enriched, and serialized by hand."""
    page = feed.get(**params)
    results = []
    for activity in Enrich(fields=FIELDS).enrich_activities(page["results"]):
        row = dict(activity.activity_data)
        for field in FIELDS:
            value = row.get(field)
            if isinstance(value, models.Model):
                row[field] = _reference(value)
        results.append(row)
    return json.dumps({"results": results, "next": page["next"] or None}, cls=DjangoJSONEncoder).encode()


def api(scale: Scale, info: dict[str, Any], series: dict[str, Any]) -> list[Row]:
    from rest_framework.test import APIClient

    reader = min(info["readers"].items())[1]
    user = get_user_model().objects.get(pk=reader)
    client = APIClient()
    client.force_authenticate(user)
    feed = get_client().feed("timeline", reader)
    deep_id = ids.key_to_id(deep_cursor(f"timeline:{reader}", scale.deep_position))
    rows: list[Row] = []
    medians: dict[str, float] = {}
    for page, extra in (("first", {}), ("deep", {"id_lt": deep_id})):
        params = {"limit": PAGE, **extra}
        url = f"/api/feeds/timeline/{reader}/?" + "&".join(f"{k}={v}" for k, v in params.items())

        def through_api(url: str = url) -> bytes:
            response = client.get(url)
            assert response.status_code == 200, response.content
            return response.content

        got = json.loads(through_api())["results"]
        expected = json.loads(by_hand(feed, params))["results"]
        assert len(got) == PAGE and [a["id"] for a in got] == [a["id"] for a in expected]
        assert [a["object"] for a in got] == [a["object"] for a in expected]
        assert got[0]["actor"]["type"] == "auth.User"

        ours = Contender("REST API", through_api)
        hand = Contender("Python API + by hand", lambda p=params: by_hand(feed, p))
        compare([ours, hand], scale.read_runs, scale.warmup)
        medians[page] = ours.median
        queries = f"{count_queries(through_api)} / {count_queries(by_hand, feed, params)}"
        rows.append(
            Row(
                SECTION,
                f"{page} page",
                "REST API",
                ours.median,
                "Python API + by hand",
                hand.median,
                limit=1.5,
                queries=queries,
            )
        )
    rows.append(
        Row(
            SECTION,
            f"deep page (position {scale.deep_position}) vs first",
            "deep page",
            medians["deep"],
            "first page",
            medians["first"],
            limit=1.3,
        )
    )
    series.setdefault("api", {})[DB] = medians
    return rows
