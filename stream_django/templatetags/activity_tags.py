"""
``{% render_activity activity [template_prefix] [missing_data_policy] %}``

Renders ``activity/<verb>.html`` (``activity/aggregated/<verb>.html`` for a
group) with ``activity`` in the context; a prefix gives
``activity/<prefix>_<verb>.html``. An activity whose references could not be
enriched renders as nothing, and the policy says what else happens:
``"warn"`` (log a warning, the default), ``"ignore"`` or ``"fail"`` (raise
``MissingDataException``).
"""

from __future__ import annotations

import logging
from typing import Any, cast

from django import template
from django.template import Context, loader

from stream_django.exceptions import MissingDataException

logger = logging.getLogger(__name__)
register = template.Library()

LOG = "warn"
IGNORE = "ignore"
FAIL = "fail"

missing_data_policies = [LOG, IGNORE, FAIL]


def handle_not_enriched_data(activity: Any, policy: str) -> None:
    message = f"could not enrich field(s) {activity.not_enriched_data!r} for activity #{activity.get('id')}"
    if policy == IGNORE:
        return
    if policy == FAIL:
        raise MissingDataException(message)
    if policy == LOG:
        logger.warning(message)
        return
    raise TypeError(f"{policy} is not a valid missing_data_policy; use one of {missing_data_policies}")


@register.simple_tag(takes_context=True)
def render_activity(context: Any, activity: Any, template_prefix: str = "", missing_data_policy: str = LOG) -> str:
    if missing_data_policy not in missing_data_policies:
        raise TypeError(f"{missing_data_policy} is not a valid missing_data_policy; use one of {missing_data_policies}")
    if hasattr(activity, "enriched") and not activity.enriched:
        handle_not_enriched_data(activity, missing_data_policy)
        return ""
    prefix = f"{template_prefix}_" if template_prefix else ""
    folder = "activity/aggregated" if "activities" in activity else "activity"
    tmpl = loader.get_template(f"{folder}/{prefix}{activity['verb']}.html")
    values = cast("dict[str, Any]", context.flatten()) if isinstance(context, Context) else dict(context)
    values["activity"] = activity
    return tmpl.render(values)
