"""The timeline: /api/timeline and the chart on the search page."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import numpy as np

from search_web.settings import Limits
from search_web.whoosh_engine import timeline_buckets


def _stamps(*days: str) -> np.ndarray:
    return np.array([int(dt.datetime.fromisoformat(d).replace(tzinfo=dt.UTC).timestamp()) for d in days])


def test_interval_follows_the_span():
    limits = Limits()
    assert timeline_buckets(_stamps("2021-06-01", "2021-06-20"), limits)["interval"] == "day"
    assert timeline_buckets(_stamps("2021-01-01", "2021-12-20"), limits)["interval"] == "week"
    assert timeline_buckets(_stamps("2015-01-01", "2021-12-20"), limits)["interval"] == "month"
    assert timeline_buckets(_stamps("1950-01-01", "2021-12-20"), limits)["interval"] == "year"
    assert timeline_buckets(np.array([], dtype=np.int64), limits) == {"interval": "day", "buckets": [], "spikes": []}


def test_buckets_are_continuous_and_count_everything():
    days = ["2021-01-04", "2021-01-06", "2021-03-01", "2021-03-07", "2021-03-08", "2021-11-30"]
    timeline = timeline_buckets(_stamps(*days), Limits())
    starts = [dt.date.fromisoformat(b["start"]) for b in timeline["buckets"]]
    assert all(day.weekday() == 0 for day in starts)  # weeks start on Monday
    assert all((b - a).days == 7 for a, b in itertools.pairwise(starts))
    assert sum(b["count"] for b in timeline["buckets"]) == len(days)
    assert timeline["buckets"][0] == {"start": "2021-01-04", "count": 2}
    months = timeline_buckets(_stamps("2019-12-31", "2021-06-15"), Limits(timeline_spike_min_count=1))
    assert months["interval"] == "week"
    years = timeline_buckets(_stamps("2001-05-05", "2020-02-29", "2020-12-31"), Limits())
    assert years["interval"] == "month" and years["buckets"][0]["start"] == "2001-05-01"
    assert years["buckets"][-1] == {"start": "2020-12-01", "count": 1}


def test_a_burst_after_a_quiet_stretch_is_a_spike():
    quiet = [f"2021-0{m}-1{d}" for m in range(1, 7) for d in range(1)]  # one a month
    burst = ["2021-07-10"] * 8
    timeline = timeline_buckets(_stamps(*quiet, *burst, "2021-08-10"), Limits())
    assert timeline["interval"] == "week"
    assert timeline["spikes"] == ["2021-07-05"]


def test_api_timeline_matches_the_search(client):
    search = client.get("/api/search?q=facial+recognition&collapse=0&per_page=50").get_json()
    timeline = client.get("/api/timeline?q=facial+recognition").get_json()
    assert set(timeline) == {"interval", "buckets", "spikes"}
    assert timeline["interval"] in ("day", "week", "month", "year")
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", b["start"]) for b in timeline["buckets"])
    assert set(timeline["spikes"]) <= {b["start"] for b in timeline["buckets"]}
    dated = (
        search["total"] - client.get("/api/search?q=facial+recognition&collapse=0&to=1900-01-01").get_json()["total"]
    )
    undated = search["total"] - sum(b["count"] for b in timeline["buckets"])
    assert undated >= 0 and dated >= sum(b["count"] for b in timeline["buckets"])
    narrowed = client.get("/api/timeline?q=facial+recognition&from=2019-12-01&to=2019-12-31").get_json()
    assert narrowed["interval"] == "day"
    assert (
        sum(b["count"] for b in narrowed["buckets"])
        == client.get("/api/search?q=facial+recognition&collapse=0&from=2019-12-01&to=2019-12-31").get_json()["total"]
    )
    assert client.get("/api/timeline?from=yesterday").status_code == 400


def test_page_draws_the_chart_with_links_and_a_text_alternative(client):
    page = client.get("/?q=power+apps").get_data(as_text=True)
    assert "<svg" in page and "<script" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert 'id="timeline-summary"' in page and "Matches per" in page
    bars = re.findall(r'<a href="([^"]+)" aria-label="([^"]+)" class="bar', page)
    assert bars and all("from=" in href and "to=" in href for href, _ in bars)
    assert any("(spike)" in label for _, label in bars) == ('class="bar spike"' in page)
