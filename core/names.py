"""What a person's (or a company's) name must look like before it is stored."""

from __future__ import annotations

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
