"""
``{% render_activity activity [template_prefix] [missing_data_policy] %}``

Renders ``activity/<verb>.html`` (``activity/aggregated/<verb>.html`` for a
group) with ``activity`` in the context; a prefix gives
``activity/<prefix>_<verb>.html``. The policy says what happens to an
activity that cannot be rendered as it should:

- one whose references could not be enriched renders as nothing;
- one whose verb has no template, or is not a template name (``VERB_NAME``:
  a ``/`` or ``..`` never chooses the path), renders the fallback template
  ``activity/[aggregated/][<prefix>_]fallback.html`` (the package ships
  ``activity/fallback.html`` and ``activity/aggregated/fallback.html``).

``"warn"`` (the default) also logs a warning, ``"ignore"`` does not, and
``"fail"`` raises instead (``MissingDataException``, or
``TemplateDoesNotExist`` naming the template), so that one odd activity
takes a page down only when asked to.
"""

from __future__ import annotations

import logging
import re
from typing import Any, cast

from django import template
from django.template import Context, TemplateDoesNotExist, loader

from stream_django.exceptions import MissingDataException

logger = logging.getLogger(__name__)
register = template.Library()

LOG = "warn"
IGNORE = "ignore"
FAIL = "fail"

missing_data_policies = [LOG, IGNORE, FAIL]

#: What a verb, or a template prefix, must be to name a template: letters,
#: digits, ``_`` and ``-``, in parts joined by single dots (no ``/``, no
#: ``..``, no leading dot).
VERB_NAME = re.compile(r"[\w-]+(?:\.[\w-]+)*")
#: The name of the fallback template, in place of the verb.
FALLBACK = "fallback"


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


def activity_template(activity: Any, template_prefix: str = "", missing_data_policy: str = LOG) -> Any:
    """Return the template ``render_activity`` renders ``activity`` with.

    A verb without a template, or one that cannot name a template, gives
    the fallback template, with a warning under ``"warn"``; under ``"fail"``
    it raises ``TemplateDoesNotExist``.
    """
    if template_prefix and not VERB_NAME.fullmatch(str(template_prefix)):
        raise ValueError(f"template prefix {template_prefix!r} is not a template name: use letters, digits, _ or -")
    prefix = f"{template_prefix}_" if template_prefix else ""
    folder = "activity/aggregated" if "activities" in activity else "activity"
    verb = activity.get("verb")
    try:
        if not isinstance(verb, str) or not VERB_NAME.fullmatch(verb):
            raise TemplateDoesNotExist(
                f"{folder}/{prefix}<verb>.html: verb {verb!r} of activity #{activity.get('id')} is not a "
                "template name (letters, digits, _ and -, in parts joined by single dots)"
            )
        return loader.get_template(f"{folder}/{prefix}{verb}.html")
    except TemplateDoesNotExist as e:
        if missing_data_policy == FAIL:
            raise
        if missing_data_policy == LOG:
            logger.warning(
                "render_activity: no template for activity #%s (%s); rendering the fallback", activity.get("id"), e
            )
        return loader.select_template([f"{folder}/{prefix}{FALLBACK}.html", f"{folder}/{FALLBACK}.html"])


@register.simple_tag(takes_context=True)
def render_activity(context: Any, activity: Any, template_prefix: str = "", missing_data_policy: str = LOG) -> str:
    if missing_data_policy not in missing_data_policies:
        raise TypeError(f"{missing_data_policy} is not a valid missing_data_policy; use one of {missing_data_policies}")
    if hasattr(activity, "enriched") and not activity.enriched:
        handle_not_enriched_data(activity, missing_data_policy)
        return ""
    tmpl = activity_template(activity, template_prefix, missing_data_policy)
    values = cast("dict[str, Any]", context.flatten()) if isinstance(context, Context) else dict(context)
    values["activity"] = activity
    return cast(str, tmpl.render(values))
