from __future__ import annotations

import inspect
import itertools
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.pofile import read_po

from bot.i18n import (
    Catalogues,
    babel_locale,
    catalogues,
    format_day,
    format_money,
    format_time,
    format_when,
    has_key,
    language_name,
    languages,
    placeholders,
    substitute,
    t,
)
from core import errors
from core.documents import normalise_document, normalise_phone
from core.errors import DomainError, InvalidDocument, InvalidPhone
from core.models import DocumentType, Modality

LOCALES = Path(__file__).resolve().parents[2] / "bot" / "locales"
# Read at collection time so that completeness is parametrised per key and language.
REPO = Catalogues(LOCALES).load()
SPANISH_KEYS = REPO.keys()

# The keys the bot relies on, with the placeholders each must carry.
REQUIRED: dict[str, frozenset[str]] = {
    key: frozenset(params.split())
    for key, params in {
        "misunderstood": "",
        "misunderstood.offer_help": "",
        "hint.choose_number": "",
        "hint.yes_no": "",
        "hint.date": "",
        "hint.service_words": "",
        "region.noted": "region",
        "note.kept": "",
        "choice.which_one": "",
        "date.asap": "",
        "more_options": "",
        "nav.back_at_start": "",
        "nav.help": "",
        "nav.cancelled": "",
        "nav.language_changed": "language",
        "nav.welcome_back": "name",
        "nav.session_expired": "",
        "option.yes": "",
        "option.no": "",
        "option.menu": "",
        "option.human": "",
        "date.read_back": "when",
        "date.past": "",
        "date.not_understood": "",
        "date.too_far": "last_day",
        "date.no_slots": "day",
        "slot.none_left": "",
        "slot.changed": "when",
        "slot.taken_sorry": "",
        "document.invalid.empty": "",
        "document.invalid.dni_length": "",
        "document.invalid.dni_check_digit": "",
        "document.invalid.ce_format": "",
        "document.invalid.ruc_length": "",
        "document.invalid.ruc_prefix": "",
        "document.invalid.ruc_check_digit": "",
        "document.invalid.passport_format": "",
        "phone.invalid.phone_invalid": "",
        "phone.invalid.phone_not_mobile": "",
        "text.too_long": "max",
        "text.empty": "",
        "name.invalid": "",
        "company_name.invalid": "",
        "notify.document_used": "document",
        "notify.card.unverified": "",
        "refusal.slot_taken": "",
        "refusal.holiday": "name",
        "refusal.closed": "",
        "refusal.nobody_works": "day",
        "refusal.outside_hours": "",
        "refusal.too_soon": "",
        "refusal.too_far": "",
        "refusal.service_not_offered": "region",
        "refusal.not_active": "",
        "refusal.not_found": "",
        "refusal.event_closed": "",
        "refusal.already_booked": "booked_service booked_when",
        "refusal.invalid_transition": "",
        "refusal.error": "",
        "modality.video": "",
        "modality.phone": "",
        "modality.chat": "",
        "modality.in_person": "region",
        "doc_type.dni": "",
        "doc_type.ce": "",
        "doc_type.ruc": "",
        "doc_type.passport": "",
        "period.morning": "",
        "period.afternoon": "",
        "period.evening": "",
        "options.none": "",
        "event.confirmed": "title when",
        "event.waitlisted": "title position",
        "event.cancelled": "",
        "handoff.recorded": "region",
        "data.erased": "",
        "language.choose": "",
        "error.internal": "",
        "keyword.menu": "",
        "keyword.back": "",
        "keyword.help": "",
        "keyword.cancel": "",
        "keyword.language": "",
        "keyword.human": "",
        "flood.slow_down": "",
    }.items()
}
ALL_KEYS = sorted(set(REQUIRED).union(*(REPO.messages(lang) for lang in languages())))
KEYWORDS = ("menu", "back", "help", "cancel", "language", "human")

WHEN = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # 10:00 in Lima
NNBSP = "\u202f"  # narrow no-break space, as CLDR puts before "a. m." / "AM"
NBSP = "\u00a0"


def _po(*entries: tuple[str, str]) -> str:
    lines = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', ""]
    for key, text in entries:
        lines += [f'msgid "{key}"', f'msgstr "{text}"', ""]
    return "\n".join(lines)


def _write_locales(root: Path, per_lang: dict[str, str]) -> Path:
    for lang, text in per_lang.items():
        folder = root / lang / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "psv.po").write_text(text, encoding="utf-8")
    return root


# --- completeness -------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "lang"), list(itertools.product(ALL_KEYS, languages())))
def test_every_key_is_translated_in_every_language(key: str, lang: str) -> None:
    text = REPO.messages(lang).get(key, "")
    assert text.strip(), f"{key!r} is missing or empty in {lang}"


