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
those pairs; a second pass then lets an item join a story whose items, taken
together (their centroid), it resembles as much, when it is near them in time.

Candidate pairs come from the rarest words of each title and from related
coverage lists (blocking), so the work grows with the number of items, not
with its square.
"""

from __future__ import annotations

import heapq
import math
import re
from array import array
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from indexer.analysis import EnglishTokenizer, TermNumbers, WordNumbers
from indexer.documents import Document

# Cosine of TF-IDF vectors of title (twice) and excerpt. Chosen on the labelled
# corpus clusters (benchmarks/labels/stories.yaml): 0.30 merged weekly update
# posts, 0.45 split wire copies with rewritten headlines.
SAME_STORY = 0.35
# Cosine of an item with the centroid of a story (its items' vectors summed). On the
# labelled clusters this pass raised pairwise recall from 0.66 to 0.83 at the same precision.
SAME_STORY_AS_GROUP = 0.35
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


def assign_stories(documents: Sequence[Document], *, every_pair: bool = False) -> None:
    """Set ``story`` on every document (in place).

    Only candidate pairs that can change a story are looked at: in the first
    pass those near in time or with the same title, in the second those with
    an item in a story of several. ``every_pair`` looks at all of them, in
    the same order, and must give the same stories (a test checks it).
    """
    items = [d for d in documents if d.kind in CLUSTERED_KINDS]
    for doc in documents:
        doc.story = doc.id
    if not items:
        return
    providers = {name.casefold() for d in documents for name in (d.provider, d.provider_domain) if name}
    words = _Words()
    profiles = [_Profile(d, providers, words) for d in items]
    weights = _idf(profiles, len(words.numbers))
    vectors = _Vectors(profiles, weights)
    groups = _UnionFind(len(items))
    pairs = _candidate_pairs(profiles, weights, list(words.numbers))
    possible = np.ones(pairs.size, dtype=bool) if every_pair else _maybe_same_story(profiles, pairs)
    for a, b in zip(pairs.first[possible].tolist(), pairs.second[possible].tolist(), strict=True):
        if _same_story(profiles[a], profiles[b], vectors[a], vectors[b]):
            groups.union(a, b)
    _join_to_stories(pairs, profiles, vectors, groups, every_pair)
    members: dict[int, list[int]] = defaultdict(list)
    for position in range(len(items)):
        members[groups.find(position)].append(position)
    for positions in members.values():
        # The story is named after its earliest item, so the id stays put as copies arrive.
        first = min(positions, key=lambda p: (items[p].published is None, items[p].published or 0, items[p].id))
        for position in positions:
            items[position].story = f"s-{items[first].id.split('-', 1)[-1]}"


@dataclass
class _Pairs:
    """Candidate pairs of items (``first[k] < second[k]``), each once, in the order first proposed."""

    first: np.ndarray
    second: np.ndarray

    @property
    def size(self) -> int:
        return int(self.first.size)


def _maybe_same_story(profiles: list[_Profile], pairs: _Pairs) -> np.ndarray:
    """Which pairs :func:`_same_story` can accept: near in time, or the same title of enough words.

    Any other pair it refuses; at 100,000 documents they were over 99 % of millions.
    """
    days = np.array([p.day or 0 for p in profiles], dtype=np.int64)
    dated = np.array([p.day is not None for p in profiles], dtype=bool)
    title_numbers: dict[str, int] = {}
    titles = np.array([title_numbers.setdefault(p.title_key, len(title_numbers)) for p in profiles], dtype=np.int64)
    long_title = np.array([len(p.title_words) >= MIN_TITLE_WORDS for p in profiles], dtype=bool)
    a, b = pairs.first, pairs.second
    near = dated[a] & dated[b] & (np.abs(days[a] - days[b]) <= STORY_WINDOW_DAYS)
    return near | ((titles[a] == titles[b]) & long_title[a])


def _join_to_stories(
    pairs: _Pairs, profiles: list[_Profile], vectors: _Vectors, groups: _UnionFind, every_pair: bool
) -> None:
    """Second pass: an item joins a story whose words, taken together, it shares enough of.

    A rewritten headline may resemble no single copy closely and still tell
    the story the copies tell together (their centroid). A pair can only
    join when one of its items is, at that moment, in a story of several
    items; the others are passed over.
    """
    members: dict[int, list[int]] = defaultdict(list)
    for position in range(len(profiles)):
        members[groups.find(position)].append(position)
    centroids = {root: _centroid([vectors[p] for p in group]) for root, group in members.items() if len(group) > 1}
    schedule = _StorySchedule(pairs, members, len(profiles), every_pair)
    for k in schedule:  # few of all pairs: their items are read one by one, not turned into lists
        a, b = int(pairs.first[k]), int(pairs.second[k])
        root_a, root_b = groups.find(a), groups.find(b)
        if root_a == root_b:
            continue
        for item, story in ((a, members.get(root_b)), (b, members.get(root_a))):
            if not story or len(story) < 2:
                continue
            near = any(_near(profiles[item], profiles[other]) for other in story)
            centroid = centroids.get(groups.find(story[0]))
            if near and centroid and _cosine(vectors[item], centroid) >= SAME_STORY_AS_GROUP:
                schedule.merged(groups.find(item), groups.find(story[0]), k)
                groups.union(item, story[0])
                break


class _StorySchedule:
    """The pair numbers the second pass looks at, in order: those with an item in a story of several.

    ``members`` holds the stories as the pass began; a group's story is the
    one of its root. When a join makes a group's root one with a story of
    several, its items' later pairs are added as the pass goes.
    """

    def __init__(self, pairs: _Pairs, members: dict[int, list[int]], items: int, every_pair: bool) -> None:
        self.pairs, self.members = pairs, members
        self.groups = {root: list(group) for root, group in members.items()}  # the groups as they are now
        self.in_story = np.zeros(items, dtype=bool)
        for group in members.values():
            if len(group) > 1:
                self.in_story[group] = True
        if every_pair:
            self.in_story[:] = True
        self.planned = np.flatnonzero(self.in_story[pairs.first] | self.in_story[pairs.second]).tolist()
        self.added: list[int] = []  # a heap of pair numbers
        self._by_item: np.ndarray | None = None

    def __iter__(self) -> Iterator[int]:
        planned, added, last, index = self.planned, self.added, -1, 0
        while index < len(planned) or added:
            if added and (index == len(planned) or added[0] < planned[index]):
                k = heapq.heappop(added)
            else:
                k, index = planned[index], index + 1
            if k != last:
                last = k
                yield k

    def merged(self, root_a: int, root_b: int, at: int) -> None:
        """Groups ``root_a`` and ``root_b`` become one at pair ``at`` (under the lower root, as in ``_UnionFind``)."""
        root = min(root_a, root_b)
        group = self.groups.pop(root_a) + self.groups.pop(root_b)
        self.groups[root] = group
        if len(self.members.get(root, ())) < 2:
            return
        for item in group:
            if not self.in_story[item]:
                self.in_story[item] = True
                for k in self._pairs_of(item):
                    if k > at:
                        heapq.heappush(self.added, k)

    def _pairs_of(self, item: int) -> list[int]:
        if self._by_item is None:  # built on the first join that needs it: most builds have none
            ends = np.concatenate([self.pairs.first, self.pairs.second])
            self._by_item = np.argsort(ends, kind="stable")
            self._ends = ends[self._by_item]
        lo, hi = np.searchsorted(self._ends, [item, item + 1])
        return (self._by_item[lo:hi] % self.pairs.size).tolist()


class _Vectors:
    """Each item's TF-IDF vector, made when first asked for: most items are in no possible pair."""

    def __init__(self, profiles: list[_Profile], weights: list[float]) -> None:
        self.profiles, self.weights = profiles, weights
        self.made: dict[int, dict[int, float]] = {}

    def __getitem__(self, position: int) -> dict[int, float]:
        vector = self.made.get(position)
        if vector is None:
            vector = self.made[position] = self.profiles[position].vector(self.weights)
        return vector


