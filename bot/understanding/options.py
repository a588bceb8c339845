"""Which offered option a citizen chose: by payload, position, label, containment or fuzzy words."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

from bot.understanding.text import MAX_TEXT_CHARS, STOPWORDS, normalise, squeeze, wordset
from bot.understanding.words import (
    MIN_LABEL_IN_TEXT,
    Vocab,
    build_vocab,
    contains_phrase,
    content_words,
    find_at_word_start,
    similar_words,
)

AMBIGUITY_MARGIN: Final = 0.05
"""Fuzzy option scores this close to the best one make the match ambiguous."""
_MAX_POSITION_DIGITS: Final = 2
_MAX_OPTIONS: Final = 10**_MAX_POSITION_DIGITS - 1
_MAX_FUZZY_WORDS: Final = 30


MatchHow = Literal["payload", "number", "ordinal", "exact", "contains", "fuzzy", "none"]


@dataclass(frozen=True, slots=True)
class Choice:
    """One option offered to the citizen: its payload and its labels/synonyms in any language."""

    payload: str
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What `match_option` understood: a payload, or ambiguous candidates, or nothing."""

    payload: str | None
    ambiguous: tuple[str, ...] = ()
    how: MatchHow = "none"
    score: float = 0.0

    @property
    def matched(self) -> bool:
        """Tell whether exactly one option was chosen."""
        return self.payload is not None


_NO_MATCH: Final = MatchResult(None)

ORDINALS: Final[Mapping[str, int]] = {
    # Spanish (normalised; -1 is the last option, -2 the one before it).
    **dict.fromkeys(("primero", "primera", "primer", "primerito"), 1),
    **dict.fromkeys(("segundo", "segunda"), 2),
    **dict.fromkeys(("tercero", "tercera", "tercer", "tersera", "tersero"), 3),
    **dict.fromkeys(("cuarto", "cuarta"), 4),
    **dict.fromkeys(("quinto", "quinta"), 5),
    **dict.fromkeys(("sexto", "sexta"), 6),
    **dict.fromkeys(("septimo", "septima", "setimo", "setima"), 7),
    **dict.fromkeys(("octavo", "octava"), 8),
    **dict.fromkeys(("noveno", "novena"), 9),
    **dict.fromkeys(("decimo", "decima"), 10),
    **dict.fromkeys(("ultimo", "ultima"), -1),
    **dict.fromkeys(("penultimo", "penultima"), -2),
    # English.
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "last": -1,
}
"""Ordinal words naming an option's position."""

NUMBER_WORDS: Final[Mapping[str, int]] = {
    # "una"/"un" are left out: "la una" is a clock time.
    "uno": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
"""Cardinal words naming an option's position."""

OPTION_FILLERS: Final[frozenset[str]] = wordset(
    """el la lo opcion option numero num nro nr n number quiero elijo escojo prefiero deseo marco
    selecciono escogo seria sera es esa ese esta este por favor porfa porfavor gracias i want
    choose pick take the please thanks pls plis"""
)
"""Words around a position that say nothing more ("el", "opción", "quiero", "please")."""

_POSITION_DIGITS: Final = re.compile(
    rf"(\d{{1,{_MAX_POSITION_DIGITS}}})(?:o|a|ro|ra|er|era|do|da|to|ta|mo|ma|vo|va|no|na|st|nd|rd|th)?"
)


def names_a_position(text: str) -> bool:
    """Whether a message is only an option's position: «2», «el segundo», «la última»."""
    return _position(normalise(text[:MAX_TEXT_CHARS]).split(), _MAX_OPTIONS) is not None


def _position(words: Sequence[str], count: int) -> tuple[int, MatchHow] | None:
    """Read a 1-based position from a message made of one number or ordinal plus fillers."""
    rest = [w for w in words if w not in OPTION_FILLERS]
    if len(rest) == 2 and rest[1] == "one":  # "the second one"
        rest = rest[:1]
    if len(rest) != 1:
        return None
    word = rest[0]
    digits = _POSITION_DIGITS.fullmatch(word)
    if digits:
        return int(digits.group(1)), "number"
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word], "number"
    if word in ORDINALS:
        n = ORDINALS[word]
        return (count + 1 + n if n < 0 else n), "ordinal"
    return None


@dataclass(frozen=True, slots=True, eq=False)
class _PreparedOptions:
    """Options with normalised labels and a vocabulary of their words, cached per option list."""

    payloads: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...]  # normalised, per option
    keys: tuple[frozenset[str], ...]  # squeezed labels and payloads, per option
    vocab: Vocab
    word_options: tuple[tuple[tuple[int, int], ...], ...]  # vocab index -> (option, label) pairs


