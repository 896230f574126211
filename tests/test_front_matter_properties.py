"""Property-based tests: no generated front matter makes parsing or a build crash."""

from __future__ import annotations

import datetime as dt

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.corpus import ParsedFile, assemble, parse_file
from indexer.documents import validate
from indexer.sources import SourceFile
from indexer.store.schema import to_fields

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=60),
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())),
    st.dates(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
KEYS = [
    "title",
    "excerpt",
    "publishedDateTime",
    "sourceUrl",
    "webUrl",
    "originalUrl",
    "url",
    "ampUrl",
    "provider",
    "topics",
    "related",
    "quality",
    "authors",
    "date",
]
records = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), values, max_size=10)
raw_texts = st.text(max_size=300)


def _parse(tmp_path, name: str, content: bytes) -> ParsedFile:
    path = tmp_path / name
    path.write_bytes(content)
    return parse_file(SourceFile(tmp_path, name, path))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=records, body=raw_texts)
def test_generated_front_matter_never_crashes(tmp_path, record, body):
    try:
        front = yaml.safe_dump(record, allow_unicode=True)
    except yaml.YAMLError:
        return
    parsed = _parse(tmp_path, "gen.md", f"---\n{front}---\n{body}".encode("utf-8", "surrogatepass"))
    if parsed.skipped is None:
        validate(parsed.documents)  # parse_file only returns valid documents
        for doc in assemble([parsed]).documents:
            fields = to_fields(doc)
            assert isinstance(fields["title"], str) and fields["title"]
            assert doc.published is None or (isinstance(doc.published, dt.datetime) and doc.published.tzinfo is None)
    else:
        assert parsed.skipped


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=400) | raw_texts.map(lambda t: ("---\n" + t).encode("utf-8", "surrogatepass")))
def test_arbitrary_bytes_never_crash(tmp_path, content):
    parsed = _parse(tmp_path, "any.txt", content)
    assert parsed.skipped or parsed.documents


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(records, min_size=1, max_size=4))
def test_build_of_generated_records_never_crashes(tmp_path_factory, records):
    from indexer.build import NothingIndexed, run_build

    folder = tmp_path_factory.mktemp("gen")
    for number, record in enumerate(records):
        try:
            front = yaml.safe_dump(record, allow_unicode=True)
        except yaml.YAMLError:
            continue
        (folder / f"{number}.md").write_text(f"---\n{front}---\n", "utf-8", errors="surrogatepass")
    try:
        summary = run_build([folder], folder / "ix")
    except NothingIndexed:
        return
    assert summary.documents_indexed >= 1
