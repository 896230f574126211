"""Text normalisation (``indexer.textclean``): what every field goes through before the index.

The module skips work it can tell is not needed (a pattern that cannot match,
a pattern written for the regex engine's fast paths); its results must be
those of the plain rules, applied one after another, on any text.
"""

from __future__ import annotations

import html
import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.textclean import normalize_text

# The rules, stated plainly (the module documents each of them).
INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
ODD_SPACES = re.compile("[\u00a0\u2007\u202f\u2009\u200a\u2002\u2003\u3000\t\x0b\x0c]")
CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f\ud800-\udfff]")


def plainly_normalised(value: str, keep_newlines: bool) -> str:
    text = html.unescape(html.unescape(value))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = ODD_SPACES.sub(" ", INVISIBLE.sub("", unicodedata.normalize("NFC", text)))
    text = CONTROL.sub("", text)
    if keep_newlines:
        lines = [line.strip() for line in re.sub(" {2,}", " ", text).split("\n")]
        return re.sub("\n{3,}", "\n\n", "\n".join(lines)).strip()
    return re.sub(" {2,}", " ", text.replace("\n", " ")).strip()


PIECES = [
    "a",
    "Geo",
    "é",
    "e\u0301",  # NFC makes one letter of it
    "中",
    " ",
    "  ",
    "\n",
    "\n\n\n",
    "\r",
    "\r\n",
    "\t",
    "\x0b",
    "\x0c",
    "\u00a0",
    "\u2009",
    "\u3000",
    "\u00ad",
    "\u200b",
    "\ufeff",
    "\x00",
    "\x07",
    "\x1f",
    "\x7f",
    "\x85",  # a C1 control: not removed, and not printable
    "\u2028",
    "\ud800",  # a lone surrogate
    "&amp;",
    "&#038;",
    "&nbsp;",
    "&amp;#038;",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40), st.booleans())
def test_normalising_gives_what_the_plain_rules_give(pieces, keep_newlines):
    value = "".join(pieces)
    assert normalize_text(value, keep_newlines=keep_newlines) == plainly_normalised(value, keep_newlines)


def test_each_rule_on_a_long_mixed_text():
    text = (
        "Geo\u00adpolitics of\u00a0AI\u200b chips.\t Tariffs &amp;#038; export   controls\x00.\n\n\n\n" * 500
    ) + "中"
    cleaned = normalize_text(text, keep_newlines=True)
    assert cleaned == plainly_normalised(text, keep_newlines=True)
    assert "Geopolitics of AI chips. Tariffs & export controls.\n\nGeopolitics" in cleaned
    assert not [piece for piece in ("\u00ad", "\u00a0", "\u200b", "\x00", "\t", "\n\n\n") if piece in cleaned]


def test_lone_surrogates_and_controls_go_and_other_unprintables_stay():
    assert normalize_text("a\ud800b\x07c\x85d\u2028e") == "abc\x85d\u2028e"
