"""Normalised text, the form every reader in this package works on, and the shared stopwords.

Normalised means: lower case, accents dropped ("ñ" becomes "n"), apostrophes joined
("p'unchaw" -> "punchaw"), every other character that is not a letter or a digit (punctuation,
emoji, "_") turned into a space, spaces collapsed.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

MAX_TEXT_CHARS: Final = 1000
"""Only this many leading characters of a message are read (WhatsApp allows 1600)."""


_APOSTROPHES: Final = "'’‘`´ʼ"


def _strip_marks(text: str) -> str:
    """Decompose (NFKD) and drop combining marks: "á" -> "a", "ñ" -> "n", "º" -> "o"."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# Fast path: one translate() handles apostrophes and the accented Latin letters people type;
# anything still outside ASCII (emoji, "º", fullwidth digits...) goes through NFKD.
_LATIN: Final = str.maketrans(
    {
        **{
            chr(c): _strip_marks(chr(c))
            for c in range(0xC0, 0x250)
            if _strip_marks(chr(c)).isascii()
        },
        **dict.fromkeys(_APOSTROPHES, None),
    }
)
_NON_WORD: Final = re.compile(r"[\W_]+")
_REPEATED_LETTER: Final = re.compile(r"([^\W\d_])\1+")


def normalise(text: str) -> str:
    """Lower-case, drop accents and apostrophes, blank out all but letters/digits, squash spaces."""
    s = text.casefold()
    if not s.isascii():
        s = s.translate(_LATIN)
        if not s.isascii():
            s = _strip_marks(s)
    else:
        s = s.replace("'", "").replace("`", "")
    return " ".join(_NON_WORD.sub(" ", s).split())


def squeeze(text: str) -> str:
    """Collapse runs of one repeated letter ("siii" -> "si"); digits are kept."""
    return _REPEATED_LETTER.sub(r"\1", text)


def norm_key(text: str) -> str:
    """Return the lookup key of a table phrase or a message: normalised, letters squeezed."""
    return squeeze(normalise(text))


def wordset(text: str) -> frozenset[str]:
    """Return the blank-separated words of a data string (word lists stay readable)."""
    return frozenset(text.split())


STOPWORDS: Final[frozenset[str]] = wordset(
    # Spanish function words and chat fillers (normalised: no accents).
    """a al ante bajo con contra de del desde e el en entre hacia hasta la las le les lo los me
    mi mis mio mia nos o para pero por que quien se sin sobre su sus te ti tu tus u un una unos
    unas y ya yo es son soy eres era fue fueron ser estar esta estan este esto estoy estas eso
    esa ese esos esas aqui ahi alli hay ha han he has hemos habia tengo tiene tienen tenia tener
    hacer hace hago hizo quiero quiere queria quisiera necesito necesita deseo desea puedo puede
    podria pueden saber sabe como cuando donde cual cuales porque pues mas muy tan tambien solo
    sola ahora hoy buenas buenos buen buena dia dias tardes noches hola ola gracias favor porfa
    porfavor ok si no ni nada algo alguien caso cosa cosas usted ustedes senor senora senorita
    mucho poco otro otra todo toda todos asi bien mal vez veces mismo ayuda ayudar ayudame
    informarme opcion opciones numero nro elijo escojo prefiero selecciono """
    # English.
    """the an and or of to for in on at by with my me i im you your is are was be it this that
    please thanks thank hi hello want need would like can could do does how what when where
    which option number """
    # Quechua: the words of the attested "Ama hina kaspa" (please).
    """hina kaspa"""
)


GREETINGS: Final[frozenset[str]] = frozenset(
    squeeze(word)
    for word in wordset(
        # Greetings and politeness alone: a first message that says nothing to hear («hola»,
        # «buenas tardes señorita», «hello»). Normalised, with repeated letters squeezed («holaaa»).
        """hola ola holi holis alo buenas buenos buen buena dia dias tardes noches que tal
    saludos senor senora senorita joven amigo amiga disculpe gracias porfa porfavor por favor
    hello hi hey good morning afternoon evening napaykullayki allinllachu rimaykullayki"""
    )
)


def only_a_greeting(text: str) -> bool:
    """Whether a message is only a greeting («hola», «buenas tardes», «Holaaa!!»)."""
    words = squeeze(normalise(text[:MAX_TEXT_CHARS])).split()
    return bool(words) and all(w in GREETINGS for w in words)
