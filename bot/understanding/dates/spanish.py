"""The Spanish date lexicon (Peru): numbers in words, weekdays and months with typos, fillers."""

from __future__ import annotations

from typing import Final

from bot.understanding.dates.lexicon import Lexicon, alt, c

_ES_NUMBERS: Final[dict[str, int]] = {
    "un": 1, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13,
    "catorce": 14, "quince": 15, "dieciseis": 16, "diecisiete": 17, "dieciocho": 18,
    "diecinueve": 19, "veinte": 20, "veintiun": 21, "veintiuno": 21, "veintiuna": 21,
    "veintidos": 22, "veintitres": 23, "veinticuatro": 24, "veinticinco": 25, "veintiseis": 26,
    "veintisiete": 27, "veintiocho": 28, "veintinueve": 29, "treinta": 30,
    "treinta y uno": 31, "treinta y un": 31, "primero": 1,
}  # fmt: skip
# Minutes in words: "las once y cuarenta y cinco" is 11:45.
_ES_UNITS: Final = ("uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve")
_ES_TENS: Final = {"treinta": 30, "cuarenta": 40, "cincuenta": 50}
_ES_NUMBERS.update(
    {
        **_ES_TENS,
        **{
            f"{tens} y {unit}": value + index
            for tens, value in _ES_TENS.items()
            for index, unit in enumerate(_ES_UNITS, 1)
        },
        "treinta y uno": 31,  # kept as written above: also a day
    }
)
_ES_WEEKDAYS: Final[dict[str, int]] = {
    "lunes": 0, "lune": 0, "lun": 0,
    "martes": 1, "marte": 1,
    "miercoles": 2, "miercole": 2, "mircoles": 2, "mierkoles": 2, "miercols": 2, "mierc": 2,
    "mie": 2,
    "jueves": 3, "juebes": 3, "jueve": 3, "jeves": 3, "jue": 3,
    "viernes": 4, "biernes": 4, "vierne": 4, "viern": 4, "vie": 4,
    "sabado": 5, "savado": 5, "sabdo": 5, "sab": 5,
    "domingo": 6, "domigo": 6, "dom": 6,
}  # fmt: skip
_ES_MONTHS: Final[dict[str, int]] = {
    "enero": 1, "ene": 1, "febrero": 2, "feb": 2, "marzo": 3, "mar": 3, "abril": 4, "abr": 4,
    "mayo": 5, "may": 5, "junio": 6, "jun": 6, "julio": 7, "jul": 7, "agosto": 8, "ago": 8,
    "septiembre": 9, "setiembre": 9, "sept": 9, "sep": 9, "set": 9, "octubre": 10, "oct": 10,
    "noviembre": 11, "nov": 11, "diciembre": 12, "dic": 12,
}  # fmt: skip
_ES_FULL_MONTHS: Final = [w for w in _ES_MONTHS if len(w) > 4 or w == "mayo"]
_ES_PARTS = r"(?:mananas?|mananitas?|tard(?:es?|ecitas?)|noch(?:es?|ecitas?)|madrugada)"
_ES_SUFFIX = (
    rf"(?P<suf>(?:de|en|por|a)\s+la\s+{_ES_PARTS}|del\s+(?:mediodia|dia)"
    r"|[ap]\.?\s?m\b\.?|(?:hrs?|horas?|hs|h)\b)"
)
_ES_BARE_SUFFIX = rf"(?P<suf>de\s+la\s+{_ES_PARTS}|[ap]\.?\s?m\b\.?|(?:hrs?|horas?|hs|h)\b)"
_ES_NUMBER_ALT = alt(_ES_NUMBERS).replace("\\ ", r"\s+")  # "treinta y uno"
_ES_WD = alt(_ES_WEEKDAYS)
_ES_MON = alt(_ES_MONTHS)
_ES_PREP = r"(?:(?:en|por|de|a|durante|para)\s+)?"

