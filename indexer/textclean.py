"""Text normalisation shared by every source parser.

Real files carry HTML entities (``&#038;``), non-breaking spaces, soft
hyphens, zero-width characters, lone surrogates and inline Markdown/HTML.
Everything that reaches the index or the page passes through here first, so
that the same word is always the same token.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

# Characters that are invisible in print but split or glue words in the index:
# soft hyphen ("geo\u00adpolitics" must index as "geopolitics"), zero-width
# space/joiners, word joiner, BOM; and the bidirectional marks, embeddings,
# overrides and isolates, which also reorder what a title shows ("\u202e" makes
# "exe.txt" read "txt.exe").
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_DROP_CHARS = re.compile(f"[{_INVISIBLE}]")
# Every kind of space becomes a plain space. Patterns rather than str.translate:
# translating a 60 KB non-ASCII report took 9 ms, a pattern takes a tenth of that.
_ODD_SPACES = "\u00a0\u2007\u202f\u2009\u200a\u2002\u2003\u3000\t\x0b\x0c"
_SPACES = re.compile(f"[{_ODD_SPACES}]")
# Control characters and lone surrogates: all of them, and "\n", are what ``str.isprintable`` refuses
# among what is left when this is applied (other spaces are plain by then).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ud800-\udfff]")
# Written as a literal and a repeat, not ``[ ]{2,}`` and ``\n{3,}``: the regex engine looks for a
# pattern's literal prefix in C and tries a class repeat at every position, 0.3 against 1.2 ms
# and 0.07 against 1.3 ms on a 122 KB report.
_MULTI_SPACE = re.compile("  +")
_MULTI_BLANK = re.compile("\n\n\n+")


def normalize_text(value: str, *, keep_newlines: bool = False) -> str:
    """Decode entities and normalise spacing of one piece of text.

    Entities are decoded twice at most: feeds often escape already-escaped
    text (``&amp;#038;``). Control characters and lone surrogates are dropped
    so that no document can make the index writer fail.
    """
    if value.isascii() and value.isprintable() and "&" not in value and "  " not in value:
        return value.strip()  # nothing below would change it (most news fields): the scans cost more
    text = html.unescape(value)
    if "&" in text:
        text = html.unescape(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
        # A class pattern tries every position (0.6 ms on a 122 KB report); looking for each
        # character is a C scan that stops at once when the text cannot hold it.
        if _holds_any(text, _INVISIBLE):
            text = _DROP_CHARS.sub("", text)
        if _holds_any(text, _ODD_SPACES):
            text = _SPACES.sub(" ", text)
    elif "\t" in text or "\x0b" in text or "\x0c" in text:  # the only ASCII characters replaced
        text = _SPACES.sub(" ", text)
    if not text.replace("\n", " ").isprintable():  # half the time of the pattern finding nothing
        text = _CONTROL.sub("", text)
    if keep_newlines:  # runs of spaces never span a newline: one pass over the text, not one per line
        lines = [line.strip() for line in _sub_if("  ", _MULTI_SPACE, " ", text).split("\n")]
        return _sub_if("\n\n\n", _MULTI_BLANK, "\n\n", "\n".join(lines)).strip()
    return _sub_if("  ", _MULTI_SPACE, " ", text.replace("\n", " ")).strip()


def _holds_any(text: str, characters: str) -> bool:
    return any(character in text for character in characters)


def _sub_if(needle: str, pattern: re.Pattern[str], replacement: Any, text: str) -> str:
    """``pattern.sub(replacement, text)``, skipped when ``text`` lacks ``needle``, which every match holds.

    Looking for a substring is one C scan; a pattern is tried at every
    position. A 60 KB report took 0.2-0.4 ms per pattern that found nothing.
    """
    return pattern.sub(replacement, text) if needle in text else text


# --- Markdown and inline HTML ------------------------------------------------

_HTML_BLOCK_DROP = re.compile(r"<(script|style|iframe|noscript)\b.*?</\1\s*>", re.I | re.S)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_HTML_BREAK = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6]|/tr)\s*/?>", re.I)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
# [[https://doi.org/..]{.ul}](https://doi.org/..) -> the inner text
_MD_ATTR = re.compile(r"\{\.[\w-]+\}")
_MD_LINK = re.compile(r"\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\((?:[^()]|\([^()]*\))*\)")
_MD_REF_LINK = re.compile(r"\[([^\[\]]+)\]\[[^\]]*\]")
_MD_FOOTNOTE_REF = re.compile(r"\[\^[^\]]+\](?!:)")
_MD_FOOTNOTE_DEF = re.compile(r"^\[\^[^\]]+\]:\s*", re.M)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*(.*?)\s*#*\s*$", re.M)
_MD_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$", re.M)
_MD_EMPHASIS = re.compile(r"(?<![\w*])(\*{1,3}|_{1,3})(?=\S)(.+?)(?<=\S)\1(?![\w*])", re.S)
# Emphasis marks left unpaired by nesting (``_▲ __Figure__ ..._``): marks at a
# word's edge go, marks inside a word (``snake_case``, ``@mog_china``) stay.
_MD_STRAY_EMPHASIS = re.compile(r"(?<![\w*_])[*_]{1,3}(?=[^\s*_])|(?<=[^\s*_])[*_]{1,3}(?![\w*_])")
_MD_DOUBLE_BRACKET = re.compile(r"\[\[([^\[\]]*)\]\]\((?:[^()]|\([^()]*\))*\)")
_MD_CODE = re.compile(r"`{1,3}([^`]*)`{1,3}")
_MD_BLOCKQUOTE = re.compile(r"^\s{0,3}>\s?", re.M)
_MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$", re.M)
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!'\"|<>])")
_MD_TABLE_ROW = re.compile(r"^\s*\|(.*)\|\s*$", re.M)
_MD_LIST = re.compile(r"^(\s*)(?:[-*+•]|\d{1,3}[.)])\s+", re.M)


def strip_html(text: str) -> str:
    """Remove inline HTML tags, comments and script/style blocks."""
    if "<" not in text:  # every pattern here starts with it
        return text
    text = _HTML_COMMENT.sub(" ", text)
    text = _HTML_BLOCK_DROP.sub(" ", text)
    text = _HTML_BREAK.sub("\n", text)
    return _HTML_TAG.sub(" ", text)


def strip_markdown(text: str) -> str:
    """Remove Markdown markup, keeping the words and line breaks.

    Link targets are dropped in favour of link text; when the link text is
    itself a URL it stays, since that is what a reader would see.
    """
    # Each pattern is tried only when the text holds the characters every match of it starts with.
    text = _sub_if("![", _MD_IMAGE, r"\1", text)
    text = _sub_if("{.", _MD_ATTR, "", text)
    text = _sub_if("[[", _MD_DOUBLE_BRACKET, r"\1", text)
    for _ in range(2):  # nested links such as [[url]{.ul}](url)
        text = _sub_if("](", _MD_LINK, r"\1", text)
    text = _sub_if("][", _MD_REF_LINK, r"\1", text)
    text = _sub_if("[^", _MD_FOOTNOTE_REF, "", text)
    text = _sub_if("[^", _MD_FOOTNOTE_DEF, "", text)
    text = _sub_if("---", _MD_TABLE_RULE, "", text)
    text = _sub_if("|", _MD_TABLE_ROW, lambda m: m.group(1).replace("|", " "), text)
    text = _MD_RULE.sub("", text)
    text = _sub_if(">", _MD_BLOCKQUOTE, "", text)
    text = _sub_if("#", _MD_HEADING, r"\1", text)
    text = _MD_LIST.sub(r"\1", text)
    text = _sub_if("`", _MD_CODE, r"\1", text)
    if "*" in text or "_" in text:  # both patterns need one; scanning 60 KB for nothing took 6 ms
        for _ in range(2):  # ***bold italic*** and _nested __emphasis___
            text = _MD_EMPHASIS.sub(r"\2", text)
        text = _MD_STRAY_EMPHASIS.sub("", text)
    return _sub_if("\\", _MD_ESCAPE, r"\1", text)


def strip_markup(text: str) -> str:
    """Remove inline HTML and Markdown markup (report pages)."""
    return strip_markdown(strip_html(text))


def clean_block(text: str) -> str:
    """Markup-free, normalised text that keeps paragraph breaks."""
    return normalize_text(strip_markup(text), keep_newlines=True)


def clean_inline(text: str) -> str:
    """Markup-free, normalised single-line text (report titles and excerpts)."""
    return normalize_text(strip_markup(text))


def clean_field(text: str) -> str:
    """A news record's field: entities decoded, HTML tags removed, no Markdown
    rules applied (a ``|`` or ``*`` in a headline is text, not markup)."""
    return normalize_text(strip_html(normalize_text(text)))


def shorten(text: str, limit: int) -> str:
    """Cut text at a word boundary so that it fits in ``limit`` characters."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.-–— ")
    return cut + " …"