@lru_cache(maxsize=512)
def _prepare_options(options: tuple[Choice, ...]) -> _PreparedOptions:
    """Normalise the options' labels and index their words (cached per option list)."""
    labels = tuple(
        tuple(dict.fromkeys(normalise(x) for x in o.labels if x.strip())) for o in options
    )
    keys = tuple(
        frozenset(squeeze(x) for x in (*ls, normalise(o.payload)) if x)
        for o, ls in zip(options, labels, strict=True)
    )
    label_words = tuple(
        tuple(tuple(w for w in lab.split() if w not in STOPWORDS) for lab in ls) for ls in labels
    )
    vocab = build_vocab(w for per in label_words for ws in per for w in ws)
    pairs: list[list[tuple[int, int]]] = [[] for _ in vocab.words]
    for oi, per in enumerate(label_words):
        for li, ws in enumerate(per):
            for w in ws:
                pairs[vocab.exact[w]].append((oi, li))
    return _PreparedOptions(
        payloads=tuple(o.payload for o in options),
        labels=labels,
        keys=keys,
        vocab=vocab,
        word_options=tuple(tuple(p) for p in pairs),
    )


def _pick(scores: Mapping[int, float], payloads: Sequence[str], how: MatchHow) -> MatchResult:
    """Return the best-scored option, or the near-ties as ambiguous candidates."""
    if not scores:
        return _NO_MATCH
    best = max(scores.values())
    margin = AMBIGUITY_MARGIN if how == "fuzzy" else 1e-9
    top = sorted(i for i, s in scores.items() if s >= best - margin)
    if len(top) == 1:
        return MatchResult(payloads[top[0]], how=how, score=round(best, 3))
    ambiguous = tuple(dict.fromkeys(payloads[i] for i in top))
    return MatchResult(None, ambiguous=ambiguous, how=how, score=round(best, 3))


def match_option(
    text: str, options: Sequence[Choice], *, payload: str | None = None
) -> MatchResult:
    """Find which of `options` the citizen chose, by payload, position, label or fuzzy label."""
    if not options:
        return _NO_MATCH
    payloads = [o.payload for o in options]
    if payload is not None and payload in payloads:
        return MatchResult(payload, how="payload", score=1.0)

    norm = normalise(text[:MAX_TEXT_CHARS])
    if not norm:
        return _NO_MATCH
    words = norm.split()

    position = _position(words, len(options))
    if position is not None and 1 <= position[0] <= len(options):
        return MatchResult(payloads[position[0] - 1], how=position[1], score=1.0)

    try:
        prepared = _prepare_options(tuple(options))
    except TypeError:  # labels given as a list: unhashable, so not cached
        prepared = _prepare_options.__wrapped__(tuple(options))
    key = squeeze(norm)
    exact = {i: 1.0 for i, keys in enumerate(prepared.keys) if key in keys}
    if exact:
        return _pick(exact, payloads, "exact")

    # Containment: a whole label said inside the text beats the text found inside a label.
    content = content_words(words)
    needle = " ".join(content)
    whole_words_only = not content  # only stopwords ("sí", "no"): match them as whole words
    if whole_words_only:
        needle = norm
    contained: dict[int, float] = {}
    for i, labels in enumerate(prepared.labels):
        for label in labels:
            if len(label) >= MIN_LABEL_IN_TEXT and contains_phrase(norm, label):
                score = 2.0 + len(label) / 1000
            elif len(needle) >= 2 and not needle.isdigit():
                found = find_at_word_start(label, needle)
                if not found and (whole_words_only or found is None or len(needle) < 4):
                    continue
                score = 1.0  # whole word or a word's beginning ("consulta" in "consultas")
            else:
                continue
            contained[i] = max(contained.get(i, 0.0), score)
    if contained:
        return _pick(contained, payloads, "contains")

    # Fuzzy, word by word: sum of each content word's best similarity, per label.
    per_label: dict[tuple[int, int], dict[str, float]] = {}
    for word in content[:_MAX_FUZZY_WORDS]:
        hits = dict(similar_words(prepared.vocab, word))
        exact_index = prepared.vocab.exact.get(word)
        if exact_index is not None:
            hits[exact_index] = 1.0
        for vi, sim in hits.items():
            for pair in prepared.word_options[vi]:
                best = per_label.setdefault(pair, {})
                if sim > best.get(word, 0.0):
                    best[word] = sim
    scores: dict[int, float] = {}
    for (oi, _), sims in per_label.items():
        scores[oi] = max(scores.get(oi, 0.0), sum(sims.values()))
    return _pick(scores, payloads, "fuzzy")
