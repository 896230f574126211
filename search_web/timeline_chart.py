"""The timeline as an inline SVG bar chart, drawn on the server (no script).

Each bar links to the search narrowed to its period; spikes are marked with a
triangle and named in each bar's accessible label, and a sentence sums the
chart up for screen readers.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

from search_web.engine import SearchRequest
from search_web.params import url_with

WIDTH = 600
HEIGHT = 80
BASELINE = 79  # y of the bars' feet; TOP leaves room above for the spike marks
TOP = 12
GAP = 1.0


@dataclass
class Bar:
    """One bucket of the chart, positioned in the SVG's coordinates."""

    x: float
    y: float
    width: float
    height: float
    url: str
    label: str
    spike: bool


def _period_end(start: dt.date, interval: str) -> dt.date:
    """The last day of the period that begins on ``start`` (the calendar's last day at the latest)."""
    if interval == "day":
        return start
    if interval == "week":
        return start + dt.timedelta(days=6) if start <= dt.date.max - dt.timedelta(days=6) else dt.date.max
    if interval == "month":
        return dt.date(start.year, start.month, calendar.monthrange(start.year, start.month)[1])
    return dt.date(start.year, 12, 31)


def _period_name(start: dt.date, interval: str) -> str:
    if interval == "day":
        return start.isoformat()
    if interval == "week":
        return f"week of {start.isoformat()}"
    if interval == "month":
        return start.strftime("%B %Y")
    return str(start.year)


def chart(timeline: dict[str, Any] | None, search: SearchRequest) -> dict[str, Any] | None:
    """Bars, axis labels and a text summary for the template, or None when nothing is dated."""
    if not timeline or not timeline["buckets"]:
        return None
    buckets = timeline["buckets"]
    interval = timeline["interval"]
    spikes = set(timeline["spikes"])
    highest = max(b["count"] for b in buckets) or 1
    slot = WIDTH / len(buckets)
    bars = []
    for index, bucket in enumerate(buckets):
        start = dt.date.fromisoformat(bucket["start"])
        end = _period_end(start, interval)
        height = (BASELINE - TOP) * bucket["count"] / highest
        spike = bucket["start"] in spikes
        count = bucket["count"]
        label = f"{_period_name(start, interval)}: {count} {'document' if count == 1 else 'documents'}"
        bars.append(
            Bar(
                x=round(index * slot + GAP / 2, 2),
                y=round(BASELINE - height, 2),
                width=round(max(slot - GAP, 0.5), 2),
                height=round(height, 2),
                url=url_with(search, replace={"from": start.isoformat(), "to": end.isoformat(), "year": ""}),
                label=label + (" (spike)" if spike else ""),
                spike=spike,
            )
        )
    spike_names = [_period_name(dt.date.fromisoformat(s), interval) for s in timeline["spikes"]]
    first = _period_name(dt.date.fromisoformat(buckets[0]["start"]), interval)
    last = _period_name(dt.date.fromisoformat(buckets[-1]["start"]), interval)
    summary = f"Matches per {interval} from {first} to {last}; the busiest {interval} had {highest}."
    if spike_names:
        summary += " Spikes: " + ", ".join(spike_names) + "."
    return {
        "bars": bars,
        "width": WIDTH,
        "height": HEIGHT,
        "baseline": BASELINE,
        "interval": interval,
        "first": buckets[0]["start"],
        "last": buckets[-1]["start"],
        "summary": summary,
    }
