"""Table-driven tests of bot.understanding: normalise, options, yes/no, commands, services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.understanding import (
    GLOBAL_COMMANDS,
    MAX_COMMAND_WORDS,
    NO_PHRASES,
    UNSURE_PHRASES,
    YES_PHRASES,
    Choice,
    MatchResult,
    ServiceEntry,
    global_command,
    match_option,
    normalise,
    rank_services,
    search_services,
    yes_no,
)

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "core" / "data" / "services.yaml"
GLOSSARY = ROOT / "tests" / "fixtures" / "QUECHUA.md"


def _load_services() -> list[ServiceEntry]:
    data: dict[str, Any] = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    return [
        ServiceEntry(
            code=s["code"],
            names=tuple(s["names"].values()),
            keywords=tuple(s.get("keywords", ())),
        )
        for s in data["services"]
    ]


SERVICES = _load_services()
CODES = {s.code for s in SERVICES}

# --- option sets ------------------------------------------------------------------------------

OPTION_SETS: dict[str, list[Choice]] = {
    # The first ten services of the real catalogue, labelled with their es/en/qu names.
    "catalogue10": [Choice(s.code, s.names) for s in SERVICES[:10]],
    "menu": [
        Choice("consultas", ("Consultas laborales", "Labour law advice")),
        Choice("liquidacion", ("Liquidación de beneficios sociales",)),
        Choice("conciliacion", ("Conciliación administrativa laboral",)),
        Choice("asesoria", ("Asesoría para la búsqueda de empleo", "Job search advice")),
        Choice("capacitacion", ("Capacitación laboral",)),
        Choice("patrocinio", ("Patrocinio judicial gratuito",)),
        Choice("bolsa", ("Bolsa de trabajo", "Job placement")),
    ],
    "yesno": [Choice("yes", ("Sí", "Yes", "Arí")), Choice("no", ("No", "Manan"))],
    "days": [
        Choice("2027-03-15", ("Lunes 15 de marzo",)),
        Choice("2027-03-16", ("Martes 16 de marzo",)),
        Choice("2027-03-17", ("Miércoles 17 de marzo",)),
    ],
    "registros": [
        Choice("sindicatos", ("Registro de sindicatos",)),
        Choice("contratos", ("Registro de contratos",)),
        Choice("otro", ("Otro trámite",)),
    ],
    "twins": [Choice("a", ("Conciliación",)), Choice("b", ("Conciliacion",))],
    "confirm": [Choice("ok", ("Sí, confirmar",)), Choice("change", ("No, cambiar",))],
    "slots": [
        Choice("s1", ("09:00",)),
        Choice("s2", ("10:30",)),
        Choice("s3", ("15:00",)),
        Choice("more", ("Ver más horarios",)),
    ],
    "languages": [
        Choice("es", ("Español", "Castellano")),
        Choice("en", ("English", "Inglés")),
        Choice("qu", ("Runasimi", "Quechua")),
    ],
}

# (text, option set, expected payload, expected ambiguous candidates)
MATCH_ROWS: list[tuple[str, str, str | None, tuple[str, ...]]] = [
    # Numbers: 1-based positions, with the words people put around them.
    ("1", "menu", "consultas", ()),
    ("2", "menu", "liquidacion", ()),
    ("2.", "menu", "liquidacion", ()),
    (" 3 ", "menu", "conciliacion", ()),
    ("el 2", "menu", "liquidacion", ()),
    ("la 4", "menu", "asesoria", ()),
    ("opción 2", "menu", "liquidacion", ()),
    ("Opcion 5", "menu", "capacitacion", ()),
    ("número 6", "menu", "patrocinio", ()),
    ("N° 7", "menu", "bolsa", ()),
    ("#3", "menu", "conciliacion", ()),
    ("quiero la 3 por favor", "menu", "conciliacion", ()),
    ("la opción 1 gracias", "menu", "consultas", ()),
    ("07", "menu", "bolsa", ()),
    ("2do", "menu", "liquidacion", ()),
    ("1ro", "menu", "consultas", ()),
    ("3ra", "menu", "conciliacion", ()),
    ("2°", "menu", "liquidacion", ()),
    ("dos", "menu", "liquidacion", ()),
    ("la tres", "menu", "conciliacion", ()),
    ("option 4", "menu", "asesoria", ()),
    ("10", "catalogue10", SERVICES[9].code, ()),
    # Ordinals, Spanish and English.
    ("la segunda", "menu", "liquidacion", ()),
    ("La Segunda!", "menu", "liquidacion", ()),
    ("el primero", "menu", "consultas", ()),
    ("primera", "menu", "consultas", ()),
    ("la primera opción", "menu", "consultas", ()),
    ("tercera opción", "menu", "conciliacion", ()),
    ("el tercer", "menu", "conciliacion", ()),
    ("la cuarta", "menu", "asesoria", ()),
    ("quinta", "menu", "capacitacion", ()),
    ("séptima", "menu", "bolsa", ()),
    ("la última", "menu", "bolsa", ()),
    ("la ultima", "days", "2027-03-17", ()),
    ("el último", "catalogue10", SERVICES[9].code, ()),
    ("la penúltima", "menu", "patrocinio", ()),
    ("second", "menu", "liquidacion", ()),
    ("the first", "menu", "consultas", ()),
    ("the first one", "menu", "consultas", ()),
    ("third option", "menu", "conciliacion", ()),
    ("the last one", "menu", "bolsa", ()),
    # Out of range: not a position, and nothing else.
    ("0", "menu", None, ()),
    ("8", "menu", None, ()),
    ("99", "menu", None, ()),
    ("la octava", "menu", None, ()),
    ("3", "yesno", None, ()),
    # Exact labels, any language, with or without accents and case.
    ("Consultas laborales", "menu", "consultas", ()),
    ("consultas laborales", "menu", "consultas", ()),
    ("CONCILIACIÓN ADMINISTRATIVA LABORAL", "menu", "conciliacion", ()),
    ("conciliacion administrativa laboral", "menu", "conciliacion", ()),
    ("Labour law advice", "menu", "consultas", ()),
    ("job placement", "menu", "bolsa", ()),
    ("Bolsa de trabajo.", "menu", "bolsa", ()),
    ("Sí", "yesno", "yes", ()),
    ("si", "yesno", "yes", ()),
    ("siii", "yesno", "yes", ()),
    ("arí", "yesno", "yes", ()),
    ("NO", "yesno", "no", ()),
    ("Manan", "yesno", "no", ()),
    ("castellano", "languages", "es", ()),
    ("quechua", "languages", "qu", ()),
    ("ingles", "languages", "en", ()),
    ("Labour law advice", "catalogue10", "consultas-laborales", ()),
    # Short answers that are stopwords match a label's whole word.
    ("si", "confirm", "ok", ()),
    ("no", "confirm", "change", ()),
    ("confirmar", "confirm", "ok", ()),
    ("cambiar", "confirm", "change", ()),
    ("no quiero", "confirm", None, ()),
    ("10:30", "slots", "s2", ()),
    ("10.30", "slots", "s2", ()),
    ("15:00", "slots", "s3", ()),
    ("ver más", "slots", "more", ()),
    ("otros horarios", "slots", "more", ()),
    ("9", "slots", None, ()),  # a clock hour, out of range as a position
    ("1030", "slots", None, ()),
    # The payload typed as text (console channel, tests).
    ("bolsa", "menu", "bolsa", ()),
    ("consultas-laborales", "catalogue10", "consultas-laborales", ()),
    # Containment: a label inside the text, or the text inside one label.
    ("quiero conciliacion", "menu", "conciliacion", ()),
    ("quiero conciliación por favor", "menu", "conciliacion", ()),
    ("conciliacion", "menu", "conciliacion", ()),
    ("liquidación", "menu", "liquidacion", ()),
    ("asesoria", "menu", "asesoria", ()),
    ("asesoría", "menu", "asesoria", ()),
    ("patrocinio", "menu", "patrocinio", ()),
    ("la bolsa de trabajo por favor", "menu", "bolsa", ()),
    ("me interesa la capacitación laboral", "menu", "capacitacion", ()),
    ("busqueda de empleo", "menu", "asesoria", ()),
    ("consulta", "menu", "consultas", ()),
    ("el martes", "days", "2027-03-16", ()),
    ("lunes", "days", "2027-03-15", ()),
    ("teletrabajo", "catalogue10", "orientacion-teletrabajo", ()),
    ("extraproceso", "catalogue10", "reuniones-extraproceso", ()),
    ("quiero el de sindicatos", "registros", "sindicatos", ()),
    ("otro", "registros", "otro", ()),
    ("runasimi", "languages", "qu", ()),
    # Typos: spelling (c/s/z, b/v, y/i, h), one or two edits, stems.
    ("conciliasion", "menu", "conciliacion", ()),
    ("consiliacion", "menu", "conciliacion", ()),
    ("conciliacon", "menu", "conciliacion", ()),
    ("quiero conciliasion", "menu", "conciliacion", ()),
    ("liquidasion", "menu", "liquidacion", ()),
    ("likidacion", "menu", "liquidacion", ()),
    ("asesorya", "menu", "asesoria", ()),
    ("acesoria", "menu", "asesoria", ()),
    ("asesorai", "menu", "asesoria", ()),
    ("capasitacion", "menu", "capacitacion", ()),
    ("patrosinio", "menu", "patrocinio", ()),
    ("patrocinio judisial", "menu", "patrocinio", ()),
    ("bolza de trabajo", "menu", "bolsa", ()),
    ("benefisios sociales", "menu", "liquidacion", ()),
    ("consulta laboral", "menu", "consultas", ()),
    ("consultas laboral", "menu", "consultas", ()),
    ("negociasion colectiva", "catalogue10", "orientacion-negociacion-colectiva", ()),
    ("sindicato", "catalogue10", "registro-organizaciones-sindicales", ()),
    ("miercoles", "days", "2027-03-17", ()),
    ("mierkoles", "days", "2027-03-17", ()),
    ("judicial gratuito", "menu", "patrocinio", ()),
    # Nonsense, greetings, other answers: nothing.
    ("hola", "menu", None, ()),
    ("xyz", "menu", None, ()),
    ("asdfgh", "menu", None, ()),
    ("gracias", "menu", None, ()),
    ("buenas tardes", "menu", None, ()),
    ("tengo una duda", "menu", None, ()),
    ("quiero una cita", "menu", None, ()),
    ("ok", "menu", None, ()),
    ("???", "menu", None, ()),
    ("👍", "menu", None, ()),
    ("", "menu", None, ()),
    ("   ", "menu", None, ()),
    ("no se", "yesno", None, ()),
    ("despido", "menu", None, ()),
    ("hola", "catalogue10", None, ()),
    ("xyz", "catalogue10", None, ()),
    ("cita", "catalogue10", None, ()),
    # Document and phone numbers are never positions.
    ("12345678", "menu", None, ()),
    ("12345678", "catalogue10", None, ()),
    ("71234567", "menu", None, ()),
    ("mi dni es 12345678", "menu", None, ()),
    ("DNI 10117410", "menu", None, ()),
    ("20512333797", "menu", None, ()),
    ("912 345 678", "menu", None, ()),
    ("+51 912345678", "menu", None, ()),
    ("123", "menu", None, ()),
    ("100", "catalogue10", None, ()),
    ("001", "menu", None, ()),
    # Ambiguous: two or more options about equally close.
    ("laboral", "menu", None, ("consultas", "conciliacion", "capacitacion")),
    ("registro", "registros", None, ("sindicatos", "contratos")),
    ("conciliacion", "twins", None, ("a", "b")),
    (
        "trabajo",
        "catalogue10",
        None,
        ("registro-contrato-trabajo-hogar", "orientacion-teletrabajo"),
    ),
    ("labral", "menu", None, ("conciliacion", "capacitacion")),  # 1 edit from "laboral"
    ("de marzo", "days", None, ("2027-03-15", "2027-03-16", "2027-03-17")),
]


@pytest.mark.parametrize(
    ("text", "options", "payload", "ambiguous"),
    MATCH_ROWS,
    ids=[f"{r[1]}:{r[0]!r}" for r in MATCH_ROWS],
)
def test_match_option(
    text: str, options: str, payload: str | None, ambiguous: tuple[str, ...]
) -> None:
    result = match_option(text, OPTION_SETS[options])
    assert (result.payload, result.ambiguous) == (payload, ambiguous), result
    assert result.matched is (payload is not None)


HOW_ROWS: list[tuple[str, str]] = [
    ("2", "number"),
    ("la segunda", "ordinal"),
    ("Consultas laborales", "exact"),
    ("quiero conciliacion", "contains"),
    ("conciliasion", "fuzzy"),
    ("hola", "none"),
]


@pytest.mark.parametrize(("text", "how"), HOW_ROWS)
def test_match_option_says_how(text: str, how: str) -> None:
    assert match_option(text, OPTION_SETS["menu"]).how == how


PAYLOAD_ROWS: list[tuple[str, str | None, str | None]] = [
    # (text, button payload, expected)
    ("", "bolsa", "bolsa"),
    ("Bolsa de trabajo", "bolsa", "bolsa"),
    ("anything at all", "conciliacion", "conciliacion"),
    ("1", "bolsa", "bolsa"),  # the button wins over the text
    ("", "stale-button", None),  # a payload from an old menu is not an option
    ("Bolsa de trabajo", "stale-button", "bolsa"),  # ... then the text is read
    ("", None, None),
    ("2", None, "liquidacion"),
    ("", "Bolsa", None),  # payloads are compared exactly
]


@pytest.mark.parametrize(("text", "payload", "expected"), PAYLOAD_ROWS)
def test_match_option_payload(text: str, payload: str | None, expected: str | None) -> None:
    assert match_option(text, OPTION_SETS["menu"], payload=payload).payload == expected


def test_match_option_no_options() -> None:
    assert match_option("1", []) == MatchResult(None)
    assert match_option("hola", [], payload="x").payload is None


@pytest.mark.parametrize("digits", ["123", "1234", "12345678", "987654321", "20512333797", "0000"])
@pytest.mark.parametrize("options", ["menu", "catalogue10"])
def test_long_numbers_are_never_positions(digits: str, options: str) -> None:
    for text in (digits, f"el {digits}", f"opción {digits}", f"{digits}."):
        result = match_option(text, OPTION_SETS[options])
        assert result.how != "number" and result.payload is None, (text, result)


def test_match_option_accepts_lists_and_long_text() -> None:
    options = [Choice("a", ["Conciliación"]), Choice("b", ["Liquidación"])]  # type: ignore[arg-type]
    assert match_option("conciliasion", options).payload == "a"
    assert match_option("hola " * 5000 + "liquidacion", OPTION_SETS["menu"]).payload is None
    assert match_option("liquidacion " + "hola " * 5000, OPTION_SETS["menu"]).payload == (
        "liquidacion"
    )


# --- yes / no -----------------------------------------------------------------------------------

YES_NO_ROWS: list[tuple[str, str, bool | None]] = [
    # Spanish yes.
    ("sí", "es", True),
    ("Si", "es", True),
    ("SI", "es", True),
    ("sii", "es", True),
    ("siiii", "es", True),
    ("sí.", "es", True),
    ("¡Sí!", "es", True),
    ("sip", "es", True),
    ("ya", "es", True),
    ("yaaa", "es", True),
    ("ya pe", "es", True),
    ("ok", "es", True),
    ("OK", "es", True),
    ("okk", "es", True),
    ("oka", "es", True),
    ("okey", "es", True),
    ("dale", "es", True),
    ("claro", "es", True),
    ("claro que sí", "es", True),
    ("correcto", "es", True),
    ("es correcto", "es", True),
    ("de acuerdo", "es", True),
    ("confirmo", "es", True),
    ("afirmativo", "es", True),
    ("está bien", "es", True),
    ("por supuesto", "es", True),
    ("sí, por favor", "es", True),
    ("Sí, confírmelo por favor", "es", True),
    ("si gracias", "es", True),
    ("hola, sí", "es", True),
    ("ah ya", "es", True),
    ("mmm no", "es", False),
    ("gracias, no", "es", False),
    ("ya, pero el martes", "es", True),
    ("buenas tardes, sí confirmo", "es", True),
    ("sí, mi empleador no me paga", "es", True),
    ("sí, no hay problema", "es", True),
    ("claro, por qué no", "es", True),
    ("no hay problema", "es", True),
    # Emoji.
    ("👍", "es", True),
    ("👍🏽", "es", True),
    ("👌", "es", True),
    ("✅", "es", True),
    ("✔️", "es", True),
    ("sí 👍", "es", True),
    ("👍 gracias", "es", True),
    ("👎", "es", False),
    ("❌", "es", False),
    # Spanish no.
    ("no", "es", False),
    ("No.", "es", False),
    ("noo", "es", False),
    ("nop", "es", False),
    ("nel", "es", False),
    ("no gracias", "es", False),
    ("No, gracias", "es", False),
    ("negativo", "es", False),
    ("todavía no", "es", False),
    ("todavia no", "es", False),
    ("aún no", "es", False),
    ("ya no", "es", False),
    ("mejor no", "es", False),
    ("claro que no", "es", False),
    ("no, prefiero otro día", "es", False),
    ("no, no quiero", "es", False),
    ("no es correcto", "es", False),
    # English.
    ("yes", "en", True),
    ("Yes", "es", True),
    ("yeah", "es", True),
    ("yep", "es", True),
    ("yup", "en", True),
    ("sure", "en", True),
    ("yes please", "en", True),
    ("no", "en", False),
    ("nope", "es", False),
    ("no thanks", "en", False),
    ("not yet", "en", False),
    # Quechua (attested: Arí; Manan, Mana, Manam), any `lang`.
    ("arí", "qu", True),
    ("Arí", "es", True),
    ("ari", "qu", True),
    ("ARÍ", "en", True),
    ("arí niy", "qu", True),
    ("manan", "qu", False),
    ("Manan", "es", False),
    ("mana", "qu", False),
    ("manam", "qu", False),
    ("Arí, ama hina kaspa", "qu", True),
    ("ama hina kaspa, arí", "qu", True),
    ("arí ama hina kaspa", "qu", True),
    ("Manan, ama kunanqa", "qu", False),
    ("por favor, sí", "es", True),
    ("no, por favor", "es", False),
    ("ama hina kaspa", "qu", None),
    ("ama niy", "qu", None),  # the global "cancel", not an answer
    ("Manam", "en", False),
    # One letter: `lang` breaks the tie ("y" is "and" in Spanish).
    ("y", "en", True),
    ("Y", "en-GB", True),
    ("y", "es", None),
    ("n", "en", False),
    ("n", "es", False),
    ("s", "es", True),
    ("s", "es_PE", True),
    ("s", "en", None),
    # Unclear.
    ("no sé", "es", None),
    ("no se", "es", None),
    ("nose", "es", None),
    ("no lo sé", "es", None),
    ("tal vez", "es", None),
    ("quizás", "es", None),
    ("depende", "es", None),
    ("maybe", "en", None),
    ("sí, no", "es", None),
    ("si no", "es", None),
    ("sí pero no el lunes", "es", None),
    ("sí, aunque no estoy seguro", "es", None),
    ("no 👍", "es", None),
    ("👍👎", "es", None),
    ("quiero saber si puedo ir", "es", None),
    ("hola", "es", None),
    ("gracias", "es", None),
    ("el lunes", "es", None),
    ("mañana", "es", None),  # not "manan"
    ("mañana en la tarde", "es", None),
    ("12345678", "es", None),
    ("", "es", None),
    ("   ", "es", None),
    ("🙂", "es", None),
    ("xyz", "es", None),
    ("cancelar", "es", None),
    ("👍 pero no puedo ir el lunes", "es", None),
]


@pytest.mark.parametrize(
    ("text", "lang", "expected"), YES_NO_ROWS, ids=[f"{r[1]}:{r[0]!r}" for r in YES_NO_ROWS]
)
def test_yes_no(text: str, lang: str, expected: bool | None) -> None:
    assert yes_no(text, lang) is expected


def test_yes_no_default_lang_is_spanish() -> None:
    assert yes_no("s") is True
    assert yes_no("y") is None


def test_yes_no_tables_do_not_overlap() -> None:
    def keys(phrases: tuple[str, ...]) -> set[str]:
        return {" ".join(normalise(p).split()) for p in phrases}

    assert not keys(YES_PHRASES) & keys(NO_PHRASES)
    assert not keys(UNSURE_PHRASES) & (keys(YES_PHRASES) | keys(NO_PHRASES))


@pytest.mark.parametrize("phrase", YES_PHRASES)
def test_every_yes_phrase_is_yes(phrase: str) -> None:
    assert yes_no(phrase) is True


@pytest.mark.parametrize("phrase", NO_PHRASES)
def test_every_no_phrase_is_no(phrase: str) -> None:
    assert yes_no(phrase) is False


@pytest.mark.parametrize("phrase", UNSURE_PHRASES)
def test_every_unsure_phrase_is_none(phrase: str) -> None:
    assert yes_no(phrase) is None


# --- global commands ----------------------------------------------------------------------------

COMMAND_ROWS: list[tuple[str, str | None]] = [
    # Spanish.
    ("menú", "menu"),
    ("Menu", "menu"),
    ("MENÚ!", "menu"),
    ("inicio", "menu"),
    ("volver al menú", "menu"),
    ("Volver al menu principal", None),
    ("menú principal", "menu"),
    ("ir al inicio", "menu"),
    ("por favor volver al menú", "menu"),
    ("quiero volver al menú por favor", "menu"),
    ("atrás", "back"),
    ("atras", "back"),
    ("volver", "back"),
    ("regresar", "back"),
    ("ayuda", "help"),
    ("Ayuda!!", "help"),
    ("ayudaaa", "help"),
    ("necesito ayuda", "help"),
    ("ayúdame por favor", "help"),
    ("no entiendo", "help"),
    ("?", "help"),
    ("¿?", "help"),
    ("cancelar", "cancel"),
    ("Cancelar.", "cancel"),
    ("quiero cancelar", "cancel"),
    ("salir", "cancel"),
    ("quiero salir", "cancel"),
    ("idioma", "language"),
    ("cambiar idioma", "language"),
    ("cambiar de idioma", "language"),
    ("humano", "human"),
    ("especialista", "human"),
    ("asesor", "human"),
    ("hablar con una persona", "human"),
    ("quiero hablar con una persona", "human"),
    ("Hola, quiero hablar con una persona por favor", "human"),
    ("quiero hablar con un abogado", "human"),
    ("hablar con un especialista", "human"),
    ("reiniciar", "restart"),
    ("empezar de nuevo", "restart"),
    ("/start", "restart"),
    # English.
    ("menu", "menu"),
    ("main menu", "menu"),
    ("back", "back"),
    ("go back", "back"),
    ("help", "help"),
    ("/help", "help"),
    ("help me please", "help"),
    ("cancel", "cancel"),
    ("/cancel", "cancel"),
    ("exit", "cancel"),
    ("language", "language"),
    ("change language", "language"),
    ("human", "human"),
    ("agent", "human"),
    ("talk to a person", "human"),
    ("I want to talk to a human", "human"),
    ("restart", "restart"),
    ("start over", "restart"),
    # Quechua, attested forms only.
    ("Yanapa", "help"),
    ("yanapay", "help"),
    ("Kutiy", "back"),
    ("Qhipaman", "back"),
    ("Lluqsiy", "cancel"),
    ("Ama niy", "cancel"),
    ("ama niy", "cancel"),
    ("Tatiy", "cancel"),
    ("Tatichiy", "cancel"),
    ("Simi", "language"),
    ("Ama hina kaspa, yanapa", "help"),
    # Longer sentences are requests for the flows, not commands.
    ("quiero cancelar mi cita del lunes", None),
    ("cancelar mi cita", None),
    ("cancelar cita", None),
    ("quiero ayuda con mi despido", None),
    ("necesito ayuda para calcular mi cts", None),
    ("el menú de opciones no me sirve para nada", None),
    ("volver a trabajar", None),
    ("necesito un abogado", None),
    ("asesoria", None),
    ("abogado", None),
    ("quiero hablar con un abogado sobre mi despido injustificado", None),
    ("hola", None),
    ("gracias", None),
    ("sí", None),
    ("no", None),
    ("español", None),
    ("quechua", None),
    ("2", None),
    ("", None),
    ("menú " * 50, None),
]


@pytest.mark.parametrize(("text", "expected"), COMMAND_ROWS, ids=[repr(r[0]) for r in COMMAND_ROWS])
def test_global_command(text: str, expected: str | None) -> None:
    assert global_command(text) == expected


@pytest.mark.parametrize(
    ("command", "phrase"),
    [(command, phrase) for command, phrases in GLOBAL_COMMANDS.items() for phrase in phrases],
)
def test_every_listed_phrase_is_its_command(command: str, phrase: str) -> None:
    assert len(normalise(phrase).split()) <= MAX_COMMAND_WORDS
    assert global_command(phrase) == command


QUECHUA_FORMS: list[tuple[str, str]] = [
    # (form as written in the glossary, what it must be understood as)
    ("Arí", "yes"),
    ("Arí niy", "yes"),
    ("Chaskiy", "yes"),
    ("Takyachiy", "yes"),
    ("Manan", "no"),
    ("Mana", "no"),
    ("Manam", "no"),
    ("Ama chaskiychu", "no"),
    ("Ama kunanqa", "no"),
    ("Yanapa", "help"),
    ("Yanapay", "help"),
    ("Yanapana", "help"),
    ("Kutiy", "back"),
    ("kutimuy", "back"),
    ("Qhipaman", "back"),
    ("Lluqsiy", "cancel"),
    ("Ama niy", "cancel"),
    ("Tatiy", "cancel"),
    ("Tatichiy", "cancel"),
    ("Simi", "language"),
    ("Qillqay qaway", "menu"),
]


@pytest.mark.parametrize(("form", "meaning"), QUECHUA_FORMS)
def test_quechua_forms_are_attested_and_understood(form: str, meaning: str) -> None:
    assert form.casefold() in GLOSSARY.read_text(encoding="utf-8").casefold()
    if meaning in ("yes", "no"):
        assert yes_no(form, "qu") is (meaning == "yes")
    else:
        assert global_command(form) == meaning


# --- service search -----------------------------------------------------------------------------

# (text, codes that must be among the results, code that must come first or None for "any")
SEARCH_ROWS: list[tuple[str, tuple[str, ...], str | None]] = [
    ("me despidieron", ("consultas-laborales", "patrocinio-judicial-gratuito"), None),
    ("despido", ("consultas-laborales", "patrocinio-judicial-gratuito"), None),
    ("despidieron", ("consultas-laborales", "patrocinio-judicial-gratuito"), None),
    ("me han despedido", ("consultas-laborales", "patrocinio-judicial-gratuito"), None),
    ("mi jefe me despidio", ("consultas-laborales", "patrocinio-judicial-gratuito"), None),
    ("despido arbitrario", ("consultas-laborales", "patrocinio-judicial-gratuito"), None),
    ("CTS", ("liquidacion-beneficios-sociales", "conciliacion-administrativa"), None),
    ("cts", ("liquidacion-beneficios-sociales", "conciliacion-administrativa"), None),
    ("mi cts", ("liquidacion-beneficios-sociales", "conciliacion-administrativa"), None),
    ("gratificación", ("liquidacion-beneficios-sociales", "conciliacion-administrativa"), None),
    ("gratificacion", ("liquidacion-beneficios-sociales", "conciliacion-administrativa"), None),
    ("gratificasion", ("liquidacion-beneficios-sociales", "conciliacion-administrativa"), None),
    (
        "mi empleador no me paga la gratificacion",
        ("liquidacion-beneficios-sociales", "conciliacion-administrativa"),
        "conciliacion-administrativa",
    ),
    ("no me pagaron", ("conciliacion-administrativa",), "conciliacion-administrativa"),
    ("me deben mi sueldo", ("conciliacion-administrativa", "consultas-laborales"), None),
    ("cuánto me toca de vacaciones", ("liquidacion-beneficios-sociales",), None),
    ("liquidación", ("liquidacion-beneficios-sociales",), "liquidacion-beneficios-sociales"),
    ("liquidasion", ("liquidacion-beneficios-sociales",), "liquidacion-beneficios-sociales"),
    ("conciliasion", ("conciliacion-administrativa",), "conciliacion-administrativa"),
    ("quiero conciliar", ("conciliacion-administrativa",), "conciliacion-administrativa"),
    ("asesoria", ("consultas-laborales",), None),
    ("necesito un abogado", ("consultas-laborales", "patrocinio-judicial-gratuito"), None),
    ("abogao", ("consultas-laborales", "patrocinio-judicial-gratuito"), None),
    ("quiero demandar a mi empresa", ("patrocinio-judicial-gratuito",), None),
    ("juicio laboral", ("patrocinio-judicial-gratuito",), "patrocinio-judicial-gratuito"),
    ("sindicato", ("registro-organizaciones-sindicales",), None),
    ("huelga", ("reuniones-extraproceso",), "reuniones-extraproceso"),
    ("pliego de reclamos", ("orientacion-negociacion-colectiva",), None),
    ("trabajadora del hogar", ("registro-contrato-trabajo-hogar",), None),
    ("teletrabajo", ("orientacion-teletrabajo",), "orientacion-teletrabajo"),
    ("bolsa de trabajo", ("bolsa-de-trabajo",), "bolsa-de-trabajo"),
    ("busco chamba", ("bolsa-de-trabajo",), "bolsa-de-trabajo"),
    ("busco trabajo", ("bolsa-de-trabajo", "asesoria-busqueda-empleo"), None),
    ("mi curriculum", ("asesoria-busqueda-empleo",), "asesoria-busqueda-empleo"),
    ("certificado unico laboral", ("certificado-unico-laboral",), "certificado-unico-laboral"),
    ("CUL", ("certificado-unico-laboral",), "certificado-unico-laboral"),
    ("antecedentes policiales", ("certificado-unico-laboral",), "certificado-unico-laboral"),
    ("quiero un curso", ("capacitacion-laboral",), "capacitacion-laboral"),
    ("cursos", ("capacitacion-laboral",), "capacitacion-laboral"),
    ("capasitacion", ("capacitacion-laboral",), "capacitacion-laboral"),
    ("practicas preprofesionales", ("modalidades-formativas",), "modalidades-formativas"),
    ("feria de empleo", ("ferias-de-empleo",), "ferias-de-empleo"),
    ("REMYPE", ("remype",), "remype"),
    ("accidente de trabajo", ("registro-accidentes-trabajo-sat",), None),
    ("sunafil", ("inspeccion-sunafil",), "inspeccion-sunafil"),
    ("quiero denunciar a mi empleador", ("inspeccion-sunafil",), None),
    ("inspeccion", ("inspeccion-sunafil",), "inspeccion-sunafil"),
    ("discapacidad", ("intermediacion-personas-discapacidad",), None),
    ("Labour law advice", ("consultas-laborales",), "consultas-laborales"),
    ("job fairs", ("ferias-de-empleo",), "ferias-de-empleo"),
]


@pytest.mark.parametrize(
    ("text", "must", "first"), SEARCH_ROWS, ids=[repr(r[0]) for r in SEARCH_ROWS]
)
def test_search_services(text: str, must: tuple[str, ...], first: str | None) -> None:
    found = search_services(text, SERVICES)
    assert set(must) <= set(found), found
    assert len(found) <= 5 and len(set(found)) == len(found)
    if first is not None:
        assert found[0] == first, found


NOTHING_ROWS = [
    "hola",
    "buenas tardes",
    "gracias",
    "xyz",
    "asdfgh",
    "tengo una duda",
    "sí",
    "no",
    "12345678",
    "",
    "👍",
    "ok",
    "cuando",
]


@pytest.mark.parametrize("text", NOTHING_ROWS)
def test_search_services_finds_nothing(text: str) -> None:
    assert search_services(text, SERVICES) == []


def test_search_services_exact_keywords_rank_first() -> None:
    # "despidieron" is a keyword of consultas-laborales; patrocinio only has "despido" (a stem).
    assert search_services("me despidieron", SERVICES)[0] == "consultas-laborales"


def test_search_services_without_near_spellings_reads_only_written_words() -> None:
    # «9 y media»: «media» is near «mediación»; a time is no service unless one is written.
    assert search_services("9 y media", SERVICES) == ["reuniones-extraproceso"]
    assert search_services("9 y media", SERVICES, fuzzy=False) == []
    assert (
        search_services("cts para el lunes", SERVICES, fuzzy=False)[0]
        == (search_services("cts", SERVICES)[0])
    )


def test_rank_services_marks_matches_by_words_other_names_share() -> None:
    shared = rank_services("problemas en mi trabajo", SERVICES)
    assert shared and all(m.shared for m in shared)  # «trabajo»: in several services' names
    assert "bolsa-de-trabajo" in {m.code for m in shared}
    own = rank_services("quiero conciliar", SERVICES)
    assert own[0].code == "conciliacion-administrativa" and not own[0].shared
    assert [m.code for m in shared] == search_services("problemas en mi trabajo", SERVICES)


def test_search_services_limit_and_codes() -> None:
    text = "despido cts sindicato curso chamba sunafil remype huelga teletrabajo"
    found = search_services(text, SERVICES)
    assert len(found) == 5 and set(found) <= CODES
    assert len(search_services(text, SERVICES, limit=2)) == 2
    assert search_services("despido", []) == []


def test_search_services_small_catalogue() -> None:
    services = [
        ServiceEntry("a", ("Conciliación",), ("conciliacion", "deuda")),
        ServiceEntry("b", ("Bolsa de trabajo", "Job placement"), ("empleo",)),
        ServiceEntry("c", ("Sin palabras clave",)),
    ]
    assert search_services("me deben una deuda", services) == ["a"]
    assert search_services("job placement", services) == ["b"]
    assert search_services("palabras clave", services) == ["c"]
    assert search_services("hola", services) == []


# --- normalise ----------------------------------------------------------------------------------

NORMALISE_ROWS: list[tuple[str, str]] = [
    ("Conciliación", "conciliacion"),
    ("  CONCILIACIÓN   Administrativa—laboral. ", "conciliacion administrativa laboral"),
    ("¡Sí! 👍🏽", "si"),
    ("¿Cómo estás?", "como estas"),
    ("Año", "ano"),
    ("Ñoño", "nono"),
    ("ÀÉÎÕÜ ç", "aeiou c"),
    ("P'unchaw", "punchaw"),
    ("p’unchaw", "punchaw"),
    ("Arí", "ari"),
    ("2.", "2"),
    ("opción #2", "opcion 2"),
    ("2º", "2o"),
    ("１２", "12"),
    ("no_se", "no se"),
    ("sí,gracias", "si gracias"),
    ("a\tb\nc", "a b c"),
    ("😀😀", ""),
    ("", ""),
    ("12.345.678", "12 345 678"),
    ("ALLINMI", "allinmi"),
    ("İ", "i"),
]


@pytest.mark.parametrize(("text", "expected"), NORMALISE_ROWS)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize("text", [r[0] for r in NORMALISE_ROWS])
def test_normalise_is_idempotent(text: str) -> None:
    assert normalise(normalise(text)) == normalise(text)
