"""
Aggregation formats.

A format decides which group an activity joins in an aggregated feed. It is
either a string in the hosted service's template syntax, evaluated over the
activity's fields::

    '{{ verb }}_{{ time.strftime("%Y-%m-%d") }}'      # the default
    '{{ actor }}_{{ verb }}'
    '{{ target }}'

or a dotted path to (or an instance of) a callable taking the activity dict
and returning the group name.

Inside ``{{ }}`` a field name may be followed by ``.attribute`` lookups and by
a ``.strftime("...")`` call; a missing field renders as an empty string.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, cast

from django.utils.module_loading import import_string

_EXPR = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_TERM = re.compile(r"""^(?P<name>\w+)(?P<attrs>(?:\.\w+)*?)(?:\.strftime\((?P<q>["'])(?P<fmt>[^"']*)(?P=q)\))?$""")
GROUP_MAX_LENGTH = 255


class Template:
    """A compiled aggregation format string."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.parts: list[str | tuple[str, list[str], str | None]] = []
        pos = 0
        for match in _EXPR.finditer(source):
            self.parts.append(source[pos : match.start()])
            term = _TERM.match(match.group(1))
            if term is None:
                raise ValueError(
                    f"cannot evaluate {match.group(0)!r} in {source!r}: use a field "
                    'name, optionally with .attribute lookups and .strftime("...")'
                )
            attrs = [a for a in term.group("attrs").split(".") if a]
            self.parts.append((term.group("name"), attrs, term.group("fmt")))
            pos = match.end()
        self.parts.append(source[pos:])

    def __call__(self, activity: dict[str, Any]) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            name, attrs, fmt = part
            value: Any = activity.get(name)
            for attr in attrs:
                value = value.get(attr) if isinstance(value, dict) else getattr(value, attr, None)
            if fmt is not None:
                value = value.strftime(fmt) if isinstance(value, (date, datetime)) else None
            out.append("" if value is None else str(value))
        return "".join(out)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Template) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)

    def __repr__(self) -> str:
        return f"Template({self.source!r})"


def load_format(value: Any) -> Callable[[dict[str, Any]], str]:
    """Return the callable for an aggregation format setting."""
    if callable(value):
        return cast("Callable[[dict[str, Any]], str]", value)
    if not isinstance(value, str) or not value:
        raise TypeError(f"expected a format string or a dotted path, got {value!r}")
    if "{{" in value:
        return Template(value)
    if re.match(r"^\w+(\.\w+)+$", value):
        func = import_string(value)
        if not callable(func):
            raise TypeError(f"{value!r} is not callable")
        return cast("Callable[[dict[str, Any]], str]", func)
    raise ValueError(f"{value!r} is neither a '{{{{ field }}}}' format nor a dotted path")


def render_group(fmt: Callable[[dict[str, Any]], str], activity: dict[str, Any]) -> str:
    """Return the group name of ``activity`` (at most 255 characters)."""
    return str(fmt(activity))[:GROUP_MAX_LENGTH]
