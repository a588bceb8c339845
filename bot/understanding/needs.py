"""Understand what a citizen needs (a bookable service or an intent) from free words.

A labelled corpus (bot/corpus/needs.tsv: what citizens write, each line labelled with a service
code or an intent) is indexed with Okapi BM25, each label being one document made of all its
examples (so a word said under every label, "quiero", "mi", "que", weighs next to nothing):

- Words are normalised (`bot.understanding.text.normalise`), runs of a repeated vowel or of three
  or more equal letters squeezed ("holaaa" -> "hola", "graciaas" -> "gracias"), and stemmed with the
  Snowball stemmers (the `snowballstemmer` package, accelerated by PyStemmer): Spanish and
  English both, whatever the conversation's language, because people mix them. Pairs of adjacent
  Spanish stems are terms too ("cancel cit" says more than "cit").
- A third field holds each example whole (its stems joined), weighted by `WHOLE_WEIGHT`: a
  message equal to a phrasing of the corpus («hola», «cul») counts as that phrasing, however
  common its words are across labels. Cross-validation cannot see this (its held-out phrasings
  are never in the index), so the weight is a choice: enough for «hola» alone to be confident.
- A second BM25 field holds the character 3-grams of every word (with its edges), weighted by
  `CHAR_WEIGHT`: that is how "conciliasion", "certifcado" or "sita" still find their label.
- Beside BM25, each label has a centroid: the mean of its examples' character 3-4-gram TF-IDF
  vectors (sublinear counts, each example normalised to length 1). The cosine between a message
  and each centroid, weighted by `CENTROID_WEIGHT`, is added to the label's BM25 score: BM25
  over one big document per label favours small labels (length normalisation) and words that
  happen to be frequent in one label; the centroid votes with every example of a label equally.
- Place names (Peru's departments, their capitals and provinces, from core/data/tenants.yaml and
  core/data/places.tsv) are taken out of messages and examples before anything is counted: a
  place says where, never what, so «arequipa» or «no, en cusco» alone understands nothing.
- Scores become probabilities with a softmax over the labels plus one "nothing" alternative of
  fixed score (`NOTHING_SCORE`), so a message that matches nothing ("asdfgh", "😎") gives every
  label a low probability instead of a uniform guess. The temperature grows with the square
  root of the message's distinct terms, since BM25 sums grow with length.

Why not scikit-learn: importing it (with SciPy) takes 1.2-3.5 s on the 2-core machine, far over
the 300 ms load budget; on the same held-out split its LinearSVC over word+char n-grams scored
88.7% / 97.4% (top-1 / top-3) on the corpus of 2,098 rows. Figures for this model are in
docs/benchmarks.md. K1, B, CHAR_WEIGHT, CENTROID_WEIGHT and the thresholds were chosen by
5-fold cross-validation on the train split only (the temperature and the "nothing" score too, on
the first corpus, and checked again since); the held-out test split is for measuring
(tests/unit/test_needs.py, bench/bench_needs.py).
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Final, Literal

import snowballstemmer

from bot.understanding.text import normalise

CORPUS_PATH: Final = Path(__file__).parents[1] / "corpus" / "needs.tsv"
"""The labelled corpus shipped with the package."""
# core.catalog.DATA, not imported from there: core.catalog loads SQLAlchemy (over a second).
_DATA: Final = Path(__file__).resolve().parents[2] / "core" / "data"
PLACE_FILES: Final = (_DATA / "tenants.yaml", _DATA / "places.tsv")
"""Where place names are read: the regions and their capitals, and the provinces."""

INTENTS: Final = (
    "book", "my_appointments", "cancel", "reschedule", "events", "human", "delete_data",
    "greeting", "thanks", "complaint", "help",
)  # fmt: skip
"""Labels that are not a service code."""

K1: Final = 1.2
"""BM25 term-frequency saturation (bottom of the usual 1.2-2.0: best in CV on train)."""
B: Final = 0.5
"""BM25 length normalisation (under the usual 0.75: best in CV on train)."""
CHAR_WEIGHT: Final = 0.4
"""Weight of the character 3-gram field against the stem field (best in CV on train)."""
CENTROID_WEIGHT: Final = 30.0
"""Weight of the cosine to each label's character 3-4-gram centroid (best in CV on train)."""
WHOLE_WEIGHT: Final = 3.0
"""Weight of the whole-message field: a message equal to a corpus phrasing is that phrasing."""
TEMPERATURE: Final = 1.0
"""Softmax temperature over label scores, per square root of the message's distinct terms."""
NOTHING_SCORE: Final = 8.0
"""Score of the "nothing" alternative: a label must beat it clearly to be likely at all."""
MAX_CHARS: Final = 800
"""Only the first characters of a message are read: a long story tells its need early, and
this keeps the longest message within 2 ms of CPU here (bench/bench_needs.py)."""

