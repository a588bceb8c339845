"""What counts as a name before it is stored (core/names.py)."""

from __future__ import annotations

import pytest

from core.names import looks_like_name, tidy_name

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


@pytest.mark.parametrize(
    ("typed", "stored", "kept"),
    [
        ("rosa huaman", "Rosa Huamán", "Rosa Huamán"),  # the same name, the record's spelling
        ("ROSA  HUAMAN", "Rosa Huamán", "Rosa Huamán"),
        ("rosa huaman quispe", "Rosa Huamán", "Rosa Huaman Quispe"),  # another name: taken
        ("JUAN PEREZ DE LA CRUZ", None, "Juan Perez de la Cruz"),
        ("maría ruiz-tagle", None, "María Ruiz-Tagle"),
        ("o'higgins", None, "O'Higgins"),
        ("ñahui ccori", None, "Ñahui Ccori"),
        ("de la cruz", None, "De la Cruz"),
        ("María McBride", None, "María McBride"),  # its own capitals: as written
        ("  ana   rios ", "Ana Ríos Paz", "Ana Rios"),
    ],
)
def test_tidy_name(typed: str, stored: str | None, kept: str) -> None:
    assert tidy_name(typed, stored) == kept
