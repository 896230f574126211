"""Deterministic generator of realistic sources, in the real formats, at any size.

News records are YAML front matter like ``../shared/corpus/news-*``: title,
excerpt, ``publishedDateTime`` with an offset, ``originalUrl``/``webUrl``,
provider ``{name, domain}``, topics, images, sometimes related articles,
quality and heat. Words follow a Zipf law over a vocabulary of real domain
words and generated ones; providers and topics are Zipf-distributed too;
dates spread over ten years. A share of the documents are long report pages
(title line, ``Author:`` line, navigation and footer boilerplate, 20–180 KB).

    python benchmarks/generate.py N OUT_DIR [--seed 1] [--report-share 0.02]

The same N and seed always give the same files.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np

DOMAIN_WORDS = [
    "china",
    "russia",
    "ukraine",
    "taiwan",
    "iran",
    "israel",
    "india",
    "europe",
    "nato",
    "sanctions",
    "export",
    "controls",
    "chips",
    "semiconductor",
    "ai",
    "artificial",
    "intelligence",
    "model",
    "drone",
    "missile",
    "cyber",
    "attack",
    "election",
    "disinformation",
    "military",
    "defense",
    "security",
    "policy",
    "trade",
    "tariff",
    "energy",
    "gas",
    "oil",
    "nuclear",
    "treaty",
    "ceasefire",
    "war",
    "border",
    "strategy",
    "alliance",
    "summit",
    "minister",
    "president",
    "government",
    "parliament",
    "economy",
    "market",
    "supply",
    "chain",
    "technology",
    "data",
    "cloud",
    "quantum",
    "surveillance",
    "satellite",
    "space",
    "navy",
    "army",
    "troops",
    "refugee",
    "humanitarian",
    "aid",
    "crisis",
    "conflict",
    "diplomacy",
    "talks",
    "agreement",
    "regulation",
    "law",
    "court",
    "investment",
    "bank",
    "inflation",
    "growth",
    "report",
    "analysis",
    "research",
    "warning",
    "risk",
]
TOPICS = [
    "AI",
    "Geopolitics",
    "Cybersecurity",
    "Semiconductors",
    "Defense",
    "Trade",
    "Energy",
    "Elections",
    "Sanctions",
    "Space",
    "AI in Robotics",
    "Disinformation",
    "Nuclear",
    "Climate",
    "Human Rights",
    "Supply Chains",
    "Quantum",
    "Surveillance",
    "Middle East",
    "Indo-Pacific",
    "Europe",
    "Africa",
    "Latin America",
    "Arctic",
    "Finance",
]
PROVIDERS = [(f"Provider {n}", f"provider{n}.example.com") for n in range(1, 301)]
FOOTER = [
    "Subscribe to our newsletter",
    "We don't spam! Read our privacy policy for more info.",
    "Shopping cart (0 items)",
    "1234 Example Street, Washington DC",
    "© 2025 Example Institute. All rights reserved.",
]
SYLLABLES = [
    "ka",
    "ro",
    "mi",
    "tan",
    "vel",
    "dor",
    "sep",
    "lin",
    "gar",
    "phi",
    "zu",
    "mor",
    "ten",
    "bra",
    "xi",
    "nu",
    "ost",
    "re",
    "ap",
    "lu",
]


def vocabulary(rng: np.random.Generator, size: int = 60_000) -> list[str]:
    """Domain words first (the most frequent), then generated pseudo-words."""
    words = list(DOMAIN_WORDS)
    seen = set(words)
    while len(words) < size:
        word = "".join(rng.choice(SYLLABLES, size=int(rng.integers(2, 5))))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def zipf_weights(count: int, exponent: float = 1.07) -> np.ndarray:
    weights = 1.0 / np.arange(1, count + 1) ** exponent
    return weights / weights.sum()


class Generator:
    """Draws documents from fixed, seeded distributions."""

    def __init__(self, seed: int, report_share: float) -> None:
        self.rng = np.random.default_rng(seed)
        self.words = np.array(vocabulary(self.rng))
        # Cumulative weights: one searchsorted per draw instead of re-normalising per call.
        self.word_cdf = np.cumsum(zipf_weights(len(self.words)))
        self.provider_cdf = np.cumsum(zipf_weights(len(PROVIDERS), 1.2))
        self.topic_cdf = np.cumsum(zipf_weights(len(TOPICS), 1.0))
        self.report_share = report_share
        self.start = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)

    def draw(self, cdf: np.ndarray, count: int) -> np.ndarray:
        return np.minimum(np.searchsorted(cdf, self.rng.random(count)), len(cdf) - 1)

    def text(self, count: int) -> str:
        return " ".join(self.words[self.draw(self.word_cdf, count)])

    def provider(self) -> tuple[str, str]:
        return PROVIDERS[int(self.draw(self.provider_cdf, 1)[0])]

    def sentence(self, low: int, high: int) -> str:
        text = self.text(int(self.rng.integers(low, high)))
        return text[:1].upper() + text[1:]

    def moment(self) -> dt.datetime:
        seconds = int(self.rng.integers(0, 10 * 365 * 86400))
        offset = dt.timezone(dt.timedelta(hours=int(self.rng.choice([-5, 0, 1, 2, 8]))))
        return (self.start + dt.timedelta(seconds=seconds)).astimezone(offset)

    def news(self, number: int) -> str:
        name, domain = self.provider()
        topics = sorted({TOPICS[int(i)] for i in self.draw(self.topic_cdf, 3)})
        title = self.sentence(6, 14).replace('"', "")
        url = f"https://{domain}/{number // 1000}/{number}-{title.split()[0].lower()}"
        lines = [
            "---",
            "category: news",
            f'title: "{title}"',
            f'excerpt: "{self.sentence(25, 60)} ..."',
            f"publishedDateTime: {self.moment().isoformat()}",
            f'originalUrl: "{url}"',
            f'webUrl: "{url}"',
            "type: article",
            "provider:",
            f"  name: {name}",
            f"  domain: {domain}",
            "topics:",
            *[f"  - {t}" for t in topics],
            "images:",
            f'  - url: "https://{domain}/img/{number}.jpg"',
            "    width: 600",
            "    height: 400",
            f"quality: {int(self.rng.integers(1, 6))}",
            f"heat: {int(self.rng.integers(0, 1000))}",
        ]
        if self.rng.random() < 0.08:
            lines.append("related:")
            for k in range(int(self.rng.integers(1, 4))):
                rname, rdomain = self.provider()
                lines += [
                    f'  - title: "{self.sentence(6, 12)}"',
                    f'    excerpt: "{self.sentence(15, 30)}"',
                    f"    publishedDateTime: {self.moment().isoformat()}",
                    f'    webUrl: "https://{rdomain}/r/{number}-{k}"',
                    f"    provider: {{name: {rname}, domain: {rdomain}}}",
                ]
        return "\n".join([*lines, "---", ""])

    def report(self, number: int) -> str:
        paragraphs = [self.sentence(40, 160) + "." for _ in range(int(self.rng.integers(20, 150)))]
        return "\n".join(
            [
                self.sentence(5, 10),
                "",
                "* Home",
                "* Reports",
                "* About",
                "",
                f"Author: Analyst {number % 97}",
                "",
                *[p + "\n" for p in paragraphs],
                *FOOTER,
            ]
        )

    def write(self, count: int, out: Path) -> None:
        for number in range(count):
            folder = out / f"{number // 1000:04d}"
            if number % 1000 == 0:
                folder.mkdir(parents=True, exist_ok=True)
            if self.rng.random() < self.report_share:
                day = self.moment().date().isoformat()
                (folder / f"{day}-report-{number}.txt").write_text(self.report(number), "utf-8")
            else:
                (folder / f"{number}.md").write_text(self.news(number), "utf-8")


def generate(count: int, out: Path, seed: int = 1, report_share: float = 0.02) -> Path:
    """Write ``count`` sources under ``out`` once; reuse them when already complete."""
    marker = out / ".complete"
    stamp = f"{count} {seed} {report_share}\n"
    if marker.exists() and marker.read_text() == stamp:
        return out
    Generator(seed, report_share).write(count, out)
    marker.write_text(stamp)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--report-share", type=float, default=0.02)
    args = parser.parse_args()
    generate(args.n, args.out, args.seed, args.report_share)


if __name__ == "__main__":
    main()
