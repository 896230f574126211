"""Front matter read line by line (``indexer.block_yaml``) gives exactly PyYAML's values, or None.

None sends the text to PyYAML, so the one thing the subset reader must never
do is return a value PyYAML would not: another value, another type, or a
value where PyYAML refuses the text.
"""

from __future__ import annotations

import random

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.generate import Generator
from indexer import block_yaml, news
from indexer.block_yaml import parse_block_yaml
from tests.conftest import require_corpus
from tests.test_front_matter_loading import load, typed
from tests.test_front_matter_properties import records


def read_the_same(raw: str) -> bool:
    """Whether the subset reader took ``raw``; fails when it took it and read it otherwise than PyYAML."""
    ours = parse_block_yaml(raw)
    if ours is None:
        return False
    assert typed(ours) == load(yaml.SafeLoader, raw), raw
    return True


def front_matters(folder) -> list[str]:
    raws = []
    for path in sorted(folder.rglob("*")):
        if path.suffix in (".md", ".txt") and path.is_file():
            text = path.read_text("utf-8", errors="replace")
            if news.looks_like_news(text):
                raws.append(news.split_front_matter(text)[0])
    return raws


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> list[str]:
    folder = tmp_path_factory.mktemp("block-yaml")
    Generator(seed=3, report_share=0.0).write(400, folder)
    return front_matters(folder)


def test_every_corpus_record_reads_the_same_or_goes_to_pyyaml():
    raws = front_matters(require_corpus())
    taken = sum(read_the_same(raw) for raw in raws)
    assert len(raws) >= 10
    assert taken >= 0.5 * len(raws), f"only {taken} of {len(raws)} corpus records in the subset"


def test_generated_records_are_all_in_the_subset_and_read_the_same(generated):
    assert len(generated) >= 300
    assert all(read_the_same(raw) for raw in generated)


IN_SUBSET = [
    "title: China\npublishedDateTime: 2024-03-01T10:00:00+02:00\nheat: 3\nquality: 0.5\n",
    "date: 2024-03-01\nflag: yes\nnothing: ~\nempty:\nbig: 0x1F\nsci: 1e3\nneg: .inf\nnegative: false\n",
    "topics:\n- AI\n- Chips\nafter: 1\n",
    "topics:\n  - AI\n  -\n  - 'it''s'\n",
    "related:\n  - title: A\n    images:\n    - url: x\n      width: 600\n  - title: B\n    heat: 2\n",
    "provider:\n  name: Example\n  domain: example.org\nurl: https://example.org/a?b=c#frag\n",
    'title: ""\nexcerpt: \'\'\nquoted: "a # not a comment: at all"\nplain: a:b c#d\n',
    "title: dup\ntitle: second wins\n",
    "title: non\u00a0breaking\u00ad soft \u00e9\u20ac\U0001f600 text\u00a0\n",
    "\n\ntitle: blank lines around\n\n   \nheat: 1\n\n",
    "topics: [AI, Chips]\nempty: []\nnone: {}\nspaced: [ a , b c ,]\ntight: [a,b:c]\n",
    "numbers: [1, 2.5, yes, ~, 2024-01-02, 2024-01-02T03:04:05Z]\n",
    "provider: {name: Provider 5, domain: provider5.example.com}\nother: {a: 1, b: x y,}\n",
    "related:\n- {title: A, heat: 2}\n- [x, y]\n",
    "a: -1\nb: -x\nc: -.5\nd: ---\ne: [-1, -a]\n",
    'escaped: "tab\\there, \\"quoted\\", back\\\\slash, \\u00e9\\u20ac, \\b\\f\\r\\n"\n',
    "company: AT&T\nshout: Yahoo!\nstars: a*b &c !d\nentity: x &amp; &#39;\n",
]
# YAML beyond the subset (or not YAML): PyYAML reads these, or says what is wrong.
LEFT_TO_PYYAML = [
    "title: first line\n  goes on\n",
    "title: t  # a comment\n",
    "# a comment\ntitle: t\n",
    "topics: [a, [b]]\n",
    "topics: [a, 'b']\n",
    'topics: [a, "b"]\n',
    "topics: [a, , b]\n",
    "topics: [a: b]\n",
    "topics: [a #b]\n",
    "topics: [a,\n  b]\n",
    "provider: {name}\n",
    "provider: {name:X}\n",
    "provider: {name: {a: 1}}\n",
    "provider: {1: x}\n",
    "[a, b]: key\n",
    "body: |\n  line one\n  line two\n",
    "folded: >\n  a\n  b\n",
    'escaped: "x\\x41"\n',
    'escaped: "a\\/b"\n',
    'escaped: "\\ud83d\\ude00"\n',
    'escaped: "\\N \\_ \\L \\e \\0 \\ "\n',
    'escaped: "not closed\\"\n',
    'escaped: "two" "strings\\n"\n',
    'open: "not closed\n  here"\n',
    "tabbed:\tvalue\n",
    "crlf: value\r\nnext: 1\r\n",
    "nel: a\x85b\n",
    "line: a\u2028b\n",
    "bom: \ufeffvalue\n",
    "1: int key\n",
    "yes: bool key\n",
    "<<: {a: 1}\n",
    "=: value key\n",
    "value: <<\n",
    "value: =\n",
    "key with space: v\n",
    "'quoted key': v\n",
    "  indented: first\n",
    "a: 1\n b: 2\n",
    "a:\n    b: 1\n  c: 2\n",
    "a: 1\n- b\n",
    "topics:\n  - a\n  b: 1\n",
    "- a\n- b\n",
    "just a string",
    "",
    "a: b: c\n",
    "a: b:\n",
    "a: @x\n",
    "a: `x`\n",
    "a: %x\n",
    "a: 'unclosed\n",
    "a: 'x' 'y'\n",
    "date: 2024-13-45\n",
    "date: 2024-02-30T10:00:00Z\n",
    "---\ntitle: t\n",
    "title: t\n...\n",
    "%YAML 1.1\ntitle: t\n",
    "? a\n: b\n",
    "- - a\n",
    "a: &anchor 1\nb: *anchor\n",
    "a: !!python/name:os.system\n",
    "a: !!str 1\n",
    "".join(f"{' ' * depth}k{depth}:\n" for depth in range(40)) + " " * 40 + "leaf: 1\n",
]


