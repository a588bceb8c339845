"""What a person's (or a company's) name must look like before it is stored."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

MIN_LETTERS: Final = 2
# Besides letters and spaces, what people's names carry: «O'Higgins», «Ma. Elena», «Ruiz-Tagle».
_NAME_MARKS: Final = frozenset("'’‘`´-‐.")
# A company's registered name may also carry digits and these («Textiles 2000 S.A.C.»).
_COMPANY_MARKS: Final = _NAME_MARKS | frozenset("&,()/+°º#")


def looks_like_name(text: str, *, company: bool = False) -> bool:
    """Whether the text can be a name: letters, at least two, nothing but name punctuation.

    Emoji, symbols and (for people) digits are refused: «😎», «123» or «:)» are not names.
    """
    letters = 0
    allowed = _COMPANY_MARKS if company else _NAME_MARKS
    for char in unicodedata.normalize("NFC", text.strip()):
        category = unicodedata.category(char)
        if category.startswith("L"):
            letters += 1
        elif not (
            category.startswith("M")
            or char.isspace()
            or char in allowed
            or (company and category == "Nd")
        ):
            return False
    return letters >= MIN_LETTERS


# Spanish and Quechua name particles stay lower case inside a name («Pérez de la Cruz»).
# A letter that starts the word or follows a hyphen or apostrophe («Ruiz-Tagle», «O'Higgins»).
_AFTER_MARK: Final = re.compile(r"(?:^|(?<=[-'’]))\w")
_PARTICLES: Final = frozenset({"de", "del", "la", "las", "los", "y", "e", "da", "van", "von"})


def _folded(text: str) -> str:
    """Lower case, no accents, single spaces: how two spellings of one name compare."""
    bare = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in bare if not unicodedata.combining(c)).split())


def _capitalised(word: str, first: bool) -> str:
    if not first and word in _PARTICLES:
        return word
    return _AFTER_MARK.sub(lambda m: m.group(0).upper(), word)


def tidy_name(typed: str, stored: str | None = None) -> str:
    """The name to keep: the stored spelling when the typed one is the same name written
    without accents or capitals; a name typed all in lower or upper case, capitalised.

    «rosa huaman» keeps «Rosa Huamán»; «JUAN PEREZ DE LA CRUZ» becomes «Juan Perez de la
    Cruz»; a name written with its own capitals («María McBride») stays as written.
    """
    words = typed.split()
    if stored and _folded(typed) == _folded(stored):
        return stored
    joined = " ".join(words)
    if joined != joined.lower() and joined != joined.upper():
        return joined
    return " ".join(_capitalised(w.lower(), n == 0) for n, w in enumerate(words))
