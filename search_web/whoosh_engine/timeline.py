"""The timeline's arithmetic: matches counted per day, week, month or year, and the spikes among them."""

from __future__ import annotations

from typing import Any

import numpy as np

from search_web.settings import Limits

_DAY = 86400
# Widest span (in days) shown at each interval; wider spans use the next one.
_INTERVAL_SPANS = (("day", 92), ("week", 2 * 366), ("month", 25 * 366))


def timeline_buckets(stamps: np.ndarray, limits: Limits) -> dict[str, Any]:
    """Counts of ``stamps`` (seconds since 1970) per interval, every bucket from first to last.

    The interval follows the span: days up to three months, weeks up to two
    years, months up to 25 years, years beyond. A bucket is a spike when it
    holds at least ``timeline_spike_min_count`` documents and at least
    ``timeline_spike_ratio`` times the mean of the ``timeline_spike_window``
    buckets before it (or of all buckets, for the first one).
    """
    if not stamps.size:
        return {"interval": "day", "buckets": [], "spikes": []}
    days = stamps // _DAY
    span = int(days.max() - days.min())
    interval = next((name for name, widest in _INTERVAL_SPANS if span <= widest), "year")
    starts = _bucket_starts(days.astype("datetime64[D]"), interval)
    unit = {"day": "D", "week": "W", "month": "M", "year": "Y"}[interval]
    step = np.timedelta64(7, "D") if interval == "week" else np.timedelta64(1, unit)
    if interval in ("month", "year"):
        first, last = starts.min().astype(f"datetime64[{unit}]"), starts.max().astype(f"datetime64[{unit}]")
        every = np.arange(first, last + step, step).astype("datetime64[D]")
    else:
        every = np.arange(starts.min(), starts.max() + step, step)
    counts = np.bincount(np.searchsorted(every, starts), minlength=every.size)
    spikes = _spikes(counts, limits)
    return {
        "interval": interval,
        "buckets": [{"start": str(day), "count": int(c)} for day, c in zip(every, counts, strict=True)],
        "spikes": [str(every[i]) for i in spikes],
    }


def _bucket_starts(days: np.ndarray, interval: str) -> np.ndarray:
    if interval == "day":
        return days
    if interval == "week":  # weeks start on Monday; 1970-01-01 was a Thursday
        since_monday = (days.astype(np.int64) + 3) % 7
        return days - since_monday.astype("timedelta64[D]")
    unit = "M" if interval == "month" else "Y"
    return days.astype(f"datetime64[{unit}]").astype("datetime64[D]")


def _spikes(counts: np.ndarray, limits: Limits) -> list[int]:
    spikes = []
    overall = counts.mean()
    for index, count in enumerate(counts):
        before = counts[max(0, index - limits.timeline_spike_window) : index]
        baseline = before.mean() if before.size else overall
        if count >= limits.timeline_spike_min_count and count >= limits.timeline_spike_ratio * max(baseline, 1.0):
            spikes.append(index)
    return spikes