@pytest.mark.parametrize("raw", IN_SUBSET)
def test_block_front_matter_is_read_as_pyyaml_reads_it(raw):
    assert read_the_same(raw)


@pytest.mark.parametrize("raw", LEFT_TO_PYYAML)
def test_anything_else_is_left_to_pyyaml(raw):
    assert parse_block_yaml(raw) is None


@settings(max_examples=400, deadline=None)
@given(record=records, width=st.sampled_from([40, 80, 10**6]), indent=st.sampled_from([2, 4]))
def test_records_dumped_by_pyyaml_read_the_same_or_go_to_pyyaml(record, width, indent):
    read_the_same(yaml.safe_dump(record, default_flow_style=False, allow_unicode=True, width=width, indent=indent))


MUTATIONS = ["\n", " ", "  ", "-", "- ", ":", ": ", "#", " #", "'", '"', "[", "{", "|", ">", "\\", "~", "0", "\t", "&"]


def mutant(raw: str, rng: random.Random) -> str:
    """``raw`` with one to three random edits: text dropped, inserted or indentation changed."""
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(raw) + 1)
        edit = rng.randrange(3)
        if edit == 0:
            raw = raw[:at] + raw[at + rng.randint(1, 3) :]
        elif edit == 1:
            raw = raw[:at] + rng.choice(MUTATIONS) + raw[at:]
        else:
            lines = raw.split("\n")
            k = rng.randrange(len(lines))
            lines[k] = " " * rng.randint(0, 6) + lines[k].lstrip(" ")
            raw = "\n".join(lines)
    return raw


def test_mutated_records_read_the_same_or_go_to_pyyaml(generated):
    rng = random.Random(20261123)
    taken = 0
    for _ in range(4000):
        taken += read_the_same(mutant(rng.choice(generated), rng))
    assert 500 < taken < 3900, taken  # both sides of the line were tried


def test_the_kept_keys_are_bounded():
    """Typed keys are kept for the next record; a file of endless distinct keys cannot grow that store."""
    many = "".join(f"key{k}: v\n" for k in range(block_yaml.MAX_KEYS_KEPT + 100))
    assert len(parse_block_yaml(many)) == block_yaml.MAX_KEYS_KEPT + 100
    assert len(block_yaml._KEYS) <= block_yaml.MAX_KEYS_KEPT