def test_no_gaps_in_any_language() -> None:
    gaps = {
        lang: sorted(k for k in ALL_KEYS if not REPO.messages(lang).get(k, "").strip())
        for lang in languages()
    }
    assert {lang: keys for lang, keys in gaps.items() if keys} == {}
    assert REPO.gaps() == {}


@pytest.mark.parametrize("key", ALL_KEYS)
def test_placeholders_agree_across_languages(key: str) -> None:
    found = {lang: placeholders(REPO.messages(lang).get(key, "")) for lang in languages()}
    assert len(set(found.values())) == 1, found
    if key in REQUIRED:
        assert found["es"] == REQUIRED[key]


def test_catalogue_files_parse_cleanly_without_fuzzy_or_obsolete_entries() -> None:
    for lang in languages():
        with (LOCALES / lang / "LC_MESSAGES" / "psv.po").open("rb") as fileobj:
            catalog = read_po(fileobj, abort_invalid=True)
        assert not catalog.obsolete
        assert [m.id for m in catalog if m.id and m.fuzzy] == []


def test_ids_are_stable_keys_not_sentences() -> None:
    for key in ALL_KEYS:
        assert key == key.strip() and " " not in key and key.islower(), key


# --- content rules ------------------------------------------------------------------------


def test_quechua_header_asks_for_native_speaker_review() -> None:
    header = (LOCALES / "qu" / "LC_MESSAGES" / "psv.po").read_text(encoding="utf-8")[:1200]
    assert "NATIVE SPEAKER MUST REVIEW" in header


def test_quechua_text_left_in_spanish_is_marked_for_review() -> None:
    with (LOCALES / "qu" / "LC_MESSAGES" / "psv.po").open("rb") as fileobj:
        catalog = read_po(fileobj)
    spanish = REPO.messages("es")
    unmarked = [
        m.id
        for m in catalog
        if m.id
        and m.string == spanish.get(str(m.id))
        and not any(
            "TODO(qu-review)" in c or "Same in every language" in c for c in m.auto_comments
        )
    ]
    assert unmarked == []


@pytest.mark.parametrize("lang", languages())
def test_help_lists_the_keywords_of_its_language(lang: str) -> None:
    words = [t(f"keyword.{name}", lang) for name in KEYWORDS]
    assert all(word in t("nav.help", lang) for word in words), words
    offer = t("misunderstood.offer_help", lang)
    assert t("keyword.menu", lang) in offer and t("keyword.human", lang) in offer


@pytest.mark.parametrize("lang", languages())
def test_the_engine_understands_the_words_the_messages_teach(lang: str) -> None:
    understand = pytest.importorskip("bot.understanding")
    for name in KEYWORDS:
        assert understand.global_command(t(f"keyword.{name}", lang)) == name
    assert understand.yes_no(t("option.yes", lang), lang) is True
    assert understand.yes_no(t("option.no", lang), lang) is False


@pytest.mark.parametrize(("key", "lang"), list(itertools.product(ALL_KEYS, languages())))
def test_when_is_never_followed_by_a_period(key: str, lang: str) -> None:
    # "10:00 a. m." already ends with a period.
    assert "{when}." not in REPO.messages(lang).get(key, "")


def test_spanish_uses_usted_not_tu() -> None:
    informal = ("escribe ", "elige ", "responde ", "revisa ", " tu ", " tus ", "puedes ")
    for key, text in REPO.messages("es").items():
        lowered = f" {text.lower()} "
        assert not [w for w in informal if w in lowered], (key, text)


def test_every_core_reason_code_has_a_message() -> None:
    reasons = {
        cls.reason
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, DomainError)
    }
    by_subcode = {InvalidDocument.reason, InvalidPhone.reason}
    assert {f"refusal.{r}" for r in reasons - by_subcode} <= SPANISH_KEYS


@pytest.mark.parametrize(
    ("doc_type", "raw", "code"),
    [
        (DocumentType.DNI, " ", "empty"),
        (DocumentType.DNI, "1234", "dni_length"),
        (DocumentType.DNI, "101174109", "dni_check_digit"),
        (DocumentType.CE, "12AB", "ce_format"),
        (DocumentType.RUC, "2051233379", "ruc_length"),
        (DocumentType.RUC, "30512333797", "ruc_prefix"),
        (DocumentType.RUC, "20512333790", "ruc_check_digit"),
        (DocumentType.PASSPORT, "X1", "passport_format"),
    ],
)
def test_document_subcodes_have_messages(doc_type: DocumentType, raw: str, code: str) -> None:
    with pytest.raises(InvalidDocument) as caught:
        normalise_document(doc_type, raw)
    assert caught.value.context["code"] == code
    assert f"document.invalid.{code}" in SPANISH_KEYS


