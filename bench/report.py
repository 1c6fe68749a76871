"""Result rows, their targets, and the printed and Markdown tables."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

PASS, MISS = "PASS", "MISS"


@dataclass
class Row:
    """One measured figure and its reference, from the same run.

    ``mode`` says how they compare: ``"ratio"`` is ours / reference (lower
    is better, target ``<= limit``); ``"speedup"`` is reference / ours
    (higher is better, target ``>= limit``).
    """

    section: str
    case: str
    ours_label: str
    ours: float | None
    ref_label: str
    ref: float | None
    unit: str = "ms"
    mode: str = "ratio"
    limit: float | None = None
    queries: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.ref is None or not self.ours or not self.ref:
            return None
        return self.ours / self.ref if self.mode == "ratio" else self.ref / self.ours

    @property
    def target(self) -> str:
        if self.limit is None:
            return ""
        if self.mode == "speedup":
            return f">= {self.limit:g}x faster"
        return f"<= {self.limit:g}x"

    @property
    def result(self) -> str:
        if self.ours is None:
            return self.note or "not run"
        if self.limit is None or self.ratio is None:
            return ""
        ok = self.ratio <= self.limit if self.mode == "ratio" else self.ratio >= self.limit
        return PASS if ok else MISS

    def cells(self) -> list[str]:
        ratio = self.ratio
        if ratio is None:
            ratio_text = ""
        elif self.mode == "speedup":
            ratio_text = f"{ratio:.1f}x faster"
        else:
            ratio_text = f"{ratio:.2f}x"
        return [
            self.case,
            self.ours_label,
            _value(self.ours, self.unit),
            self.ref_label,
            _value(self.ref, self.unit),
            ratio_text,
            self.target,
            self.result,
            self.queries,
        ]


HEADERS = ["case", "ours", "", "reference", "", "ratio", "target", "result", "queries"]


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ms":
        ms = value * 1000
        if ms >= 100:
            return f"{ms:,.0f} ms"
        if ms >= 10:
            return f"{ms:.1f} ms"
        return f"{ms:.2f} ms"
    if unit == "B":
        return f"{value:,.0f} B"
    return f"{value:g} {unit}"


def text_table(rows: list[Row]) -> str:
    """The table printed at the end of a run, one block per section."""
    cells = [HEADERS] + [r.cells() for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADERS))]
    right = {2, 4, 5}

    def line(values: list[str]) -> str:
        parts = [v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths))]
        return "  ".join(parts).rstrip()

    out = [line(HEADERS), "  ".join("-" * w for w in widths)]
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            out.append(f"{section}")
        out.append(line(row.cells()))
    return "\n".join(out)


def markdown_table(rows: list[Row]) -> str:
    out = []
    section = None
    for row in rows:
        if row.section != section:
            if section is not None:
                out.append("")
            section = row.section
            out += [f"**{section}**", "", "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
        cells = [c.replace("|", "\\|") for c in row.cells()]
        if cells[7] in (PASS, MISS):
            cells[7] = f"**{cells[7]}**"
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def summary(rows: list[Row]) -> str:
    judged = [r for r in rows if r.result in (PASS, MISS)]
    missed = [r for r in judged if r.result == MISS]
    return f"{len(judged) - len(missed)} of {len(judged)} targets met" + (
        "; missed: "
        + "; ".join(f"{r.section.split('.')[0]}. {r.case} ({r.ours_label} vs {r.ref_label})" for r in missed)
        if missed
        else ""
    )


def to_json(rows: list[Row], meta: dict[str, Any], series: dict[str, Any]) -> str:
    return json.dumps(
        {
            "meta": meta,
            "rows": [{**asdict(r), "ratio": r.ratio, "target": r.target, "result": r.result} for r in rows],
            "series": series,
        },
        indent=1,
        default=str,
    )
