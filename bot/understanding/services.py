"""Search the service catalogue for the services a citizen's words name, best first."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from bot.understanding.text import MAX_TEXT_CHARS, STOPWORDS, normalise
from bot.understanding.words import (
    MIN_LABEL_IN_TEXT,
    MIN_STEM,
    Vocab,
    build_vocab,
    contains_phrase,
    similar_words,
)

MAX_SERVICE_RESULTS: Final = 5


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    """A service as search sees it: its code, names (any language) and keywords."""

    code: str
    names: tuple[str, ...]
    keywords: tuple[str, ...] = field(default=())


_W_KEYWORD: Final = 1.0
_W_NAME_WORDS: Final = 1.6  # shared by the content words of one name, at most _W_NAME_WORD each
_W_NAME_WORD: Final = 0.8
_W_ACRONYM: Final = 1.0
_W_FUZZY_KEYWORD: Final = 0.8  # times the similarity
_W_FUZZY_NAME: Final = 0.8  # times the name word's weight and the similarity
_W_WHOLE_NAME: Final = 1.5
RELATIVE_FLOOR: Final = 0.5
"""Services scoring under this fraction of the best one are left out of the results."""
_ACRONYM: Final = re.compile(r"\b[A-ZÑ]{2,}\b")


@dataclass(frozen=True, slots=True, eq=False)
class _ServiceIndex:
    """Catalogue words -> services, cached per catalogue."""

    codes: tuple[str, ...]
    vocab: Vocab
    # vocab index -> ((service, weight when exact, is top tier, weight when fuzzy), ...)
    postings: tuple[tuple[tuple[int, float, bool, float], ...], ...]
    phrases: tuple[tuple[str, int, float], ...]  # whole names, multi-word keywords: weight


@lru_cache(maxsize=16)
def _index_services(services: tuple[ServiceEntry, ...]) -> _ServiceIndex:
    """Index a catalogue's keywords, name words, acronyms and whole names (cached)."""
    entries: dict[str, dict[int, tuple[float, bool, float]]] = {}
    phrases: list[tuple[str, int, float]] = []

    def post(word: str, svc: int, exact: float, top: bool, fuzzy: float) -> None:
        current = entries.setdefault(word, {}).get(svc)
        if current is None or (exact, top, fuzzy) > current:
            entries[word][svc] = (exact, top, fuzzy)

    for svc, entry in enumerate(services):
        for keyword in entry.keywords:
            kw = normalise(keyword)
            if " " in kw:
                phrases.append((kw, svc, _W_KEYWORD))
            elif kw:
                post(kw, svc, _W_KEYWORD, True, _W_FUZZY_KEYWORD)
        for name in entry.names:
            acronyms = {normalise(a) for a in _ACRONYM.findall(name)}
            norm = normalise(name)
            if len(norm) >= MIN_LABEL_IN_TEXT:
                phrases.append((norm, svc, _W_WHOLE_NAME))
            words = [w for w in dict.fromkeys(norm.split()) if w not in acronyms]
            content = [w for w in words if w not in STOPWORDS and len(w) >= MIN_STEM]
            weight = min(_W_NAME_WORD, _W_NAME_WORDS / max(1, len(content)))
            for word in acronyms:
                post(word, svc, _W_ACRONYM, True, 0.0)
            for word in content:
                post(word, svc, weight, False, weight * _W_FUZZY_NAME)
    vocab = build_vocab(entries)
    postings = tuple(
        tuple((svc, e, top, f) for svc, (e, top, f) in entries[w].items()) for w in vocab.words
    )
    return _ServiceIndex(
        codes=tuple(s.code for s in services),
        vocab=vocab,
        postings=postings,
        phrases=tuple(phrases),
    )


@dataclass(frozen=True, slots=True)
class ServiceMatch:
    """A service the text's words point to; `shared` when only words that other services'
    names also have point to it («trabajo» in «bolsa de trabajo» and four other names)."""

    code: str
    shared: bool


def search_services(
    text: str,
    services: Sequence[ServiceEntry],
    *,
    limit: int = MAX_SERVICE_RESULTS,
    fuzzy: bool = True,
) -> list[str]:
    """Rank service codes whose keywords or names match the text's words; best first.

    `fuzzy` False counts only words written as the catalogue writes them (no «media» for
    «mediación»): for a message that also reads as a day or a time.
    """
    return [m.code for m in rank_services(text, services, limit=limit, fuzzy=fuzzy)]


def rank_services(
    text: str,
    services: Sequence[ServiceEntry],
    *,
    limit: int = MAX_SERVICE_RESULTS,
    fuzzy: bool = True,
) -> list[ServiceMatch]:
    """`search_services`, saying for each service whether only shared name words found it."""
    norm = normalise(text[:MAX_TEXT_CHARS])
    if not norm or not services:
        return []
    try:
        index = _index_services(tuple(services))
    except TypeError:  # names or keywords given as lists: unhashable, so not cached
        index = _index_services.__wrapped__(tuple(services))
    scores: dict[int, float] = {}
    specific: dict[int, float] = {}  # the same, each word's share divided by its service count
    top_tier: set[int] = set()
    for phrase, svc, weight in index.phrases:
        if contains_phrase(norm, phrase):
            scores[svc] = scores.get(svc, 0.0) + weight
            specific[svc] = specific.get(svc, 0.0) + weight
            top_tier.add(svc)
    for word in dict.fromkeys(norm.split()):
        best: dict[int, float] = {}  # one contribution per (word, service)
        exact_index = index.vocab.exact.get(word)
        if exact_index is not None:
            for svc, weight, top, _ in index.postings[exact_index]:
                best[svc] = max(best.get(svc, 0.0), weight)
                if top:
                    top_tier.add(svc)
        for vi, sim in similar_words(index.vocab, word) if fuzzy else ():
            for svc, _, _, weight in index.postings[vi]:
                if weight:
                    best[svc] = max(best.get(svc, 0.0), weight * sim)
        for svc, value in best.items():
            scores[svc] = scores.get(svc, 0.0) + value
            specific[svc] = specific.get(svc, 0.0) + value / len(best)
    if not scores:
        return []
    floor = RELATIVE_FLOOR * max(scores.values())
    ranked = sorted(
        (svc for svc, score in scores.items() if score >= floor),
        key=lambda svc: (svc not in top_tier, -round(scores[svc], 6), -specific[svc], svc),
    )
    return [
        ServiceMatch(
            index.codes[svc],
            # each point came from a word at least two services' names have, on average
            shared=svc not in top_tier and specific[svc] <= scores[svc] / 2 + 1e-9,
        )
        for svc in ranked[:limit]
    ]
