"""What counts as a name before it is stored (core/names.py)."""

from __future__ import annotations

import pytest

from core.names import looks_like_name

PEOPLE = [
    ("Lucía Quispe Mamani", True),
    ("lucia quispe", True),
    ("Ñusta Ccori", True),
    ("Ma. Elena O'Higgins", True),
    ("José Ruiz-Tagle", True),
    ("Al", True),
    ("😎", False),
    ("😎😎", False),
    ("Lucía 😎", False),
    ("x", False),
    ("123", False),
    ("45678912", False),
    (":)", False),
    ("   ", False),
    ("Lucía2", False),
]
COMPANIES = [
    ("Textiles Andinos S.A.C.", True),
    ("Inversiones 2000 & Asociados (Perú)", True),
    ("🏭", False),
    ("2000", False),
]


@pytest.mark.parametrize(("text", "expected"), PEOPLE)
def test_a_persons_name(text: str, expected: bool) -> None:
    assert looks_like_name(text) is expected


@pytest.mark.parametrize(("text", "expected"), COMPANIES)
def test_a_companys_name(text: str, expected: bool) -> None:
    assert looks_like_name(text, company=True) is expected
