from __future__ import annotations

import pytest

from core.documents import (
    is_company,
    mask_document,
    mask_phone,
    normalise_document,
    normalise_phone,
)
from core.errors import InvalidDocument, InvalidPhone
from core.models import DocumentType

DNI = DocumentType.DNI
CE = DocumentType.CE
RUC = DocumentType.RUC
PASSPORT = DocumentType.PASSPORT


@pytest.mark.parametrize(
    ("doc_type", "raw", "expected"),
    [
        # DNI: 8 digits, optional check character (RENIEC check character: 10117410 -> 2 or G).
        (DNI, "10117410", "10117410"),
        (DNI, "101174102", "10117410"),
        (DNI, "10117410G", "10117410"),
        (DNI, "10117410g", "10117410"),
        (DNI, "10117410-2", "10117410"),
        (DNI, " 10.117.410 ", "10117410"),
        (DNI, "10 117 410", "10117410"),
        (DNI, "10\u00a0117\u00a0410", "10117410"),
        (DNI, "10–117–410", "10117410"),
        (DNI, "00000001", "00000001"),
        # RUC: 11 digits, prefix 10/15/17/20, check digit.
        (RUC, "20512333797", "20512333797"),
        (RUC, "10101174102", "10101174102"),
        (RUC, "20-51233379-7", "20512333797"),
        (RUC, " 20.512.333.797 ", "20512333797"),
        # Carné de extranjería: 9 to 12 letters and digits.
        (CE, "001234567", "001234567"),
        (CE, "ab-1234567", "AB1234567"),
        (CE, "123456789012", "123456789012"),
        # Passport: 6 to 12 letters and digits.
        (PASSPORT, "x12345", "X12345"),
        (PASSPORT, "AB 123 456 789", "AB123456789"),
        (PASSPORT, "123456789012", "123456789012"),
    ],
)
def test_normalise_document_accepts(doc_type: DocumentType, raw: str, expected: str) -> None:
    assert normalise_document(doc_type, raw) == expected


@pytest.mark.parametrize(
    ("doc_type", "raw", "code"),
    [
        (DNI, "", "empty"),
        (DNI, "  . - ", "empty"),
        (RUC, "", "empty"),
        (CE, " ", "empty"),
        (PASSPORT, "--", "empty"),
        # DNI length/format.
        (DNI, "1011741", "dni_length"),
        (DNI, "1011741023", "dni_length"),
        (DNI, "1011741A", "dni_length"),
        (DNI, "A10117410", "dni_length"),
        (DNI, "１０１１７４１０", "dni_length"),  # full-width digits
        (DNI, "10117410/2", "dni_length"),
        # DNI check character: only 2 and G are valid for 10117410.
        *[(DNI, "10117410" + c, "dni_check_digit") for c in "013456789"],
        *[(DNI, "10117410" + c, "dni_check_digit") for c in "ABCDEFHIJKZ"],
        # RUC.
        (RUC, "2051233379", "ruc_length"),
        (RUC, "205123337970", "ruc_length"),
        (RUC, "2051233379A", "ruc_length"),
        (RUC, "30512333797", "ruc_prefix"),
        (RUC, "11101174102", "ruc_prefix"),
        (RUC, "20512333798", "ruc_check_digit"),
        (RUC, "10101174103", "ruc_check_digit"),
        # Prefix is checked before the check digit, length before both.
        (RUC, "99999999999", "ruc_prefix"),
        (RUC, "9999999999", "ruc_length"),
        # Carné de extranjería.
        (CE, "12345678", "ce_format"),
        (CE, "1234567890123", "ce_format"),
        (CE, "12345678#", "ce_format"),
        (CE, "ÑANDÚ12345", "ce_format"),
        # Passport.
        (PASSPORT, "12345", "passport_format"),
        (PASSPORT, "1234567890123", "passport_format"),
        (PASSPORT, "AB/123456", "passport_format"),
        (PASSPORT, "ſ12345", "passport_format"),  # long s upper-cases to ASCII "S"
    ],
)
def test_normalise_document_refuses(doc_type: DocumentType, raw: str, code: str) -> None:
    with pytest.raises(InvalidDocument) as caught:
        normalise_document(doc_type, raw)
    assert caught.value.reason == "document_invalid"
    assert caught.value.context == {"code": code}


@pytest.mark.parametrize(
    ("doc_type", "raw"),
    [(DNI, "1011741"), (DNI, "101174103"), (RUC, "20512333798"), (CE, "12345678")],
)
def test_refusal_detail_never_contains_the_number(doc_type: DocumentType, raw: str) -> None:
    with pytest.raises(InvalidDocument) as caught:
        normalise_document(doc_type, raw)
    assert raw not in caught.value.detail
    assert raw not in str(caught.value)


def test_normalise_document_accepts_plain_strings_for_the_type() -> None:
    assert normalise_document("dni", "10117410-G") == "10117410"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("doc_type", "number", "expected"),
    [
        (RUC, "20512333797", True),
        (RUC, "10101174102", False),
        (RUC, "15123456789", False),
        (RUC, "17123456789", False),
        (DNI, "20512333", False),
        (CE, "200000000", False),
        (PASSPORT, "20ABC123", False),
    ],
)
def test_is_company(doc_type: DocumentType, number: str, expected: bool) -> None:
    assert is_company(doc_type, number) is expected


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("10117410", "*****410"),
        ("20512333797", "********797"),
        ("AB1234567", "******567"),
        ("1234", "*234"),
        ("123", "***"),
        ("", ""),
    ],
)
def test_mask_document(number: str, masked: str) -> None:
    assert mask_document(number) == masked


@pytest.mark.parametrize(
    "raw",
    [
        "912 345 678",
        "912345678",
        "+51 912-345-678",
        "+51912345678",
        "51912345678",
        "51 912 345 678",
        "0051912345678",
        "0051 912 345 678",
        "+51 (912) 345 678",
        " 912.345.678 ",
    ],
)
def test_normalise_phone_accepts(raw: str) -> None:
    assert normalise_phone(raw) == "+51912345678"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "phone_invalid"),
        ("   ", "phone_invalid"),
        ("abc", "phone_invalid"),
        ("12345", "phone_invalid"),
        ("812345678", "phone_invalid"),
        ("9123456789", "phone_invalid"),
        ("91234567", "phone_invalid"),
        ("+1 202 555 0143", "phone_invalid"),
        ("+34 612 345 678", "phone_invalid"),
        ("9" * 200, "phone_invalid"),
        # Landlines: Lima (01) and a provincial code (064, Huancayo).
        ("(01) 411-1111", "phone_not_mobile"),
        ("+51 1 411 1111", "phone_not_mobile"),
        ("064 123456", "phone_not_mobile"),
    ],
)
def test_normalise_phone_refuses(raw: str, code: str) -> None:
    with pytest.raises(InvalidPhone) as caught:
        normalise_phone(raw)
    assert caught.value.reason == "phone_invalid"
    assert caught.value.context == {"code": code}
    if raw.strip():
        assert raw.strip() not in caught.value.detail


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+51912345678", "+51 9** *** 678"),
        ("+51987654321", "+51 9** *** 321"),
        # Anything else is still masked, never shown whole.
        ("+12025550143", "*********143"),
    ],
)
def test_mask_phone(e164: str, masked: str) -> None:
    assert mask_phone(e164) == masked


def test_mask_phone_round_trip() -> None:
    assert mask_phone(normalise_phone("0051 987 654 321")) == "+51 9** *** 321"
