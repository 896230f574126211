"""The query language as the README gives it: what each form parses into, and its bounds.

Trees are checked here; what they match is checked against Whoosh's own
matchers in tests/test_speed_never_changes_answers.py and on the corpus in
tests/test_natural_queries.py.
"""

from __future__ import annotations

import pytest

from search_web.query import (
    NOTHING,
    TEXT_FIELDS,
    AllOf,
    AnyOf,
    Clauses,
    Not,
    Phrase,
    QueryError,
    Term,
    parse_query,
    query_terms,
)
from search_web.settings import Limits
from search_web.whoosh_engine import SearchIndex


@pytest.fixture(scope="module")
def reader(seed_index):
    index = SearchIndex(seed_index)
    yield index.generation().searcher().reader()
    index.close()


def tree(q: str, reader, **limits):
    return parse_query(q, reader, Limits(**limits)).tree


# A country's name and its demonyms are one word in several forms (indexer.countries.country_word_forms).
FORMS = {"china": ("chines",), "russian": ("russia",), "russia": ("russian",), "taiwan": ("taiwanes",)}


def word(text: str, fields=TEXT_FIELDS) -> Term:
    return Term(text, fields, FORMS.get(text, ()))


def test_plain_words_are_each_optional(reader):
    assert tree("russian robot tank", reader) == Clauses(should=(word("russian"), word("robot"), word("tank")))


@pytest.mark.parametrize("q", ["Russia", "russian", "Russians", "RUSSIA’S"])
def test_a_country_and_its_demonyms_are_one_word(reader, q):
    found = tree(q, reader).should[0]
    assert {found.text, *found.forms} == {"russia", "russian"}


def test_repeated_words_count_once(reader):
    assert tree("china China chinas", reader) == Clauses(should=(word("china"),))


@pytest.mark.parametrize(
    ("q", "parts", "joined"),
    [
        ("low-code", ("low", "code"), "lowcod"),
        ("model-driven", ("model", "driven"), "modeldriven"),
        ("ai-generated", ("ai", "generat"), "aigener"),
        ("pro-trump", ("pro", "trump"), "protrump"),
        ("e-mail", ("e", "mail"), "email"),
        ("G-7", ("g", "7"), "g7"),
        ("COVID-19", ("covid", "19"), "covid19"),
        ("9/11", ("9", "11"), "911"),
    ],
)
def test_a_joiner_inside_a_word_joins_it(reader, q, parts, joined):
    """The parts one after another ("low code", "low-code") or the joined word ("lowcode")."""
    assert tree(q, reader) == Clauses(should=(AnyOf((Phrase(parts, TEXT_FIELDS), word(joined))),))


@pytest.mark.parametrize(("q", "parts"), [("G7", ("g", "7")), ("F35", ("f", "35")), ("5G", ("5", "g"))])
def test_letters_and_digits_also_match_written_apart(reader, q, parts):
    """ "G7" also finds "G-7" and "G 7", as "G-7" finds "G7"."""
    assert tree(q, reader) == Clauses(should=(AnyOf((word(q.lower()), Phrase(parts, TEXT_FIELDS))),))


@pytest.mark.parametrize(("q", "term"), [("U.S.", "us"), ("China's", "china"), ("China’s", "china"), ("x.com", "xcom")])
def test_dots_and_apostrophes_stay_inside_the_word(reader, q, term):
    assert tree(q, reader) == Clauses(should=(word(term),))


def test_a_part_whose_stem_is_a_stop_word_is_left_out_as_the_index_leaves_it_out(reader):
    """ "plug-ins" meets "plug-in", whose "in" the index drops."""
    assert tree("plug-ins", reader) == Clauses(should=(AnyOf((word("plug"), word("plugin"))),))


def test_a_stop_word_inside_a_joined_word_is_left_out_as_the_index_leaves_it(reader):
    assert tree("state-of-the-art", reader) == Clauses(
        should=(AnyOf((Phrase(("state", "art"), TEXT_FIELDS), word("stateoftheart"))),)
    )


@pytest.mark.parametrize("q", ["-china", "NOT china", " -china "])
def test_a_leading_minus_or_not_excludes(reader, q):
    assert tree(q, reader) == Clauses(must_not=(word("china"),))


def test_exclusion_beside_words(reader):
    assert tree("security -china", reader) == Clauses(should=(word("secur"),), must_not=(word("china"),))


def test_plus_requires(reader):
    assert tree("+taiwan drone", reader) == Clauses(must=(word("taiwan"),), should=(word("drone"),))


def test_and_requires_both_sides_and_binds_tighter_than_the_sequence(reader):
    assert tree("chips AND export controls", reader) == Clauses(
        must=(AllOf((word("chip"), word("export"))),), should=(word("control"),)
    )


def test_or_joins_its_sides_into_one_part(reader):
    assert tree("chips OR semiconductors export", reader) == Clauses(
        should=(AnyOf((word("chip"), word("semiconductor"))), word("export"))
    )


def test_and_not(reader):
    assert tree("chips AND NOT china", reader) == Clauses(must=(AllOf((word("chip"), Not(word("china")))),))


def test_parentheses_group(reader):
    assert tree("china AND (chips OR semiconductors)", reader) == Clauses(
        must=(AllOf((word("china"), AnyOf((word("chip"), word("semiconductor"))))),)
    )


def test_a_quoted_phrase_is_required(reader):
    assert tree('"export controls" china', reader) == Clauses(
        must=(Phrase(("export", "control"), TEXT_FIELDS),), should=(word("china"),)
    )


