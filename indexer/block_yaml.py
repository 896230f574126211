"""Front matter in the plain block style of nearly every news record, read line by line.

libyaml's loader took about 110 of the 570 µs of reading a generated news
record, most of it in the Python calls it makes for every node; this reads
the same front matter in about 65. Records are almost always ``key: value``
lines, nested mappings and ``- item`` lists, each scalar on one line.
:func:`parse_block_yaml` reads exactly that subset, with one-line flat flow
lists and mappings (``[a, b]``, ``{name: X}``) and the escapes JSON reads as
YAML does, and returns None for anything else: block scalars, scalars over
several lines, nested or quoted flow items, comments, tabs, other line
breaks, keys other than plain words, anchors, aliases, tags, or lines YAML
would refuse. Those go to PyYAML, as every record did before. Scalars are
typed by PyYAML's own resolver and constructors, so the values are PyYAML's:
``tests/test_block_yaml.py`` compares both on every corpus record (all in the
subset), on generated ones and on thousands of mutated ones.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

# Characters the subset leaves to PyYAML: all but newline and what PyYAML reads as printable,
# less the other line breaks (NEL, LS, PS) and the byte order mark.
_OTHER_CHARACTERS = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
# One line: indentation, an optional "- " (a list item), an optional plain-word key, and the rest.
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # a plain word
_LINE = re.compile(rf"( *)(-(?: +|$))?(?:({_KEY.pattern}):(?: +|$))?(.*)")
_CLOSING = {"[": "]", "{": "}"}  # one-line flow collections
# A plain scalar may start with "-" when a character other than a space follows ("-1", "-x").
_DASHED_PLAIN = re.compile(r"-[^ ]")
# Escapes, left to right; group 1 is set for one other than those JSON and YAML read alike
# (\" \\ \b \f \n \r \t and \uXXXX but for surrogates).
_ESCAPES = re.compile(r"\\(?:[\"\\bfnrt]|u(?![dD][89a-fA-F])|(.?))")
# A plain scalar may not start with these (YAML's indicators).
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
# Deeper indentation is left to PyYAML (and its caller's nesting guard); it bounds the recursion here.
MAX_INDENT = 32
_STR_TAG = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()
# PyYAML picks its implicit types by a plain scalar's first character; any other starts a text.
_TYPED_FIRST_CHARACTERS = frozenset(_RESOLVER.yaml_implicit_resolvers)
# Keys typed so far (nearly every record has the same few); a file of odd keys cannot grow it past this.
MAX_KEYS_KEPT = 4096
_KEYS: dict[str, Any] = {}
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


class _NotInSubset(Exception):
    """The text uses YAML beyond the subset; PyYAML reads it."""


@dataclass
class _Line:
    indent: int
    key: str | None  # a mapping entry's key
    text: str  # the scalar after the key or dash ("" when the value is a nested block or null)
    dash: bool = False  # a list item; an item "- key: value" is a dash line and then a key line


def parse_block_yaml(text: str) -> dict[str, Any] | None:
    """The mapping ``text`` holds when it is in the subset (see the module's doc), else None."""
    if _OTHER_CHARACTERS.search(text):
        return None
    try:
        lines = _lines(text)
        if not lines or lines[0].dash or lines[0].key is None or lines[0].indent != 0:
            return None
        value, end = _block(lines, 0, 0)
    except _NotInSubset:
        return None
    except (ValueError, TypeError, OverflowError, yaml.YAMLError):  # a refused scalar: PyYAML says why
        return None
    return value if end == len(lines) else None


def _lines(text: str) -> list[_Line]:
    lines = []
    for raw in text.split("\n"):
        raw = raw.rstrip(" ")
        if not raw:
            continue
        indent, dash, key, rest = _LINE.fullmatch(raw).groups()
        column = len(indent)
        if column > MAX_INDENT:
            raise _NotInSubset
        if dash:
            lines.append(_Line(column, None, "" if key else rest, dash=True))
            column += len(dash)
            if key is None:
                continue
        elif key is None:
            raise _NotInSubset  # a bare scalar line: a continuation, a comment, a document marker...
        lines.append(_Line(column, _key(key), rest))
    return lines


def _block(lines: list[_Line], at: int, indent: int) -> tuple[Any, int]:
    """The mapping or list whose entries start at ``lines[at]``, at ``indent``; and where it ends."""
    if lines[at].dash:
        return _sequence(lines, at, indent)
    return _mapping(lines, at, indent)


def _mapping(lines: list[_Line], at: int, indent: int) -> tuple[dict[Any, Any], int]:
    mapping: dict[Any, Any] = {}
    while at < len(lines) and lines[at].indent == indent and not lines[at].dash:
        key = lines[at].key
        mapping[key], at = _value(lines, at, indent)
    return mapping, at


def _sequence(lines: list[_Line], at: int, indent: int) -> tuple[list[Any], int]:
    items = []
    while at < len(lines) and lines[at].indent == indent and lines[at].dash:
        item, at = _value(lines, at, indent)
        items.append(item)
    return items, at


def _value(lines: list[_Line], at: int, indent: int) -> tuple[Any, int]:
    """The value of the entry at ``lines[at]``: its scalar, or the block below it, or None.

    A block ends at the first line that is not one of its entries. Only an
    enclosing block at exactly that line's indentation can go on with it, so
    a line YAML would refuse there (more indented, or another kind of entry)
    is never consumed, and :func:`parse_block_yaml` sees that it did not end.
    """
    line = lines[at]
    following = lines[at + 1] if at + 1 < len(lines) else None
    if line.text:
        return _scalar(line.text), at + 1
    if following is not None and following.indent > indent:
        return _block(lines, at + 1, following.indent)
    if not line.dash and following is not None and following.indent == indent and following.dash:
        return _sequence(lines, at + 1, indent)  # "key:", then "- item" at the key's own indentation
    return None, at + 1


def _key(text: str) -> Any:
    """A key (a plain word) as PyYAML types it: a text, or refused."""
    value = _KEYS.get(text)
    if value is None:
        value = _scalar(text, is_key=True)
        if len(_KEYS) < MAX_KEYS_KEPT:
            _KEYS[text] = value
    return value


def _scalar(text: str, is_key: bool = False) -> Any:
    """A one-line scalar, or a one-line flat flow list or mapping, as PyYAML types it."""
    first = text[0]
    if first == '"':
        if "\\" in text:
            return _escaped(text)
        if len(text) < 2 or text[-1] != '"' or '"' in text[1:-1]:
            raise _NotInSubset
        return text[1:-1]
    if first == "'":
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != "'" or "'" in inner.replace("''", ""):
            raise _NotInSubset
        return inner.replace("''", "'")
    if len(text) >= 2 and _CLOSING.get(first) == text[-1] and not is_key:
        items = _flow_items(text[1:-1])
        if first == "[":
            return [_scalar(item) for item in items]
        return dict(_flow_entry(item) for item in items)
    if (first in _INDICATORS and not _DASHED_PLAIN.match(text)) or ": " in text or " #" in text or text.endswith(":"):
        raise _NotInSubset
    if first not in _TYPED_FIRST_CHARACTERS:
        return text  # no resolver of PyYAML's applies: a text
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
    if tag == _STR_TAG:
        return text
    construct = _CONSTRUCTOR.yaml_constructors.get(tag)
    if is_key or construct is None:
        raise _NotInSubset  # a key PyYAML would type, or a merge ("<<") or value ("=") scalar
    return construct(_CONSTRUCTOR, yaml.ScalarNode(tag, text))


def _flow_items(inner: str) -> list[str]:
    """The comma-separated items of a flow collection without nesting or quotes."""
    if any(mark in inner for mark in "[]{}\"'"):
        raise _NotInSubset
    items = [item.strip(" ") for item in inner.split(",")]
    if len(items) > 1 and not items[-1]:
        items.pop()  # a trailing comma
    if items == [""]:
        return []
    if not all(items):
        raise _NotInSubset
    return items


def _flow_entry(item: str) -> tuple[Any, Any]:
    key, separator, value = item.partition(": ")
    if not separator or not _KEY.fullmatch(key) or not value.strip(" "):
        raise _NotInSubset
    return _key(key), _scalar(value.strip(" "))


def _escaped(text: str) -> str:
    """A double-quoted scalar with escapes that JSON reads as YAML does."""
    if any(escape.group(1) is not None for escape in _ESCAPES.finditer(text)):
        raise _NotInSubset
    value = json.loads(text)  # ValueError when the text is not one quoted string: PyYAML says why
    if not isinstance(value, str):
        raise _NotInSubset
    return value