SPANISH: Final = Lexicon(
    dateparser_lang="es",
    fillers=c(
        r"\b(?:buen[oa]s?\s+(?:dias?|tardes?|noches?)|buen\s+dia|hola|gracias|muchas\s+gracias"
        r"|por\s*fa(?:vor|bor)?|porfis|x\s*fa(?:vor)?|pls|please|mas\s+tarde)\b"
    ),
    asap=c(
        r"\blo\s+(?:mas\s+)?(?:antes|pronto|prontito|rapido|temprano)"
        r"(?:\s+(?:posible|que\s+(?:se\s+)?(?:pueda|puedan|haya|tengan?)))?\b"
        r"|\bcuanto\s+(?:antes|mas\s+pronto)\b|\ba\s+la\s+brevedad(?:\s+posible)?\b"
        r"|\b(?:apenas|en\s+cuanto)\s+(?:se\s+)?(?:pueda|puedan|haya|tengan?)\b"
        r"|\b(?:(?:el|la|lo)\s+)?primer[oa]?\s+(?:turno|cita|fecha|horario|cupo|espacio|dia"
        r"|disponible|libre)\b(?:\s+(?:disponible|libre|que\s+(?:tengan?|haya|hay|se\s+pueda)))?"
        r"|\bel\s+primero\s+(?:disponible|libre|que\s+(?:tengan?|haya|hay))\b"
        r"|\b(?:el|la)\s+(?:mas\s+)?(?:proxim[oa]|cercan[oa])\s+"
        r"(?:disponible|posible|libre|que\s+(?:tengan?|haya|hay))\b"
        r"|\b(?:la\s+)?fecha\s+mas\s+(?:cercana|proxima|pronta)\b"
        r"|\bcualquier(?:a)?\s+(?:dia|fecha|momento|hora|horario)\b|\bcuando\s+(?:sea|haya)\b"
        r"|\b(?:ya\s+mismo|ahora\s+mismo|ahorita|de\s+inmediato|inmediatamente|urgente"
        r"|con\s+urgencia|asap)\b"
    ),
    numbers=_ES_NUMBERS,
    numbers_re=c(rf"\b(?:{_ES_NUMBER_ALT})\b"),
    time_prefixed=c(
        r"\b(?:a\s+)?las?\s+(?P<h>\d{1,2})(?!\d|\s*(?:dias?|semanas?|mes))"
        r"(?:\s*[:.h]\s*(?P<m>\d{2})(?:\s+minutos)?"
        r"|\s+y\s+(?:(?P<frac>media|cuarto)|(?P<m2>\d{1,2})(?:\s+minutos)?)"
        r"|\s+menos\s+(?:(?P<less>cuarto)|(?P<lessm>\d{1,2})))?"
        rf"(?:\s*{_ES_SUFFIX})?(?:\s+(?:hrs?|horas?|hs)\b)?"
    ),
    time_bare=c(
        r"(?<![\d/:.\-])(?P<h>\d{1,2})(?!\d)(?:(?P<sep>[:h.])(?P<m>\d{2})|\s+y\s+(?P<frac>media|cuarto))?"
        rf"\s*{_ES_BARE_SUFFIX}?"
    ),
    not_before_bare_time=c(r"\b(?:el|dia|del|al|en|de|dentro\s+de)\s*$"),
    noon=c(r"\b(?:al\s+|a\s+)?(?:medio\s*dia|mediodia)\b"),
    midnight=c(r"\b(?:a\s+)?(?:la\s+)?media\s*noche\b"),
    suffix_kinds=(
        (c(r"tard|p\.?\s?m|mediodia|del\s+dia"), "pm"),
        (c(r"noch"), "night"),
        (c(r"manan|madrugada|a\.?\s?m"), "am"),
        (c(r"^(?:hrs?|horas?|hs|h)$"), "h24"),
    ),
    periods=(
        (c(r"\besta\s+(?:manana|mananita)\b"), "morning", 0),
        (c(r"\bantes\s+del?\s+(?:medio\s*dia|almuerzo)\b"), "morning", None),
        (c(r"\bdespues\s+del?\s+(?:medio\s*dia|almuerzo)\b"), "afternoon", None),
        (c(r"\besta\s+tard(?:e|ecita)\b"), "afternoon", 0),
        (c(r"\besta\s+noch(?:e|ecita)\b"), "evening", 0),
        (c(rf"\b{_ES_PREP}las?\s+(?:mananas?|mananitas?)\b"), "morning", None),
        (
            c(r"\b(?:a\s+)?primera\s+hora\b|\btemprano\b|\bmananitas?\b|\bmadrugada\b"),
            "morning",
            None,
        ),
        (
            c(rf"\b{_ES_PREP}las?\s+tard(?:es?|ecitas?)\b|\btard(?:es?|ecitas?)\b"),
            "afternoon",
            None,
        ),
        (c(rf"\b{_ES_PREP}las?\s+noch(?:es?|ecitas?)\b|\bnoch(?:es?|ecitas?)\b"), "evening", None),
    ),
    relative_days=(
        (c(r"\bpasad?o\s*ma(?:n|ni|ny|nn)?ana\b"), 2),
        (c(r"\bma(?:n|ni|ny|nn)?ana\b"), 1),
        (c(r"\bhoy(?:\s+(?:dia|mismo))?\b|\bel\s+dia\s+de\s+hoy\b"), 0),
        # Quechua, which the bot reads with these rules: «paqarin» (CLDR qu, +1 day) and
        # «kunan p'unchaw» (today); QUECHUA.md lists both.
        (c(r"\bpaqarin(?:pi)?\b"), 1),
        (c(r"\bkunan\s+p\W?\s?unch(?:aw|ay)(?:pi)?\b|\bkunitan\b"), 0),
        (c(r"\b(?:anteayer|antier|antes\s+de\s+ayer)\b"), -2),
        (c(r"\bayer\b"), -1),
    ),
    anchored=(
        (c(r"\b(?:(?P<n>\d{1,2})\s+dias?\s+(?:despues|mas\s+tarde))\b"), 1),
        (c(r"\b(?:al|el)\s+dia\s+(?:siguiente|despues)\b"), 1),
        (c(r"\b(?:(?P<n>\d{1,2})\s+dias?\s+antes)\b"), -1),
        (c(r"\bel\s+dia\s+(?:anterior|antes)\b"), -1),
        # Last: "el día siguiente" is no "mismo día".
        (c(r"\b(?:(?:ese|el)\s+mismo\s+dia|ese\s+dia|mismo\s+dia)\b"), 0),
    ),
    weekdays=_ES_WEEKDAYS,
    weekday_re=c(
        r"(?:\b(?:el|los|este|esta|ese|para\s+el)\s+)?(?:\b(?P<nxt>proximo|siguiente)\s+)?"
        rf"\b(?P<wd>{_ES_WD})s?\b(?:\s+(?:"
        r"(?P<nextweek>de\s+(?:la\s+)?(?:proxima|siguiente|otra)\s+semana"
        r"|de\s+la\s+semana\s+(?:que\s+viene|siguiente|proxima|entrante))"
        r"|(?P<nxt2>proximo|que\s+viene|entrante)|(?P<thisweek>de\s+esta\s+semana)))?"
        r"(?:\s+(?:el\s+|dia\s+)?(?P<dn>\d{1,2})\b(?![:/.\-]\d))?"
    ),
    months=_ES_MONTHS,
    day_month=c(
        rf"\b(?P<d>\d{{1,2}})\s*(?:de\s+|del\s+)?(?P<mon>{_ES_MON})\b\.?"
        r"(?:\s*(?:de\s+|del\s+)?(?P<y>20\d{2})\b)?"
    ),
    month_day=c(
        rf"\b(?P<mon>{_ES_MON})\b\.?\s*(?P<d>\d{{1,2}})\b(?![:/.\-]\d)"
        r"(?:\s*(?:de\s+|del\s+)?(?P<y>20\d{2})\b)?"
    ),
    month_alone=c(rf"\b(?P<mon>{alt(_ES_FULL_MONTHS)})\b"),
    offset=c(
        r"\b(?:dentro\s+de|en|de\s+aqui\s+a)\s+(?P<n>\d{1,2})\s+"
        r"(?P<u>dias?|semanas?|mes(?:es)?)\b(?:\s+mas)?"
    ),
    offset_units={"d": "dias", "s": "semanas", "m": "meses"},
    offset_word="en",
    day_of_month=c(
        r"\b(?:(?:el|para\s+el)\s+(?:dia\s+)?|dia\s+)(?P<dn>\d{1,2})\b(?![:/.\-]\d)"
        r"(?:\s+(?:de\s+este\s+mes|(?P<nm>del\s+(?:proximo|siguiente)\s+mes"
        r"|del\s+mes\s+(?:que\s+viene|siguiente|entrante))))?"
    ),
    next_week=c(
        r"\b(?:la\s+)?(?:(?:proxima|siguiente|otra)\s+semana"
        r"|semana\s+(?:que\s+viene|siguiente|proxima|entrante))\b"
    ),
    this_week=c(r"\besta\s+semana\b"),
    weekend=c(r"\b(?:el\s+)?(?:fin\s+de\s+semana|finde)\b"),
    next_month=c(
        r"\b(?:el\s+)?(?:(?:proximo|siguiente)\s+mes|mes\s+(?:que\s+viene|siguiente|entrante))\b"
    ),
)