def test_a_field_is_required_and_searches_that_field_only(reader):
    assert tree("title:china drone", reader) == Clauses(must=(word("china", ("title",)),), should=(word("drone"),))
    assert tree('provider:"south china morning post"', reader) == Clauses(
        must=(Phrase(("south", "china", "morn", "post"), ("provider_text",)),)
    )
    assert tree("kind:Report", reader) == Clauses(must=(Term("report", ("kind",)),))
    assert tree("-country:russia", reader) == Clauses(must_not=(Term("ru", ("country",)),))
    assert tree("title:(china taiwan)", reader) == Clauses(
        must=(Clauses(should=(word("china", ("title",)), word("taiwan", ("title",)))),)
    )


def test_unknown_fields_are_refused_with_the_known_ones(reader):
    with pytest.raises(QueryError, match=r"unknown field 'nosuch:'.*title:"):
        tree("nosuch:chips", reader)


def test_text_with_a_colon_and_a_space_is_words(reader):
    assert tree("Taiwan: chips", reader) == Clauses(should=(word("taiwan"), word("chip")))


def test_dates_and_links_are_taken_out_of_the_text(reader):
    parsed = parse_query("ethics published:2021 https://example.org/a?utm_source=x", reader, Limits())
    assert parsed.date_from.year == 2021 and parsed.date_to.year == 2022
    assert isinstance(parsed.tree, Clauses) and parsed.tree.must[0].children[0].fields == ("id",)
    assert parsed.tree.should == (Clauses(should=(word("ethic"),)),)


@pytest.mark.parametrize("q", ["", "   ", "-", "AND OR NOT", "()", '""'])
def test_nothing_to_look_for_is_everything(reader, q):
    assert tree(q, reader) is None


def test_stop_words_alone_match_nothing(reader):
    assert tree("the of", reader) == Clauses(should=(NOTHING,))


def test_stop_words_beside_other_words_are_no_part_of_the_query(reader):
    assert tree("pause letter on the risks", reader) == tree("pause letter risks", reader)
    assert len(tree("pause letter on the risks", reader).positive) == 3


def test_operators_are_in_capitals(reader):
    assert tree("chips or russia", reader) == tree("chips russia", reader)  # "or" is a stop word
    assert tree("sanctions not china", reader) == Clauses(should=(word("sanction"), word("not"), word("china")))


@pytest.mark.parametrize("q", ["*a*", "*", "a*", "ab*", "?bc", "title:*"])
def test_wildcards_need_three_letters(reader, q):
    with pytest.raises(QueryError, match="wildcard"):
        tree(q, reader)


def test_a_wildcard_expands_to_index_terms_within_the_limit(reader):
    expanded = tree("sanc*", reader).should[0]
    assert expanded == word("sanction") or {t.text for t in expanded.children} >= {"sanction"}
    parsed = parse_query("s*", reader, Limits(min_prefix_chars=1, max_expansions=3))
    assert parsed.expansions_cut and len(parsed.tree.should[0].children) == 3


def test_fuzzy_distance_is_capped(reader):
    near = tree("sanctons~9", reader).should[0]
    assert near == word("sanction") or word("sanction") in near.children


def test_clause_and_nesting_limits(reader):
    with pytest.raises(QueryError, match="parts"):
        tree("china taiwan drone", reader, max_clauses=2)
    with pytest.raises(QueryError, match="nest"):
        tree("(" * 9 + "chips" + ")" * 9, reader)
    with pytest.raises(QueryError, match="characters long"):
        tree("x" * 1001, reader)


def test_highlighted_terms_leave_out_the_excluded(reader):
    parsed = parse_query('"supply chain" china -russia low-code kind:report', reader, Limits())
    assert query_terms(parsed.tree) == {"suppli", "chain", "china", "chines", "low", "code", "lowcod"}


def test_plain_words_are_kept_for_corrections(reader):
    parsed = parse_query("faciel recognitoin low-code title:x ab", reader, Limits())
    assert parsed.words == ["faciel", "recognitoin"]


def test_a_thousand_signs_are_one_query_not_a_thousand_calls(reader):
    assert tree("-" * 972 + "china", reader) == Clauses(should=(word("china"),))  # an even number cancels out
    assert tree("-" * 971 + "china", reader) == Clauses(must_not=(word("china"),))
    assert tree("+-" * 400 + "china", reader) == Clauses(must=(word("china"),))
    assert tree("NOT NOT china", reader) == Clauses(should=(word("china"),))


@pytest.mark.parametrize("q", ["russia AND the west", "+the russia west", '"the" russia west', "title:the russia west"])
def test_a_required_stop_word_is_no_part_of_the_query(reader, q):
    """The index holds no stop word: requiring one would match nothing."""
    assert tree(q, reader) == Clauses(should=(word("russia"), word("west")))


def test_parentheses_and_or_never_loosen_a_filter(reader):
    assert tree("ukraine (title:china)", reader).must == (Clauses(must=(word("china", ("title",)),)),)
    either = AnyOf((Term("cn", ("country",)), Term("us", ("country",))))
    assert tree("ai country:cn OR country:us", reader) == Clauses(must=(either,), should=(word("ai"),))
    assert tree("ai (country:cn OR country:us)", reader).must == (Clauses(must=(either,)),)


def test_fuzzy_words_are_bounded(reader):
    assert tree("chips~ sanctions~", reader, max_fuzzy_words=2)
    with pytest.raises(QueryError, match="fuzzy"):
        tree("chips~ sanctions~ china~", reader, max_fuzzy_words=2)