@pytest.mark.parametrize(
    ("raw", "code"), [("123", "phone_invalid"), ("+51 1 411 7000", "phone_not_mobile")]
)
def test_phone_subcodes_have_messages(raw: str, code: str) -> None:
    with pytest.raises(InvalidPhone) as caught:
        normalise_phone(raw)
    assert caught.value.context["code"] == code
    assert f"phone.invalid.{code}" in SPANISH_KEYS


def test_enum_values_have_labels() -> None:
    assert {f"modality.{m.value}" for m in Modality} <= SPANISH_KEYS
    assert {f"doc_type.{d.value}" for d in DocumentType} <= SPANISH_KEYS


# --- t and substitution -------------------------------------------------------------------


def test_t_returns_the_message_of_the_language() -> None:
    assert t("misunderstood", "es") == "Disculpe, no le entendí."
    assert t("misunderstood", "en") == "Sorry, I didn't understand."
    assert t("option.yes", "qu") == "Arí"


def test_t_substitutes_params() -> None:
    assert t("modality.in_person", "es", region="Cusco") == "En persona, en la oficina de Cusco."
    assert t("text.too_long", "en", max=500) == (
        "Your message is too long. Please use at most 500 characters."
    )


def test_t_leaves_missing_and_unknown_placeholders() -> None:
    assert t("nav.welcome_back", "es") == "Hola de nuevo, {name}."
    assert t("nav.welcome_back", "es", nombre="Ana") == "Hola de nuevo, {name}."


def test_t_accepts_params_named_key_and_lang() -> None:
    assert substitute("{key}/{lang}", {"key": "k", "lang": "l"}) == "k/l"
    assert t("misunderstood", "es", key="x", lang="y") == "Disculpe, no le entendí."


def test_param_text_is_inserted_literally_never_evaluated() -> None:
    hostile = "{x.__class__} {name} {0} {region!r}"
    assert t("nav.welcome_back", "es", name=hostile) == f"Hola de nuevo, {hostile}."


def test_attribute_lookups_in_a_message_are_left_as_written() -> None:
    params = {"x": object(), "name": "Ana"}
    assert substitute("{x.__class__} {x[0]} {name}", params) == "{x.__class__} {x[0]} Ana"


def test_t_raises_key_error_for_an_unknown_key() -> None:
    with pytest.raises(KeyError):
        t("no.such.key", "es")
    assert not has_key("no.such.key")
    assert has_key("refusal.error")


def test_t_falls_back_to_spanish_for_an_unsupported_language() -> None:
    assert t("misunderstood", "ay") == t("misunderstood", "es")


def test_repository_catalogues_are_loaded_once() -> None:
    assert catalogues() is catalogues()
    assert catalogues().directory == LOCALES


# --- loading from an explicit directory -----------------------------------------------------


def test_missing_translation_falls_back_to_spanish(tmp_path: Path) -> None:
    root = _write_locales(
        tmp_path,
        {
            "es": _po(("greet", "Hola, {name}."), ("bye", "Chau.")),
            "en": _po(("greet", "Hi, {name}.")),  # "bye" deliberately missing
            "qu": _po(("greet", "Allinmi hamusqayki, {name}!"), ("bye", "")),  # empty
        },
    )
    cats = Catalogues(str(root)).load()
    assert cats.t("greet", "en", name="Ana") == "Hi, Ana."
    assert cats.t("bye", "en") == "Chau."
    assert cats.t("bye", "qu") == "Chau."
    assert cats.gaps() == {"en": ["bye"], "qu": ["bye"]}
    assert "bye" in cats and "only.english" not in cats
    with pytest.raises(KeyError):
        cats.t("only.english", "en")


def test_fuzzy_translations_count_as_missing(tmp_path: Path) -> None:
    fuzzy = _po(("greet", "Hi.")).replace('msgid "greet"', '#, fuzzy\nmsgid "greet"')
    root = _write_locales(
        tmp_path, {"es": _po(("greet", "Hola.")), "en": fuzzy, "qu": _po(("greet", "Hola."))}
    )
    cats = Catalogues(root).load()
    assert cats.t("greet", "en") == "Hola."


def test_a_key_unknown_in_spanish_is_reported_and_refused(tmp_path: Path) -> None:
    root = _write_locales(
        tmp_path,
        {
            "es": _po(("greet", "Hola.")),
            "en": _po(("greet", "Hi."), ("extra", "Extra.")),
            "qu": _po(("greet", "Hola.")),
        },
    )
    cats = Catalogues(root).load()
    assert cats.gaps() == {"es": ["extra"], "qu": ["extra"]}
    with pytest.raises(KeyError):
        cats.t("extra", "en")