def _centroid(vectors: list[dict[int, float]]) -> dict[int, float]:
    total: dict[int, float] = defaultdict(float)
    for vector in vectors:
        for word, value in vector.items():
            total[word] += value
    norm = math.sqrt(sum(v * v for v in total.values())) or 1.0
    return {w: v / norm for w, v in total.items()}


def _near(a: _Profile, b: _Profile) -> bool:
    return a.day is not None and b.day is not None and abs(a.day - b.day) <= STORY_WINDOW_DAYS


class _Words:
    """The analyzer's terms of titles and excerpts, numbered as first seen (0: a word it drops).

    Profiles, weights, blocks and vectors work on the numbers: on the terms'
    texts, counting document frequencies and sorting each title's words by
    rarity took a fifth of the stories' time.
    """

    def __init__(self) -> None:
        self.numbers = TermNumbers()
        self._numbered = WordNumbers(_TOKENIZER.term_of, self.numbers).__getitem__

    def of(self, text: str) -> list[int]:
        """The numbers of the terms of ``text``, in order."""
        return list(filter(None, map(self._numbered, _TOKENIZER.words(text))))


class _Profile:
    """The words of one item that decide whether it is a copy of another."""

    def __init__(self, doc: Document, providers: set[str], words: _Words) -> None:
        self.doc = doc
        title = _TITLE_HEAD.sub("", doc.title.strip())
        tail = _TITLE_TAIL.search(title)
        if tail and tail.group(1).strip().casefold() in providers:
            title = title[: tail.start()]
        self.title_words = words.of(title)
        self.title_key = tuple(self.title_words)
        self.excerpt_words = words.of(doc.excerpt)
        self.day = doc.published.toordinal() if doc.published else None

    def counts(self) -> dict[int, float]:
        counts: dict[int, float] = defaultdict(float)
        for word in self.title_words:
            counts[word] += 2.0
        for word in self.excerpt_words:
            counts[word] += 1.0
        return counts

    def vector(self, weights: list[float]) -> dict[int, float]:
        vector = {w: (1 + math.log(c)) * weights[w] for w, c in self.counts().items()}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {w: v / norm for w, v in vector.items()}


