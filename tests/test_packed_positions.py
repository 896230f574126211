"""Positions packed as integers index and match exactly as Whoosh's own pickled positions do."""

from __future__ import annotations

import pytest
from whoosh import fields, formats
from whoosh import query as wq
from whoosh.filedb.filestore import RamStorage

from indexer.analysis import EnglishTokenizer, PackedPositions, english_analyzer
from search_web.whoosh_engine import Bm25fParameters, TermScorer
from tests.reference import phrase_frequencies

TEXTS = [
    "Export controls on chips: the export controls of 2023 widened export rules.",
    "The U.S. and China's export-controls regime; controls on exports.",
    "Supply chain risk. Chain of supply. The supply chain, the supply  chain!",
    "Café résumé naïve — soft\u00adhyphen words; Écoles and écoles.",
    "",
    "of the and to in",  # stop words only
    "x" * 45 + " long token dropped, then words after it",
]


@pytest.mark.parametrize("stem", [True, False])
@pytest.mark.parametrize("text", TEXTS)
def test_terms_shortcut_gives_the_analyzers_tokens(text, stem):
    """Stories and the spelling dictionary read ``terms()``; it must stay the analyzer's output."""
    tokenizer = EnglishTokenizer(stem=stem)
    assert tokenizer.terms(text) == [token.text for token in EnglishTokenizer(stem=stem)(text)]


def stock_values(text: str) -> dict[str, tuple[int, float, list[int]]]:
    stock = formats.Positions(field_boost=1.5)
    return {
        term: (freq, weight, stock.decode_positions(value))
        for term, freq, weight, value in stock.word_values(text, english_analyzer(), mode="index")
    }


@pytest.mark.parametrize("text", TEXTS)
def test_packed_positions_give_whooshs_terms_frequencies_weights_and_positions(text):
    packed = PackedPositions(field_boost=1.5)
    ours = {
        term: (freq, weight, packed.decode_positions(value))
        for term, freq, weight, value in packed.word_values(text, english_analyzer(), mode="index")
    }
    assert ours == stock_values(text)
    for freq, weight, positions in ours.values():
        value = packed.encode(positions)
        assert packed.decode_frequency(value) == freq == len(positions)
        assert packed.decode_weight(value) == weight


def index_with(format_: formats.Format, texts: list[str]):
    field = fields.TEXT(analyzer=english_analyzer(), stored=True)
    field.format = format_
    schema = fields.Schema(id=fields.ID(stored=True), body=field)
    ix = RamStorage().create_index(schema)
    with ix.writer() as writer:
        for number, text in enumerate(texts * 40):  # several posting blocks per term
            writer.add_document(id=str(number), body=f"{text} filler{number % 7}")
    return ix


PHRASES = [["export", "control"], ["suppli", "chain"], ["chain", "suppli"], ["export", "control", "chip"], ["cafe"]]


@pytest.mark.parametrize("format_", [formats.Positions(), PackedPositions()], ids=["whoosh-stock", "packed"])
@pytest.mark.parametrize("words", PHRASES, ids=["-".join(p) for p in PHRASES])
def test_phrase_matches_equal_whooshs_in_either_format(format_, words):
    """The stock format is what an index written before the packed one holds: it must still match right."""
    ix = index_with(format_, TEXTS)
    with ix.searcher() as searcher:
        expected = {hit.docnum for hit in searcher.search(wq.Phrase("body", words), limit=None)}
        parameters = Bm25fParameters(weights={"body": 1.0}, b={"body": 0.75}, k1=1.2)
        documents, counts = TermScorer(lambda: searcher, parameters).phrase_postings("body", tuple(words))
        assert set(documents.tolist()) == expected
        assert dict(zip(documents.tolist(), counts.tolist(), strict=True)) == phrase_frequencies(
            searcher.reader(), "body", tuple(words)
        )
        if words[:2] == ["export", "control"]:
            assert expected, "the phrase occurs in the texts"
