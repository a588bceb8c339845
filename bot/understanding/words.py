"""Word similarity: Spanish spelling folds, stems, prefixes and typos, over an indexed vocabulary.

A text word (4+ letters, not a stopword) is similar to a vocabulary word when, in this order of
strength, both fold to the same spelling, they share a stem or a long prefix, or they are one or
two typing errors apart (docs/conversation.md, "Reading what citizens type").
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, TypeVar

from rapidfuzz.distance import OSA

from bot.understanding.text import STOPWORDS, wordset

MIN_LABEL_IN_TEXT: Final = 4
"""A label said inside a text counts from this many characters."""
MIN_FUZZY_WORD: Final = 4
"""Words shorter than this are only matched exactly (after folding)."""

# Phonetic folding of Latin American Spanish spelling, applied to single words.
_C_SOFT: Final = re.compile(r"c(?=[ei])")
_ANY_REPEAT: Final = re.compile(r"(.)\1+")

# Inflectional endings stripped to compare stems ("pagaron"/"pago" -> "pag"), longest first.
_SUFFIXES: Final = tuple(
    sorted(
        wordset(
            """aciones iciones amientos imientos amiento imiento ieron aron ando iendo aban iban
            ados adas idos idas ado ada ido ida aba ian ia io an en ar er ir as es os a e o s"""
        ),
        key=lambda suffix: (-len(suffix), suffix),
    )
)
MIN_STEM: Final = 3


@lru_cache(maxsize=8192)
def fold(word: str) -> str:
    """Fold Spanish spelling variants of one normalised word to one form."""
    w = word.replace("ch", "\0").replace("h", "").replace("ll", "y").replace("qu", "k")
    w = _C_SOFT.sub("s", w).replace("c", "k").replace("\0", "ch")
    w = w.replace("z", "s").replace("v", "b").replace("y", "i")
    return _ANY_REPEAT.sub(r"\1", w)


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """Strip the longest Spanish inflectional ending, keeping at least three letters."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)]
    return word


def _prefix_related(a: str, b: str) -> bool:
    """Tell whether two words share a long prefix with short tails ("despidieron"/"despido")."""
    p = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        p += 1
    return p >= 4 and p >= min(len(a), len(b)) - 3 and max(len(a), len(b)) - p <= 5


def _allowed_edits(length: int) -> int:
    """Return how many edits a typo may have in a (folded) word of this length."""
    if length >= 10:
        return 2
    if length >= 5:
        return 1
    return 0


_SIM_FOLD: Final = 0.95
_SIM_STEM: Final = 0.9
_SIM_TYPO: Final = (1.0, 0.85, 0.8)  # by edit distance 0, 1, 2


@dataclass(frozen=True, slots=True, eq=False)
class Vocab:
    """Words to match against, with lookups for exact, folded, stemmed and prefixed forms."""

    words: tuple[str, ...]
    folded: tuple[str, ...]
    exact: Mapping[str, int]
    by_fold: Mapping[str, tuple[int, ...]]
    by_stem: Mapping[str, tuple[int, ...]]
    by_prefix: Mapping[str, tuple[int, ...]]
    by_head_length: Mapping[tuple[str, int], tuple[int, ...]]  # typo candidates


_Key = TypeVar("_Key", bound=Hashable)


def _group(pairs: Iterable[tuple[_Key, int]]) -> dict[_Key, tuple[int, ...]]:
    """Group indices by key, keeping their order."""
    out: dict[_Key, list[int]] = {}
    for key, index in pairs:
        out.setdefault(key, []).append(index)
    return {k: tuple(v) for k, v in out.items()}


def build_vocab(words: Iterable[str]) -> Vocab:
    """Index distinct normalised words for `similar_words`."""
    unique = tuple(dict.fromkeys(w for w in words if w))
    folded = tuple(fold(w) for w in unique)
    long = [(w, i) for i, w in enumerate(unique) if len(w) >= MIN_FUZZY_WORD and not w.isdigit()]
    return Vocab(
        words=unique,
        folded=folded,
        exact={w: i for i, w in enumerate(unique)},
        by_fold=_group((folded[i], i) for i, w in enumerate(unique) if not w.isdigit()),
        by_stem=_group((stem(w), i) for w, i in long),
        by_prefix=_group((w[:4], i) for w, i in long),
        by_head_length=_group(
            ((folded[i][:1], len(folded[i])), i) for w, i in long if _allowed_edits(len(folded[i]))
        ),
    )


@lru_cache(maxsize=8192)
def similar_words(vocab: Vocab, word: str) -> tuple[tuple[int, float], ...]:
    """Return (vocabulary index, similarity) of the words similar to `word`, other than itself.

    Typos are only looked for among words with the same first letter (after folding) and a
    length within the allowed number of edits: fast, and first letters are rarely mistyped.
    """
    if word.isdigit() or word in STOPWORDS or len(word) < 2:
        return ()
    hits: dict[int, float] = {}

    def add(index: int, sim: float) -> None:
        if vocab.words[index] != word and sim > hits.get(index, 0.0):
            hits[index] = sim

    folded = fold(word)
    for i in vocab.by_fold.get(folded, ()):
        add(i, _SIM_FOLD)
    if len(word) >= MIN_FUZZY_WORD:
        for i in vocab.by_stem.get(stem(word), ()):
            add(i, _SIM_STEM)
        for i in vocab.by_prefix.get(word[:4], ()):
            if _prefix_related(word, vocab.words[i]):
                add(i, _SIM_STEM)
        max_edits = _allowed_edits(len(folded))
        for length in range(len(folded) - max_edits, len(folded) + max_edits + 1):
            for i in vocab.by_head_length.get((folded[:1], length), ()):
                allowed = _allowed_edits(min(len(folded), length))
                distance = OSA.distance(folded, vocab.folded[i], score_cutoff=allowed)
                if 0 < distance <= allowed:
                    add(i, _SIM_TYPO[distance])
    return tuple(hits.items())


def content_words(words: Sequence[str]) -> list[str]:
    """Drop stopwords, keeping order and the first occurrence of each word."""
    return list(dict.fromkeys(w for w in words if w not in STOPWORDS))


def contains_phrase(haystack: str, needle: str) -> bool:
    """Tell whether `needle` occurs in `haystack` on word boundaries (both normalised)."""
    return f" {needle} " in f" {haystack} "


def find_at_word_start(label: str, needle: str) -> bool | None:
    """Find `needle` at a word start in `label`: True if it also ends a word, False if it only
    begins one ("consulta" in "consultas"), None if absent."""
    start = label.find(needle)
    prefix_only = False
    while start >= 0:
        if start == 0 or label[start - 1] == " ":
            end = start + len(needle)
            if end == len(label) or label[end] == " ":
                return True
            prefix_only = True
        start = label.find(needle, start + 1)
    return False if prefix_only else None
