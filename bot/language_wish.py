"""A wish to talk in another language, said in any of the three: «english», «en quechua por favor»,
«runasimipi rimayta munani», «do you speak spanish?».

A message is a wish only when it names exactly one language and every other word is a word of
wishing, speaking or politeness; «no entiendo el ingles de mi contrato» names a language but is
no wish. Quechua words are those of tests/fixtures/QUECHUA.md (Runasimi, Simi, Rimay) with the
locative -pi («runasimipi»: in Quechua) and munani («I want»), marked doubtful there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from bot.understanding import normalise

MAX_WISH_WORDS: Final = 10
"""A wish is a short message: longer ones are about something else."""

LANGUAGE_NAMES: Final[Mapping[str, str]] = {
    **dict.fromkeys(
        ("espanol", "castellano", "spanish", "espanol simi", "castellano simi", "espanolpi"),
        "es",
    ),
    **dict.fromkeys(("ingles", "english", "inglespi", "ingles simi"), "en"),
    **dict.fromkeys(
        ("quechua", "quichua", "kechua", "runasimi", "runa simi", "runasimipi", "qichwa"), "qu"
    ),
}
"""Each language's names, normalised (no accents, lower case), in the three languages."""

_WISH_TEXT: Final = """
    en in a al el la idioma lengua language quiero prefiero puedo podemos podria quisiera me
    hablame hableme habla hablar hable hablemos escribe escribeme escribame escribir responde
    respondeme respondame atiendeme atiendame por favor porfa porfavor gracias please pls plis
    do you we can could i want would like speak talk write reply answer us me to prefer let s lets
    sabe sabes hablas usted tu si ok ya mejor solo only
    rimay rimayta rimaspa munani simi ama hina kaspa
"""
WISH_WORDS: Final = frozenset(_WISH_TEXT.split())
"""Words that may stand beside a language's name in a wish."""


def language_wish(text: str) -> str | None:
    """Return the language code a short message asks to talk in («english» -> "en"), or None."""
    words = normalise(text).replace("?", " ").split()
    if not words or len(words) > MAX_WISH_WORDS:
        return None
    wished: set[str] = set()
    index = 0
    while index < len(words):
        pair = " ".join(words[index : index + 2])
        if pair in LANGUAGE_NAMES:
            wished.add(LANGUAGE_NAMES[pair])
            index += 2
            continue
        word = words[index]
        if word in LANGUAGE_NAMES:
            wished.add(LANGUAGE_NAMES[word])
        elif word not in WISH_WORDS:
            return None
        index += 1
    return wished.pop() if len(wished) == 1 else None


# Words that mark a first message as English or Quechua rather than Spanish. Recognised, never
# shown: the Quechua greetings are the everyday ones («napaykullayki», «allinllachu»), which the
# localisation sources of tests/fixtures/QUECHUA.md do not attest (its gap «Hola»).
_ENGLISH_TEXT: Final = """
    hello hi hey good morning afternoon evening please i need want help the my an appointment
    lawyer job work fired speak do you is there what how can thanks thank would like to with
"""
_QUECHUA_TEXT: Final = """
    napaykullayki allinllachu rimaykullayki imaynalla imaynallam imaynallan allillanchu
    munani yanapay yanapaway
"""
_ENGLISH: Final = frozenset(_ENGLISH_TEXT.split())
_QUECHUA: Final = frozenset(_QUECHUA_TEXT.split())


def language_of_text(text: str) -> str | None:
    """The language a short first message is plainly written in, when it is not Spanish:
    «hello», «hi, I need a lawyer» -> "en"; «napaykullayki» -> "qu"; else None."""
    words = normalise(text).replace("?", " ").replace("!", " ").split()
    if not words or len(words) > MAX_WISH_WORDS:
        return None
    if any(w in _QUECHUA for w in words):
        return "qu"
    english = sum(w in _ENGLISH for w in words)
    return "en" if english * 2 > len(words) else None
