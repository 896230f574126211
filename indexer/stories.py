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
    pairs = list(_candidate_pairs(profiles, weights))
    for a, b in pairs:
        if _same_story(profiles[a], profiles[b], vectors[a], vectors[b]):
            groups.union(a, b)
    _join_to_stories(pairs, profiles, vectors, groups)
    members: dict[int, list[int]] = defaultdict(list)
    for position in range(len(items)):
        members[groups.find(position)].append(position)
    for positions in members.values():
        # The story is named after its earliest item, so the id stays put as copies arrive.
        first = min(positions, key=lambda p: (items[p].published is None, items[p].published or 0, items[p].id))
        for position in positions:
            items[position].story = f"s-{items[first].id.split('-', 1)[-1]}"


def _join_to_stories(
    pairs: list[tuple[int, int]], profiles: list[_Profile], vectors: list[dict[str, float]], groups: _UnionFind
) -> None:
    """Second pass: an item joins a story whose words, taken together, it shares enough of.

    A rewritten headline may resemble no single copy closely and still tell
    the story the copies tell together (their centroid).
    """
    members: dict[int, list[int]] = defaultdict(list)
    for position in range(len(profiles)):
        members[groups.find(position)].append(position)
    centroids = {root: _centroid([vectors[p] for p in group]) for root, group in members.items() if len(group) > 1}
    for a, b in pairs:
        root_a, root_b = groups.find(a), groups.find(b)
        if root_a == root_b:
            continue
        for item, story in ((a, members.get(root_b)), (b, members.get(root_a))):
            if not story or len(story) < 2:
                continue
            near = any(_near(profiles[item], profiles[other]) for other in story)
            centroid = centroids.get(groups.find(story[0]))
            if near and centroid and _cosine(vectors[item], centroid) >= SAME_STORY_AS_GROUP:
                groups.union(item, story[0])
                break


def _centroid(vectors: list[dict[str, float]]) -> dict[str, float]:
    total: dict[str, float] = defaultdict(float)
    for vector in vectors:
        for word, value in vector.items():
            total[word] += value
    norm = math.sqrt(sum(v * v for v in total.values())) or 1.0
    return {w: v / norm for w, v in total.items()}


def _near(a: _Profile, b: _Profile) -> bool:
    return a.day is not None and b.day is not None and abs(a.day - b.day) <= STORY_WINDOW_DAYS


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
    return _TOKENIZER.terms(text)


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
    near = _near(a, b)
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
