"""Read a yes/no reply in Spanish, English or Quechua, clause by clause, with emoji."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

from bot.understanding.text import MAX_TEXT_CHARS, norm_key, normalise, squeeze, wordset

YES_PHRASES: Final[tuple[str, ...]] = (
    # Spanish (Peru): the leading phrase of a reply is enough ("sí, por favor").
    "sí", "si", "sip", "sí sí", "ya", "ya pe", "yap", "ok", "oka", "okey", "okay", "oki", "dale",
    "claro", "claro que sí", "por supuesto", "obvio", "correcto", "es correcto", "está bien",
    "esta bien", "ta bien", "de acuerdo", "deacuerdo", "confirmo", "confirmado", "confirmar",
    "afirmativo", "exacto", "así es", "eso es", "bueno", "vale", "listo", "perfecto", "acepto",
    "seguro", "no hay problema", "sin problema",
    # English.
    "yes", "yeah", "yep", "yup", "sure", "of course", "correct", "that's right",
    "yes please",
    # Quechua: Arí (glibc yesstr, MediaWiki htmlform-yes), Arí niy / Chaskiy (OK, accept),
    # Takyachiy (confirm, MediaWiki).
    "arí", "ari", "arí niy", "chaskiy", "takyachiy",
)  # fmt: skip
"""Replies that mean yes (any language is accepted whatever the conversation's language)."""

NO_PHRASES: Final[tuple[str, ...]] = (
    # Spanish (Peru).
    "no", "nop", "nel", "nones", "no gracias", "negativo", "todavía no", "aún no", "aun no",
    "ahora no", "mejor no", "ya no", "para nada", "de ninguna manera", "tampoco", "nunca",
    "incorrecto", "no es correcto", "no confirmo", "no quiero", "claro que no",
    "por supuesto que no",
    # English.
    "nope", "nah", "no thanks", "not yet", "not now", "no way",
    # Quechua: Manan (glibc nostr, Cusco), Mana (MediaWiki htmlform-no), Manam (Common Voice
    # quy), Ama chaskiychu (decline, Sugar), Ama kunanqa (not now, Firefox quy). AbiWord's
    # "Ama" for No (⚠, it means "don't") is left out: it opens "Ama hina kaspa" (please) and
    # "Ama niy" (cancel).
    "manan", "mana", "manam", "ama chaskiychu", "ama kunanqa",
)  # fmt: skip
"""Replies that mean no."""

UNSURE_PHRASES: Final[tuple[str, ...]] = (
    "no sé", "nose", "no lo sé", "no estoy seguro", "no estoy segura", "no sabría", "tal vez",
    "talvez", "quizás", "quizá", "a lo mejor", "puede ser", "depende", "más o menos",
    "no entiendo", "maybe", "not sure", "i don't know", "dont know", "idk", "perhaps",
)  # fmt: skip
"""Replies that start like an answer but say the citizen does not know ("no sé")."""

YES_EMOJI: Final = frozenset("👍👌✅✔☑🆗")
NO_EMOJI: Final = frozenset("👎❌✖❎🚫🙅⛔")

SINGLE_LETTER_ANSWERS: Final[Mapping[str, Mapping[str, bool]]] = {
    # One-letter replies mean something only in some languages (glibc yesexpr/noexpr):
    # "y" is "and" in Spanish, "s" is nothing in English.
    "y": {"en": True, "qu": True},
    "s": {"es": True, "qu": True},
    "n": {"es": False, "en": False, "qu": False},
}
"""One-letter replies, by language code: the tie-breaker `lang` of `yes_no` is used here."""

_POLARITY: Final[Mapping[str, bool | None]] = {
    **{norm_key(p): None for p in UNSURE_PHRASES},
    **{norm_key(p): True for p in YES_PHRASES},
    **{norm_key(p): False for p in NO_PHRASES},
}
_UNSURE_KEYS: Final = frozenset(norm_key(p) for p in UNSURE_PHRASES)
_BARE_ANSWERS: Final[frozenset[str]] = frozenset(
    w for w, v in _POLARITY.items() if v is not None and " " not in w
)
_MAX_LEAD_WORDS: Final = 4
_CLAUSE_BREAK: Final = re.compile(r"[,.;:!?¡¿\n]+")
CLAUSE_WORDS: Final[frozenset[str]] = frozenset(("pero", "aunque", "sino", "but", "although"))
"""Words that start a new clause, like a comma: "sí pero no el lunes" has two answers."""
INTERJECTIONS: Final[frozenset[str]] = wordset(
    """hola buenas buenos dias tardes noches mm mmm m eh ehh ah ahh pues mira oye senorita senor
    joven doctor doctora gracias hi hello well"""
)
"""Words skipped before the answer ("hola, sí", "mmm no")."""
POLITENESS: Final[tuple[str, ...]] = ("por favor", "porfa", "please", "ama hina kaspa")
"""Phrases skipped at the start of every clause ("arí, ama hina kaspa")."""
_POLITENESS_WORDS: Final = tuple(tuple(normalise(p).split()) for p in POLITENESS)
_EMOJI_CONTEXT_WORDS: Final = 3


def _emoji_polarity(text: str) -> bool | None:
    """Return True/False when the message's emoji all say yes/no, else None."""
    yes = no = False
    for ch in text:
        if ch in YES_EMOJI:
            yes = True
        elif ch in NO_EMOJI:
            no = True
    return yes if yes != no else None


def _clauses(text: str) -> list[list[str]]:
    """Split a message into clauses of squeezed normalised words (at punctuation, "pero")."""
    out: list[list[str]] = []
    for piece in _CLAUSE_BREAK.split(text):
        current: list[str] = []
        for word in squeeze(normalise(piece)).split():
            if word in CLAUSE_WORDS:
                if current:
                    out.append(current)
                current = []
            else:
                current.append(word)
        if current:
            out.append(current)
    return out


def _lead_answer(words: Sequence[str]) -> tuple[int, bool | None] | None:
    """Return (size, polarity) of the longest answer phrase opening `words`; None if none."""
    for size in range(min(_MAX_LEAD_WORDS, len(words)), 0, -1):
        phrase = " ".join(words[:size])
        if phrase in _POLARITY:
            return size, _POLARITY[phrase]
    return None


def _skip_politeness(words: Sequence[str], interjections: bool) -> Sequence[str]:
    """Drop politeness phrases (and, if asked, interjections) from the start of the words."""
    changed = True
    while words and changed:
        changed = False
        if interjections and words[0] in INTERJECTIONS:
            words, changed = words[1:], True
        for phrase in _POLITENESS_WORDS:
            if tuple(words[: len(phrase)]) == phrase:
                words, changed = words[len(phrase) :], True
    return words


def _has_unsure(words: Sequence[str]) -> bool:
    """Tell whether an "I don't know" phrase occurs anywhere in the words."""
    return any(
        " ".join(words[i : i + n]) in _UNSURE_KEYS
        for i in range(len(words))
        for n in range(1, _MAX_LEAD_WORDS + 1)
    )


def yes_no(text: str, lang: str = "es", *, emoji: bool = True) -> bool | None:
    """Read a yes/no reply in Spanish, English or Quechua; None when it is unclear.

    With `emoji` False an emoji alone answers nothing (a clear yes needs words).
    """
    text = text[:MAX_TEXT_CHARS]
    clauses = _clauses(text)
    words = [w for clause in clauses for w in clause]
    if len(words) == 1 and words[0] in SINGLE_LETTER_ANSWERS:
        code = re.split(r"[-_]", lang.strip().lower(), maxsplit=1)[0]
        return SINGLE_LETTER_ANSWERS[words[0]].get(code)
    if _has_unsure(words):
        return None
    answers: list[bool | None] = []
    for words_of_clause in clauses:
        clause = _skip_politeness(words_of_clause, interjections=not answers)
        if not clause:
            continue
        lead = _lead_answer(clause)
        if lead is None:
            if not answers:
                return None  # the reply does not open with an answer ("quiero saber si...")
            continue
        answers.append(lead[1])
        rest = _skip_politeness(clause[lead[0] :], interjections=False)
        follow = _lead_answer(rest)  # "si no": a second answer right after the first
        if follow is not None and (follow[0] > 1 or rest[0] in _BARE_ANSWERS):
            answers.append(follow[1])
    said_by_emoji = _emoji_polarity(text)
    if answers:
        first = answers[0]
        if any(a != first for a in answers) or (
            said_by_emoji is not None and said_by_emoji != first
        ):
            return None  # "sí, no", "sí pero no el lunes", "no 👍"
        return first
    if not emoji or said_by_emoji is None or len(words) > _EMOJI_CONTEXT_WORDS:
        return None
    return said_by_emoji
