"""Countries a document names: ISO 3166 alpha-2 codes found in its text.

Names and codes come from pycountry; demonyms, short forms, capitals used as
metonyms and the phrases that only look like countries come from
``country_aliases.yaml`` (pycountry has none of those). One compiled pattern
finds every candidate; a few rules then drop the misleading ones:

* case matters ("US" and "Turkey", not "us" and "turkey");
* longer phrases win ("New Mexico", "Washington Post", "North Korea");
* "US" inside an all-capitals headline is the pronoun, and "US$" a currency;
* proper-name words ("Jordan", "Chad") count only when no capitalised word
  stands beside them ("Michael Jordan");
* "Georgia" counts only when the text also names something of the country
  (Tbilisi, Abkhazia, ...): the US state is far commoner in English news;
* a demonym that is also a language ("Dutch", "Japanese") is dropped in a
  passage about languages ("in English, Dutch and French").
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pycountry
import yaml

ALIASES_FILE = Path(__file__).with_name("country_aliases.yaml")
# Shorter, familiar names for display where ISO's is formal.
DISPLAY_NAMES = {"RU": "Russia", "KR": "South Korea", "KP": "North Korea", "LA": "Laos", "SY": "Syria"}
_BLOCKED = "-"
_PROPER = "proper"
_CUE = "cue"
_LANGUAGE = "language"
_LANGUAGE_WINDOW = 60
_ALL_CAPS_WINDOW = 30
_CURRENCY = re.compile(r"\$|\s+[Dd]ollars?\b")
# Capitalised words that may stand before a proper-name country ("In Jordan, ...").
_FUNCTION_WORDS = frozenset(
    ["In", "From", "To", "And", "Of", "With", "For", "By", "At", "On", "The", "Between", "Across", "Like"]
)


@dataclass(frozen=True)
class _Gazetteer:
    pattern: re.Pattern[str]
    codes: dict[str, str]  # phrase -> code, or _BLOCKED
    kinds: dict[str, str]  # phrase -> _PROPER or _CUE for the words that need a check
    cues: dict[str, re.Pattern[str]]  # code -> pattern of its cue words
    language_context: re.Pattern[str]


@functools.cache
def _gazetteer() -> _Gazetteer:
    data = yaml.safe_load(ALIASES_FILE.read_text("utf-8"))
    codes: dict[str, str] = {}
    for country in pycountry.countries:
        for name in (country.name, getattr(country, "common_name", None), getattr(country, "official_name", None)):
            if name and not re.search(r"[,()]", name) and not name.startswith("the "):
                codes[name] = country.alpha_2
    for code, names in data["aliases"].items():
        for name in names:
            codes[str(name)] = code
    kinds: dict[str, str] = {}
    for code, names in data["proper_name"].items():
        for name in names:
            codes[name], kinds[name] = code, _PROPER
    cues = {}
    for code, entry in data["needs_cue"].items():
        for name in entry["words"]:
            codes[name], kinds[name] = code, _CUE
        cues[code] = re.compile(r"\b(?:" + "|".join(map(re.escape, entry["cues"])) + r")\b")
    for name in data["languages"]:
        kinds[name] = _LANGUAGE
    # Other demonyms are no cue: "Chinese and Russian hackers" are people, not languages.
    language_context = re.compile(r"\b(?:" + "|".join(map(re.escape, data["language_cues"])) + r")\b", re.I)
    for phrase in data["blocked"]:
        codes[phrase] = _BLOCKED
    # Not after a letter, digit, dot or dollar: checked just after a phrase's first letter (see _alternation).
    phrases = _alternation(codes, after_first=r"(?<![\w.$].)")
    pattern = re.compile(rf"(?:{phrases})(?!\w)(?!\.\w)")
    return _Gazetteer(pattern, codes, kinds, cues, language_context)


def _alternation(phrases: Iterable[str], after_first: str = "") -> str:
    """One regex alternative per phrase, grouped by first letter, longest first within each group;
    ``after_first`` (an assertion) follows each first letter.

    Python's regex engine tries alternatives one by one; grouping by the first
    letter lets every position that starts no phrase fail after one test
    instead of hundreds (the longest corpus report: 75 ms before, 8 ms after).
    And a pattern that starts with a choice of letters, not with an assertion,
    lets the engine skip in C to the next position holding one of them: a
    lookbehind put first had it try every character (long reports' bodies: 30
    ns per character before, 6 after).
    """
    groups: dict[str, list[str]] = defaultdict(list)
    for phrase in phrases:
        groups[phrase[0]].append(phrase[1:])
    parts = []
    for first, rests in sorted(groups.items()):
        rests.sort(key=lambda rest: (-len(rest), rest))
        parts.append(re.escape(first) + after_first + "(?:" + "|".join(re.escape(rest) for rest in rests) + ")")
    return "|".join(parts)


def find_countries(*texts: str) -> list[str]:
    """Alpha-2 codes of the countries named in ``texts``, most mentioned first."""
    gazetteer = _gazetteer()
    counts: Counter[str] = Counter()
    needing_cue: set[str] = set()
    for text in texts:
        if not text:
            continue
        for match in gazetteer.pattern.finditer(text):
            phrase = match.group(0)
            code = gazetteer.codes.get(phrase, _BLOCKED)
            if code == _BLOCKED or not _plausible(text, match, phrase, gazetteer.kinds.get(phrase), gazetteer):
                continue
            if gazetteer.kinds.get(phrase) == _CUE:
                needing_cue.add(code)
            counts[code] += 1
    for code in needing_cue:
        if not any(gazetteer.cues[code].search(text) for text in texts if text):
            del counts[code]
    return [code for code, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def _plausible(text: str, match: re.Match[str], phrase: str, kind: str | None, gazetteer: _Gazetteer) -> bool:
    start, end = match.span()
    if kind == _LANGUAGE:
        before = gazetteer.language_context.search(text, max(0, start - _LANGUAGE_WINDOW), start)
        after = gazetteer.language_context.search(text, end, end + _LANGUAGE_WINDOW)
        return before is None and after is None
    if phrase in ("US", "U.S."):
        # "US$" and "US dollars" are a currency, quoted in any country's news.
        if _CURRENCY.match(text, end):
            return False
        if phrase == "US":  # "HOW AI HELPS US" is the pronoun
            return any(c.islower() for c in text[max(0, start - _ALL_CAPS_WINDOW) : end + _ALL_CAPS_WINDOW])
    if kind == _PROPER:
        before = re.search(r"([A-Z][\w'’-]*)[ \t]+$", text[max(0, start - 40) : start])
        after = re.match(r"[ \t]+[A-Z]", text[end : end + 3])
        return (before is None or before.group(1) in _FUNCTION_WORDS) and after is None
    return True


@functools.lru_cache(maxsize=1024)  # every result shows its countries: pycountry's lookup cost 6 µs each
def country_name(code: str) -> str:
    """Display name of an alpha-2 code ("CN" -> "China"); the code itself when unknown."""
    if code in DISPLAY_NAMES:
        return DISPLAY_NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return getattr(country, "common_name", None) or country.name


@functools.cache
def country_word_forms() -> list[frozenset[str]]:
    """Words that name one country in different forms: its name and the demonyms made from it
    ("Russia", "Russian", "Russians"; "China", "Chinese"), as they share its first four letters.

    A capital or a metonym ("Moscow", "Kremlin", "Dutch") is not the same word and is left out.
    """
    by_code: dict[str, set[str]] = defaultdict(set)
    for phrase, code in _gazetteer().codes.items():
        if code != _BLOCKED and phrase.isalpha() and len(phrase) >= 4 and not phrase.isupper():
            by_code[code].add(phrase.casefold())
    groups = []
    for words in by_code.values():
        by_start: dict[str, set[str]] = defaultdict(set)
        for word in words:
            by_start[word[:4]].add(word)
        groups += [frozenset(found) for found in by_start.values() if len(found) > 1]
    return groups


def resolve_country(value: str) -> str | None:
    """An alpha-2 code from a code or a name a user typed ("cn", "China", "russia"), or None."""
    value = value.strip()
    if len(value) == 2 and pycountry.countries.get(alpha_2=value.upper()):
        return value.upper()
    wanted = value.casefold().replace("_", " ")
    for phrase, code in _gazetteer().codes.items():
        if code != _BLOCKED and phrase.casefold() == wanted:
            return code
    for code in {c.alpha_2 for c in pycountry.countries}:
        if country_name(code).casefold() == wanted:
            return code
    return None
