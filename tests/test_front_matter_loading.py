"""Front matter read by the fast loader (nodes built directly) gives exactly PyYAML's values."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer import news
from tests.conftest import require_corpus
from tests.test_front_matter_properties import scalars

pytestmark = pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="PyYAML built without libyaml")


def typed(value: Any) -> Any:
    """``value`` with the type of every part spelt out (1, 1.0 and True are equal in Python)."""
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    return (type(value).__name__, repr(value))


def load(loader: type, raw: str) -> Any:
    """The typed value, or the error's type and message."""
    instance = loader(raw)
    try:
        return typed(instance.get_single_data())
    except (yaml.YAMLError, ValueError, TypeError, AttributeError, OverflowError) as exc:
        # PyYAML's constructors fail with the latter on odd timestamps and numbers (load_front_matter says so).
        return ("error", type(exc).__name__, str(exc))
    finally:
        instance.dispose()


def assert_same_as_pyyaml(raw: str) -> None:
    assert load(news._FastLoader, raw) == load(yaml.CSafeLoader, raw), raw


def test_every_corpus_record_reads_the_same():
    read = 0
    for path in sorted(require_corpus().rglob("*")):
        if path.suffix not in (".md", ".txt") or not path.is_file():
            continue
        text = path.read_text("utf-8", errors="replace")
        if not news.looks_like_news(text):
            continue
        raw = news.split_front_matter(text)[0]
        assert_same_as_pyyaml(raw)
        assert typed(news.load_front_matter(text)[0]) == load(yaml.CSafeLoader, raw)
        read += 1
    assert read >= 10


@pytest.mark.parametrize(
    "raw",
    [
        "title: China\npublishedDateTime: 2024-03-01T10:00:00+02:00\nheat: 3\nquality: 0.5\n",
        "date: 2024-03-01\nflag: yes\nnothing: ~\nempty:\nbig: 0x1F\nsci: 1e3\nneg: -.inf\n",
        "related:\n  - title: A\n    topics: [x, y]\n  - {title: B, heat: 2}\n",
        "<<: {title: merged, heat: 1}\nexcerpt: own\n",
        "base:\n  <<: {a: 1}\n  b: 2\n",
        "=: value key\ntitle: t\n",
        "1: int key\n2.5: float key\ntrue: bool key\n~: null key\n",
        "? [a, b]\n: unhashable key\n",
        "? {a: 1}\n: unhashable key\n",
        "title: dup\ntitle: second wins\n",
        "'quoted': 'it''s'\n\"double\": \"tab\\there\"\nblock: |\n  line one\n  line two\n",
        "just a string",
        "- a\n- b\n",
        "",
        "title: [unclosed\n",
        "set: !!set {a, b}\nbinary: !!binary aGVsbG8=\nomap: !!omap [{a: 1}]\n",
    ],
)
def test_edge_cases_read_the_same(raw):
    assert_same_as_pyyaml(raw)


values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=4),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(record=st.dictionaries(st.text(max_size=10), values, max_size=8), flow=st.booleans())
def test_generated_records_read_the_same(record, flow):
    assert_same_as_pyyaml(yaml.safe_dump(record, default_flow_style=flow, allow_unicode=True))