def test_load_is_explicit_and_rereads(tmp_path: Path) -> None:
    root = _write_locales(
        tmp_path, {lang: _po(("greet", f"v1 {lang}")) for lang in ("es", "en", "qu")}
    )
    cats = Catalogues(root)
    with pytest.raises(RuntimeError):
        cats.t("greet", "es")
    assert cats.load().t("greet", "en") == "v1 en"
    (root / "en" / "LC_MESSAGES" / "psv.po").write_text(_po(("greet", "v2 en")), encoding="utf-8")
    assert cats.t("greet", "en") == "v1 en"
    assert cats.load().t("greet", "en") == "v2 en"


def test_a_missing_catalogue_file_fails_loudly(tmp_path: Path) -> None:
    root = _write_locales(tmp_path, {"es": _po(("greet", "Hola.")), "en": _po(("greet", "Hi."))})
    with pytest.raises(FileNotFoundError):
        Catalogues(root).load()


def test_default_directory_is_the_package_locales() -> None:
    assert Catalogues().directory == LOCALES


# --- languages and Babel formatting (exact Babel 2.19 outputs) ---------


def test_languages_and_their_names() -> None:
    assert languages() == ("es", "en", "qu")
    assert [language_name(lang) for lang in languages()] == ["Español", "English", "Runasimi"]
    for lang in languages():
        own = Locale.parse(lang).get_display_name(lang)
        assert own is not None and language_name(lang) == own[0].upper() + own[1:]


def test_babel_locales() -> None:
    assert [str(babel_locale(lang)) for lang in languages()] == ["es_PE", "en", "qu_PE"]
    assert str(babel_locale("ay")) == "es_PE"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("es", "jueves 3 de diciembre"),
        ("en", "Thursday, December 3"),
        ("qu", "Jueves, 3 Diciembre"),
    ],
)
def test_format_day(lang: str, expected: str) -> None:
    assert format_day(date(2026, 12, 3), lang) == expected


@pytest.mark.parametrize(
    ("lang", "morning", "afternoon"),
    [
        ("es", f"10:00{NNBSP}a.{NNBSP}m.", f"3:30{NNBSP}p.{NNBSP}m."),
        ("en", f"10:00{NNBSP}AM", f"3:30{NNBSP}PM"),
        ("qu", f"10:00{NNBSP}a.m.", f"3:30{NNBSP}p.m."),
    ],
)
def test_format_time(lang: str, morning: str, afternoon: str) -> None:
    assert format_time(time(10, 0), lang) == morning
    assert format_time(time(15, 30), lang) == afternoon


def test_format_time_converts_an_aware_datetime_to_lima() -> None:
    assert format_time(WHEN, "es") == f"10:00{NNBSP}a.{NNBSP}m."
    assert format_time(datetime(2026, 12, 3, 10, 0), "en") == f"10:00{NNBSP}AM"  # naive: as is


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("es", f"jueves 3 de diciembre, 10:00{NNBSP}a.{NNBSP}m."),
        ("en", f"Thursday, December 3, 10:00{NNBSP}AM"),
        ("qu", f"Jueves, 3 Diciembre 10:00{NNBSP}a.m."),
    ],
)
def test_format_when(lang: str, expected: str) -> None:
    assert format_when(WHEN, lang) == expected


def test_format_when_uses_the_local_day() -> None:
    late = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)  # 22:00 on the 3rd in Lima
    assert format_when(late, "es") == f"jueves 3 de diciembre, 10:00{NNBSP}p.{NNBSP}m."
    assert format_when(late, "es", tz="UTC") == f"viernes 4 de diciembre, 3:00{NNBSP}a.{NNBSP}m."


def test_format_when_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        format_when(datetime(2026, 12, 3, 10, 0), "es")


@pytest.mark.parametrize("lang", ["es", "en", "qu"])
def test_format_money_in_soles(lang: str) -> None:
    assert format_money(Decimal("25.14"), lang) == f"S/{NBSP}25.14"
    assert format_money(1234.5, lang) == f"S/{NBSP}1,234.50"
    assert format_money(0, lang) == f"S/{NBSP}0.00"


def test_formatting_an_unsupported_language_uses_spanish() -> None:
    assert format_day(date(2026, 12, 3), "ay") == "jueves 3 de diciembre"
    assert format_when(WHEN, "ay") == format_when(WHEN, "es")


def test_read_back_in_spanish_reads_naturally() -> None:
    text = t("date.read_back", "es", when=format_when(WHEN, "es"))
    assert text == f"Entendí: jueves 3 de diciembre, 10:00{NNBSP}a.{NNBSP}m.\n¿Es correcto?"