CONFIDENT: Final = 0.75
"""From this probability the best label is taken (97.6% right, 82% of messages, in CV)."""
UNSURE: Final = 0.1
"""Below this, nothing was understood (gibberish stays under 0.06; 0.08% of real messages)."""
OFFER_FLOOR: Final = 0.05
"""Labels offered when unsure: the best two or three at or above this probability."""

Verdict = Literal["confident", "unsure", "nothing"]

_STEMMERS: Final = {
    "spanish": snowballstemmer.stemmer("spanish"),
    "english": snowballstemmer.stemmer("english"),
}
_STEM_LOCK: Final = threading.Lock()  # PyStemmer's stemmers are not thread-safe.
_VOWEL_RUN: Final = re.compile(r"([aeiou])\1+")
_LETTER_RUN: Final = re.compile(r"([a-z])\1\1+")
_SUBLINEAR: Final = tuple(1.0 + math.log(n) if n else 0.0 for n in range(8))
_TENANT_NAME: Final = re.compile(r"^\s*(?:- )?(?:name|capital):\s*(.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Example:
    """One corpus line: what a citizen wrote, its label, language and split."""

    text: str
    label: str
    lang: str
    split: str


@dataclass(frozen=True, slots=True)
class Understanding:
    """What a message asks for: confident (one label), unsure (two or three), or nothing."""

    verdict: Verdict
    labels: tuple[str, ...]


def load_corpus(path: Path = CORPUS_PATH) -> tuple[Example, ...]:
    """Read the labelled corpus (TSV with '#' comments and a header line)."""
    examples: list[Example] = []
    rows = [
        (number, line)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if line and line[0] != "#"
    ]
    if not rows or rows[0][1].split("\t") != ["text", "label", "lang", "split"]:
        raise ValueError(f"{path}: the first line that is not a comment must be the header")
    for number, line in rows[1:]:
        fields = line.split("\t")
        if (
            len(fields) != 4
            or not fields[0].strip()
            or not fields[1]
            or fields[2] not in ("es", "en", "qu")
            or fields[3] not in ("train", "test")
        ):
            raise ValueError(f"{path}: malformed line {number}: {line!r}")
        examples.append(Example(*fields))
    return tuple(examples)


@lru_cache(maxsize=1)
def _place_names() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Return the normalised place names (regions, capitals, provinces) by their first word."""
    tenants, places = PLACE_FILES
    names = {normalise(n) for n in _TENANT_NAME.findall(tenants.read_text(encoding="utf-8"))}
    for line in places.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if line[:1] != "#" and len(fields) == 4 and fields[1] == "province":
            names.add(normalise(fields[2]))
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for name in sorted((tuple(n.split()) for n in names if n), key=lambda n: (-len(n), n)):
        by_first.setdefault(name[0], []).append(name)
    return {first: tuple(group) for first, group in by_first.items()}


def _without_places(words: list[str]) -> list[str]:
    """Return the words with every place name (whole words, longest first) taken out."""
    places = _place_names()
    if places.keys().isdisjoint(words):
        return words
    kept: list[str] = []
    i = 0
    while i < len(words):
        names = places.get(words[i], ())
        hit = next((n for n in names if tuple(words[i : i + len(n)]) == n), None)
        if hit is None:
            kept.append(words[i])
            i += 1
        else:
            i += len(hit)
    return kept


@lru_cache(maxsize=65536)
def _squeeze(word: str) -> str:
    """Squeeze repeated vowels and runs of 3+ equal letters ("holaaa" -> "hola")."""
    return _LETTER_RUN.sub(r"\1", _VOWEL_RUN.sub(r"\1", word))


@lru_cache(maxsize=65536)
def _word_terms(word: str) -> tuple[str, ...]:
    """Return the Spanish and English Snowball stems of one squeezed word."""
    with _STEM_LOCK:
        es: str = _STEMMERS["spanish"].stemWord(word)
        en: str = _STEMMERS["english"].stemWord(word)
    return (es,) if es == en else (es, "e:" + en)


@lru_cache(maxsize=65536)
def _char_terms(word: str) -> tuple[str, ...]:
    """Return the character 3-grams of a word with its edges marked ("<ho", "hol", ...)."""
    padded = f"<{word}>"
    return tuple(dict.fromkeys(padded[i : i + 3] for i in range(len(padded) - 2)))


@lru_cache(maxsize=65536)
def _long_char_terms(word: str) -> tuple[str, ...]:
    """Return the character 3- and 4-grams of a word with its edges marked."""
    padded = f"<{word}>"
    return tuple(padded[i : i + n] for n in (3, 4) for i in range(len(padded) - n + 1))


def _words(text: str) -> list[str]:
    """Return the squeezed, normalised words of a text, place names taken out."""
    return [_squeeze(w) for w in _without_places(normalise(text[:MAX_CHARS]).split())]


def _stem_terms(words: Sequence[str]) -> list[str]:
    """Return the stem terms of words plus the pairs of adjacent Spanish stems."""
    terms: list[str] = []
    firsts: list[str] = []
    for word in words:
        stems = _word_terms(word)
        terms.extend(stems)
        firsts.append(stems[0])
    terms.extend(f"{a}_{b}" for a, b in pairwise(firsts))
    return terms


def _whole_terms(words: Sequence[str]) -> list[str]:
    """Return the whole text as one term (its Spanish stems joined), or nothing if empty."""
    return ["_".join(_word_terms(w)[0] for w in words)] if words else []


class _Field:
    """One BM25 field over the labels: per term, the precomputed weight of each label holding it."""

    def __init__(self, docs: Sequence[Sequence[str]]) -> None:
        count = len(docs)
        avg = max(sum(len(d) for d in docs) / count, 1.0) if count else 1.0
        frequencies: dict[str, dict[int, int]] = {}
        for index, doc in enumerate(docs):
            for term in doc:
                postings = frequencies.setdefault(term, {})
                postings[index] = postings.get(index, 0) + 1
        self.postings: dict[str, tuple[tuple[int, float], ...]] = {}
        for term, postings in frequencies.items():
            idf = math.log(1.0 + (count - len(postings) + 0.5) / (len(postings) + 0.5))
            self.postings[term] = tuple(
                (i, idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * len(docs[i]) / avg)))
                for i, tf in postings.items()
            )

    def add(self, terms: Iterable[str], weight: float, scores: list[float]) -> None:
        """Add each distinct term's weight for every label holding it into scores."""
        for term in dict.fromkeys(terms):
            for index, value in self.postings.get(term, ()):
                scores[index] += weight * value


class _Centroids:
    """Per label, the normalised mean of its examples' character n-gram TF-IDF vectors."""

    def __init__(self, docs: Sequence[Sequence[str]], labels: Sequence[int], count: int) -> None:
        frequencies: Counter[str] = Counter()
        bags = [Counter(doc) for doc in docs]
        for bag in bags:
            frequencies.update(bag.keys())
        size = len(bags)
        self.idf = {t: math.log((1 + size) / (1 + n)) + 1.0 for t, n in frequencies.items()}
        squares = {t: x * x for t, x in self.idf.items()}
        # Each example's vector is idf * sublinear count / its norm: the idf is factored out of
        # the sums and put back once per label and term (this is the load time's hot loop).
        sums: list[dict[str, float]] = [{} for _ in range(count)]
        for bag, label in zip(bags, labels, strict=True):
            if max(bag.values(), default=1) == 1:
                inverse = 1.0 / math.sqrt(sum(map(squares.__getitem__, bag)) or 1.0)
                total = sums[label]
                for term in bag:
                    total[term] = total.get(term, 0.0) + inverse
                continue
            weights = {t: _SUBLINEAR[n] if n < 8 else 1.0 + math.log(n) for t, n in bag.items()}
            inverse = 1.0 / math.sqrt(sum(squares[t] * w * w for t, w in weights.items()))
            total = sums[label]
            for term, weight in weights.items():
                total[term] = total.get(term, 0.0) + weight * inverse
        self.postings: dict[str, list[tuple[int, float]]] = {}
        for label, total in enumerate(sums):
            vector = {t: x * self.idf[t] for t, x in total.items()}
            norm = math.sqrt(sum(x * x for x in vector.values())) or 1.0
            for term, value in vector.items():
                self.postings.setdefault(term, []).append((label, value / norm))
        # What a message's term needs, in one look-up: its idf and the centroids holding it.
        self._table = {t: (self.idf[t], tuple(p)) for t, p in self.postings.items()}

    def add(self, terms: Iterable[str], weight: float, scores: list[float]) -> None:
        """Add weight times the cosine between the terms and each label's centroid into scores."""
        # One pass: the message's vector is not built, its norm is summed along the dot products.
        sums = [0.0] * len(scores)
        square = 0.0
        table = self._table
        for term, n in Counter(terms).items():
            entry = table.get(term)
            if entry is None:
                continue
            idf, postings = entry
            value = idf if n == 1 else (_SUBLINEAR[n] if n < 8 else 1.0 + math.log(n)) * idf
            square += value * value
            for index, centre in postings:
                sums[index] += value * centre
        if square:
            scale = weight / math.sqrt(square)
            for index, total in enumerate(sums):
                scores[index] += scale * total


class NeedsModel:
    """A BM25 index whose documents are the labels (all their examples) a message may mean."""

    def __init__(self, examples: Sequence[Example]) -> None:
        self.labels: tuple[str, ...] = tuple(dict.fromkeys(e.label for e in examples))
        position = {label: i for i, label in enumerate(self.labels)}
        stems: list[list[str]] = [[] for _ in self.labels]
        chars: list[list[str]] = [[] for _ in self.labels]
        wholes: list[list[str]] = [[] for _ in self.labels]
        grams: list[list[str]] = []
        for example in examples:
            words = _words(example.text)
            grams.append([g for w in words for g in _long_char_terms(w)])
            stems[position[example.label]].extend(_stem_terms(words))
            chars[position[example.label]].extend(g for w in words for g in _char_terms(w))
            wholes[position[example.label]].extend(_whole_terms(words))
        self._stems = _Field(stems)
        self._chars = _Field(chars)
        self._wholes = _Field(wholes)
        owners = [position[e.label] for e in examples]
        self._centroids = _Centroids(grams, owners, len(self.labels))

    def label_scores(self, text: str) -> tuple[list[float], int]:
        """Return each label's score (BM25 plus centroid cosine) and the count of distinct stems."""
        words = _words(text)
        terms = _stem_terms(words)
        scores = [0.0] * len(self.labels)
        self._stems.add(terms, 1.0, scores)
        self._chars.add((g for w in words for g in _char_terms(w)), CHAR_WEIGHT, scores)
        self._wholes.add(_whole_terms(words), WHOLE_WEIGHT, scores)
        grams = (g for w in words for g in _long_char_terms(w))
        self._centroids.add(grams, CENTROID_WEIGHT, scores)
        return scores, len(set(terms))

    def classify(self, text: str) -> list[tuple[str, float]]:
        """Return every label with its probability, most likely first (ties in corpus order)."""
        raw, size = self.label_scores(text)
        # Scores grow with the message's length: the temperature grows with it too, so a long
        # story is not more certain than a short request just for being long.
        temperature = TEMPERATURE * math.sqrt(max(size, 1))
        top = max([NOTHING_SCORE, *raw])
        exps = [math.exp((s - top) / temperature) for s in raw]
        total = math.exp((NOTHING_SCORE - top) / temperature) + sum(exps)
        ranked = sorted(range(len(raw)), key=lambda i: -exps[i])
        return [(self.labels[i], exps[i] / total) for i in ranked]


def decide(ranking: Sequence[tuple[str, float]]) -> Understanding:
    """Say whether a ranking is confident (one label), unsure (best two or three) or nothing."""
    if not ranking or ranking[0][1] < UNSURE:
        return Understanding("nothing", ())
    if ranking[0][1] >= CONFIDENT:
        return Understanding("confident", (ranking[0][0],))
    offered = [label for label, p in ranking[:3] if p >= OFFER_FLOOR]
    return Understanding("unsure", tuple(offered))


@lru_cache(maxsize=1)
def model() -> NeedsModel:
    """Return the model over the whole shipped corpus (train and test), built once."""
    return NeedsModel(load_corpus())


def classify(text: str, lang: str = "es") -> list[tuple[str, float]]:
    """Rank the labels (service codes and intents) a message may mean, with probabilities."""
    del lang  # Spanish and English stems are both always used: people mix languages.
    return model().classify(text)


def understand(text: str, lang: str = "es") -> Understanding:
    """Classify a message and say whether it is confident, unsure or nothing."""
    return decide(classify(text, lang))