def _idf(profiles: list[_Profile], vocabulary: int) -> list[float]:
    """Each word number's inverse document frequency among the profiles (0.0 for a word in none)."""
    seen = array("I")  # each profile's distinct words, one after the other
    for profile in profiles:
        seen.extend({*profile.title_words, *profile.excerpt_words})
    frequency = np.bincount(np.frombuffer(seen, dtype=np.uint32), minlength=vocabulary).tolist()
    total = len(profiles)
    return [math.log(1 + total / f) if f else 0.0 for f in frequency]


def _candidate_pairs(profiles: list[_Profile], weights: list[float], terms: list[str]) -> _Pairs:
    """Pairs that share a rare title word or a whole title, or are linked as related coverage.

    ``terms``: the text of each word number (ties of rarity go by it).
    """
    blocks: dict[str | int | tuple[int, ...], list[int]] = defaultdict(list)
    by_rarity = sorted(range(len(terms)), key=lambda w: (-weights[w], terms[w]))
    rarity = [0] * len(terms)
    for rank, word in enumerate(by_rarity):
        rarity[word] = rank
    rarest_first = rarity.__getitem__
    for position, profile in enumerate(profiles):
        blocks["\x01" + profile.doc.id].append(position)
        for linked_id in {*profile.doc.related_ids, profile.doc.parent_id} - {""}:
            blocks["\x01" + linked_id].append(position)
        rarest = sorted(set(profile.title_words), key=rarest_first)[:BLOCKING_WORDS]
        for word in rarest:
            blocks[word].append(position)
        if len(profile.title_words) >= MIN_TITLE_WORDS:
            blocks[profile.title_key].append(position)
    return _pairs_of_blocks([b for b in blocks.values() if 2 <= len(b) <= MAX_BLOCK_SIZE], len(profiles))


def _pairs_of_blocks(blocks: list[list[int]], items: int) -> _Pairs:
    """Every pair within each block, block by block, each pair once where it first appears.

    Built as arrays, blocks of one size at a time: a set of millions of
    tuples took most of a build's assembly time and gigabytes at a million.
    """
    sizes = np.array([len(b) for b in blocks], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes * (sizes - 1) // 2)])
    first = np.empty(starts[-1], dtype=np.int32)  # fewer than 2**31 items
    second = np.empty(starts[-1], dtype=np.int32)
    for size in np.unique(sizes).tolist():
        numbers = np.flatnonzero(sizes == size)
        members = np.array([blocks[n] for n in numbers.tolist()], dtype=np.int32)
        i, j = np.triu_indices(size, k=1)  # a block's pairs in the order (0, 1), (0, 2), ... (1, 2), ...
        at = (starts[numbers][:, None] + np.arange(i.size)).ravel()
        a, b = members[:, i].ravel(), members[:, j].ravel()
        first[at], second[at] = np.minimum(a, b), np.maximum(a, b)
    _, first_seen = np.unique(first.astype(np.int64) * items + second, return_index=True)
    keep = np.sort(first_seen)
    return _Pairs(first[keep], second[keep])


def _same_story(a: _Profile, b: _Profile, va: dict[int, float], vb: dict[int, float]) -> bool:
    near = _near(a, b)
    if a.title_key == b.title_key and len(a.title_words) >= MIN_TITLE_WORDS:
        if near:
            return True
        both_described = min(len(a.excerpt_words), len(b.excerpt_words)) >= MIN_EXCERPT_WORDS
        return not (both_described and _jaccard(a.excerpt_words, b.excerpt_words) < DIFFERENT_EXCERPTS)
    if not near:
        return False
    return _cosine(va, vb) >= SAME_STORY


def _cosine(a: dict[int, float], b: dict[int, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(w, 0.0) for w, v in a.items())


def _jaccard(a: list[int], b: list[int]) -> float:
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
