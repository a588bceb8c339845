"""Identity documents and phone numbers: cleaning, validation and masking.

Every refusal raises a `core.errors` exception whose `context["code"]` is a short subcode
(e.g. "dni_check_digit") that the chat layer turns into a message in the citizen's language.
The `detail` is an English sentence for operators and never contains the number itself.
"""

from __future__ import annotations

import re
from typing import Final, assert_never

import phonenumbers
from stdnum.exceptions import ValidationError
from stdnum.pe import cui, ruc

from core.errors import InvalidDocument, InvalidPhone
from core.models import DocumentType

# Separators a citizen may type inside a document number: whitespace (any, including
# no-break spaces), dots and the dash look-alikes that phone keyboards substitute.
_SEPARATORS: Final = re.compile(r"[\s.\-\u2010\u2011\u2012\u2013\u2014\u2212]+")
_ALNUM: Final = re.compile(r"[A-Za-z0-9]+")
_DIGITS: Final = re.compile(r"[0-9]+")

DNI_LENGTH: Final = 8
RUC_LENGTH: Final = 11
RUC_PREFIXES: Final = frozenset({"10", "15", "17", "20"})
RUC_COMPANY_PREFIX: Final = "20"
CE_LENGTHS: Final = range(9, 13)
PASSPORT_LENGTHS: Final = range(6, 13)

PERU_REGION: Final = "PE"
PERU_COUNTRY_CODE: Final = 51
_PERU_MOBILE_E164: Final = re.compile(r"\+519[0-9]{8}")
_MOBILE_TYPES: Final = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)
# Longer input is not a phone number; refusing early keeps parsing cheap.
_MAX_PHONE_INPUT: Final = 40

_MASK: Final = "*"
_VISIBLE_TAIL: Final = 3


def _clean(raw: str) -> str:
    return _SEPARATORS.sub("", raw)


def _refuse(detail: str, code: str) -> InvalidDocument:
    return InvalidDocument(detail, code=code)


def _normalise_dni(number: str) -> str:
    if len(number) not in (DNI_LENGTH, DNI_LENGTH + 1) or not _DIGITS.fullmatch(
        number[:DNI_LENGTH]
    ):
        raise _refuse(
            "DNI must be 8 digits, optionally followed by a check character", "dni_length"
        )
    if len(number) > DNI_LENGTH:
        try:
            cui.validate(number)
        except ValidationError:
            raise _refuse("DNI check character does not match", "dni_check_digit") from None
    return number[:DNI_LENGTH]


def _normalise_ruc(number: str) -> str:
    if len(number) != RUC_LENGTH or not _DIGITS.fullmatch(number):
        raise _refuse("RUC must be 11 digits", "ruc_length")
    if number[:2] not in RUC_PREFIXES:
        raise _refuse("RUC must start with 10, 15, 17 or 20", "ruc_prefix")
    try:
        return str(ruc.validate(number))
    except ValidationError:
        raise _refuse("RUC check digit does not match", "ruc_check_digit") from None


def normalise_document(doc_type: DocumentType, raw: str) -> str:
    """Return the stored form of a document number or raise InvalidDocument with a subcode."""
    doc_type = DocumentType(doc_type)
    cleaned = _clean(raw)
    if not cleaned:
        raise _refuse("document number is empty", "empty")
    # Check ASCII before upper-casing: some non-ASCII letters upper-case to ASCII ones.
    ascii_alnum = _ALNUM.fullmatch(cleaned) is not None
    number = cleaned.upper()
    if doc_type is DocumentType.DNI:
        if not ascii_alnum:
            raise _refuse("DNI must be 8 digits", "dni_length")
        return _normalise_dni(number)
    if doc_type is DocumentType.RUC:
        if not ascii_alnum:
            raise _refuse("RUC must be 11 digits", "ruc_length")
        return _normalise_ruc(number)
    if doc_type is DocumentType.CE:
        if not ascii_alnum or len(number) not in CE_LENGTHS:
            raise _refuse("carné de extranjería must be 9 to 12 letters or digits", "ce_format")
        return number
    if doc_type is DocumentType.PASSPORT:
        if not ascii_alnum or len(number) not in PASSPORT_LENGTHS:
            raise _refuse("passport must be 6 to 12 letters or digits", "passport_format")
        return number
    assert_never(doc_type)


def is_company(doc_type: DocumentType, number: str) -> bool:
    """Tell whether a normalised document belongs to a legal person (RUC starting with 20)."""
    return doc_type == DocumentType.RUC and number.startswith(RUC_COMPANY_PREFIX)


def mask_document(number: str) -> str:
    """Hide all but the last 3 characters of a document number, e.g. "*****410"."""
    if len(number) <= _VISIBLE_TAIL:
        return _MASK * len(number)
    return _MASK * (len(number) - _VISIBLE_TAIL) + number[-_VISIBLE_TAIL:]


def normalise_phone(raw: str) -> str:
    """Return a Peruvian mobile number in E.164 (+519XXXXXXXX) or raise InvalidPhone."""
    text = raw.strip()
    if not text or len(text) > _MAX_PHONE_INPUT:
        raise InvalidPhone("phone number is empty or too long", code="phone_invalid")
    try:
        parsed = phonenumbers.parse(text, PERU_REGION)
    except phonenumbers.NumberParseException:
        raise InvalidPhone("phone number cannot be parsed", code="phone_invalid") from None
    if parsed.country_code != PERU_COUNTRY_CODE or not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone("not a valid Peruvian phone number", code="phone_invalid")
    if phonenumbers.number_type(parsed) not in _MOBILE_TYPES:
        raise InvalidPhone("Peruvian number is not a mobile number", code="phone_not_mobile")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not _PERU_MOBILE_E164.fullmatch(e164):
        raise InvalidPhone("Peruvian number is not a mobile number", code="phone_not_mobile")
    return e164


def mask_phone(e164: str) -> str:
    """Hide the middle of a phone number for display, e.g. "+51 9** *** 678"."""
    if _PERU_MOBILE_E164.fullmatch(e164):
        return f"+51 9** *** {e164[-_VISIBLE_TAIL:]}"
    return mask_document(e164)
