"""Story clusters: near-identical news about one story, across providers and days.

Every news item and related article gets a story id; items that tell the same
story share one. Reports never join a story (each is its own), because a
report that quotes a news item is not a copy of it.

Two items are one story when the words of their titles and excerpts, weighted
by rarity (TF-IDF, cosine), are at least :data:`SAME_STORY` alike and they were
published within :data:`STORY_WINDOW_DAYS` of each other; or when their titles
are the same (of at least :data:`MIN_TITLE_WORDS` words) at any distance in
time, unless both excerpts say clearly different things (a weekly newsletter
keeps its title from issue to issue). Stories are the connected groups of
those pairs.

Candidate pairs come from the rarest words of each title and from related
coverage lists (blocking), so the work grows with the number of items, not
with its square.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

from indexer.analysis import EnglishTokenizer
from indexer.documents import Document

# Cosine of TF-IDF vectors of title (twice) and excerpt. Chosen on the labelled
# corpus clusters (benchmarks/labels/stories.yaml): 0.30 merged weekly update
# posts, 0.45 split wire copies with rewritten headlines.
SAME_STORY = 0.35
STORY_WINDOW_DAYS = 4
MIN_TITLE_WORDS = 4
# Same title but excerpts this little alike: a recurring title, not a repost.
DIFFERENT_EXCERPTS = 0.2
MIN_EXCERPT_WORDS = 8
# A title word found in more items than this is too common to propose pairs.
MAX_BLOCK_SIZE = 200
BLOCKING_WORDS = 4
CLUSTERED_KINDS = ("news", "related")

_TOKENIZER = EnglishTokenizer()
# Tails feeds add to titles ("… – Microsoft", "… | Reuters"): dropped when they name a provider.
_TITLE_TAIL = re.compile(r"\s+[-–—|]\s+([^-–—|]{1,40})$")
_TITLE_HEAD = re.compile(r"^(re-?transmission|update[d]?|breaking|exclusive)\s*:\s*", re.I)


def assign_stories(documents: Sequence[Document]) -> None:
    """Set ``story`` on every document (in place)."""
    items = [d for d in documents if d.kind in CLUSTERED_KINDS]
    for doc in documents:
        doc.story = doc.id
    if not items:
        return
    providers = {name.casefold() for d in documents for name in (d.provider, d.provider_domain) if name}
    profiles = [_Profile(d, providers) for d in items]
    weights = _idf(profiles)
    vectors = [p.vector(weights) for p in profiles]
    groups = _UnionFind(len(items))
    for a, b in _candidate_pairs(profiles, weights):
        if _same_story(profiles[a], profiles[b], vectors[a], vectors[b]):
            groups.union(a, b)
    members: dict[int, list[int]] = defaultdict(list)
    for position in range(len(items)):
        members[groups.find(position)].append(position)
    for positions in members.values():
        # The story is named after its earliest item, so the id stays put as copies arrive.
        first = min(positions, key=lambda p: (items[p].published is None, items[p].published or 0, items[p].id))
        for position in positions:
            items[position].story = f"s-{items[first].id.split('-', 1)[-1]}"


class _Profile:
    """The words of one item that decide whether it is a copy of another."""

    def __init__(self, doc: Document, providers: set[str]) -> None:
        self.doc = doc
        title = _TITLE_HEAD.sub("", doc.title.strip())
        tail = _TITLE_TAIL.search(title)
        if tail and tail.group(1).strip().casefold() in providers:
            title = title[: tail.start()]
        self.title_words = _words(title)
        self.title_key = " ".join(self.title_words)
        self.excerpt_words = _words(doc.excerpt)
        self.day = doc.published.toordinal() if doc.published else None

    def counts(self) -> dict[str, float]:
        counts: dict[str, float] = defaultdict(float)
        for word in self.title_words:
            counts[word] += 2.0
        for word in self.excerpt_words:
            counts[word] += 1.0
        return counts

    def vector(self, weights: dict[str, float]) -> dict[str, float]:
        vector = {w: (1 + math.log(c)) * weights[w] for w, c in self.counts().items()}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {w: v / norm for w, v in vector.items()}


def _words(text: str) -> list[str]:
    return [token.text for token in _TOKENIZER(text)]


def _idf(profiles: list[_Profile]) -> dict[str, float]:
    frequency: dict[str, int] = defaultdict(int)
    for profile in profiles:
        for word in set(profile.title_words) | set(profile.excerpt_words):
            frequency[word] += 1
    total = len(profiles)
    return {w: math.log(1 + total / f) for w, f in frequency.items()}


def _candidate_pairs(profiles: list[_Profile], weights: dict[str, float]) -> Iterable[tuple[int, int]]:
    """Pairs that share a rare title word or a whole title, or are linked as related coverage."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for position, profile in enumerate(profiles):
        blocks["\x01" + profile.doc.id].append(position)
        for linked_id in {*profile.doc.related_ids, profile.doc.parent_id} - {""}:
            blocks["\x01" + linked_id].append(position)
        rarest = sorted(set(profile.title_words), key=lambda w: (-weights[w], w))[:BLOCKING_WORDS]
        for word in rarest:
            blocks[word].append(position)
        if len(profile.title_words) >= MIN_TITLE_WORDS:
            blocks["\x00" + profile.title_key].append(position)
    seen: set[tuple[int, int]] = set()
    for block in blocks.values():
        if len(block) < 2 or len(block) > MAX_BLOCK_SIZE:
            continue
        for i, a in enumerate(block):
            for b in block[i + 1 :]:
                pair = (a, b) if a < b else (b, a)
                if pair not in seen:
                    seen.add(pair)
                    yield pair


def _same_story(a: _Profile, b: _Profile, va: dict[str, float], vb: dict[str, float]) -> bool:
    near = a.day is not None and b.day is not None and abs(a.day - b.day) <= STORY_WINDOW_DAYS
    if a.title_key == b.title_key and len(a.title_words) >= MIN_TITLE_WORDS:
        if near:
            return True
        both_described = min(len(a.excerpt_words), len(b.excerpt_words)) >= MIN_EXCERPT_WORDS
        return not (both_described and _jaccard(a.excerpt_words, b.excerpt_words) < DIFFERENT_EXCERPTS)
    if not near:
        return False
    return _cosine(va, vb) >= SAME_STORY


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(w, 0.0) for w, v in a.items())


def _jaccard(a: list[str], b: list[str]) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)
