"""Read the day and time a citizen types in free Spanish (or English) into a `DateReading`.

`read_date(text, now, lang)` folds the text (lower case, accents and "ñ" dropped, punctuation
blanked), then a normaliser takes out, in this order, what dateparser misreads or must never see:
greetings and fillers ("buenas tardes", "porfavor"), document numbers, "as soon as possible"
phrases, clock times, parts of the day and the relative day words. Calendar dates written with a
month name, numeric dates and "dentro de N días" are handed to dateparser as a clean span, always
with an explicit language (``languages=['es']`` or ``['en']``), never auto-detection, which is
far slower. Quechua ("qu") and any other language code are read with the Spanish rules.

Decisions on ambiguous phrases (``now`` is first converted to America/Lima; "today" is that date):

- A number of 7 to 12 digits, possibly split by spaces, dots or dashes (a DNI, a RUC, a phone
  number) is never a date. The one exception is a well-formed day-month-year with a 2- or 4-digit
  year ("22-03-2027", "22.03.27"), which is read as that date. Longer digit runs are dropped too.
  With dots, only a full day.month.year is a date: "9.30" and "15.03" are clock times.
- No day or time in the text: every field is None and ``asap`` is False.
- A time with no day keeps ``date`` None ("a las 6 de la tarde"): the caller knows whether a day
  was already agreed. ``assume_day_for_time=True`` instead gives it the next day on which that
  time is still ahead (today if it is later than now, else tomorrow); the shared fixture reads
  phrases that way.
- An hour with no am/pm marker and no part of the day ("a las 4") is read within office hours:
  1 to 6 mean the afternoon (13:00-18:00), 7 to 12 are kept. "de la tarde"/"de la noche"/"pm"
  add twelve hours; "12 de la noche" and "12 am" are 00:00; "mediodía" is 12:00.
- Minutes may be digits or words, up to fifty-nine ("las once y cuarenta y cinco" is 11:45);
  "y media", "y cuarto" and "menos cuarto" as usual.
- ``period`` is only set when there is no clock time; a part of the day next to a bare hour
  ("en la tarde a las 4") just fixes that hour (16:00). "antes/después del mediodía" are the
  morning/afternoon. With several times or parts of the day, the first mentioned is kept.
- "mañana" alone is tomorrow; "la mañana", "en/por/de la mañana" are the morning; "esta mañana",
  "esta tarde", "esta noche" are today plus that part of the day. "temprano", "a primera hora" and
  "madrugada" are the morning; "tarde(cita)" the afternoon; "noche(cita)" the evening.
- With an anchor (the day of the appointment being changed), "el mismo día"/"ese día" is that
  day and "un día después"/"al día siguiente"/"2 días antes" count from it; without one they
  are not read.
- A weekday ("el lunes", "jueves", "este jueves", "el próximo miércoles") is its next occurrence.
  When today is that weekday it means today only before noon (and only if the time asked, if
  any, is still ahead); from noon on, or with "próximo"/"que viene", it means next week's.
  "el lunes de la próxima semana" is that weekday in the next Monday-to-Sunday week.
- "la próxima semana" is next week's Monday; "esta semana" is today; "el fin de semana" is the
  coming Saturday (today on a Saturday or Sunday); "el próximo mes" is the 1st of next month.
- A day of the month alone ("el 18", "el día 25", "viernes 19", or just "18") is in this month if
  it is today or later, otherwise in the next month that has such a day (asked on 30 December,
  "el 2" is 2 January). When a weekday and a day number disagree, the day number wins.
- A date without a year ("20 de marzo", "22/3") is its next occurrence, today included. Numeric
  dates are day/month; when the second number cannot be a month (3/22) month/day is tried.
- A month alone ("en abril") is the 1st of that month, or today for the current month.
- When a phrase names several days, the most specific kind wins (calendar date, then "dentro de
  N días", then a day number, a weekday, a relative word such as "mañana", then "la próxima
  semana"/"fin de semana", then a month alone); within a kind, the first mentioned.
- "lo antes posible", "cuanto antes", "lo más pronto", "el primer turno que tengan",
  "cualquier día", "ahorita", "urgente"... set ``asap``. A day named beside it is kept ("mañana
  lo más temprano posible" is tomorrow, asap: the earliest slot of that day).
- Past days are returned as read ("ayer", "el lunes de esta semana" on a Friday): the caller says
  they are past. Negations ("no puedo el lunes") are not understood. Only the first 300
  characters are read.
- English follows the same rules with a smaller vocabulary (no number words past twelve, no
  typo variants).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dateparser

Period = Literal["morning", "afternoon", "evening"]
_HourKind = Literal["am", "pm", "night", "h24"]

try:
    _LIMA: dt.tzinfo = ZoneInfo("America/Lima")
except ZoneInfoNotFoundError:  # no tz database: Peru has kept UTC-5 without DST since 1994
    _LIMA = dt.timezone(dt.timedelta(hours=-5), "America/Lima")

_MAX_CHARS: Final = 300
# Before noon a citizen naming today's weekday may still mean today; after it, next week's.
_SAME_WEEKDAY_CUTOFF: Final = dt.time(12, 0)


@dataclass(frozen=True, slots=True)
class DateReading:
    """What a phrase says about a day, a clock time, a part of the day and urgency."""

    date: dt.date | None = None
    time: dt.time | None = None
    period: Period | None = None
    asap: bool = False

    def to_json(self) -> dict[str, str | bool | None]:
        """Return the reading as the JSON object `psv parse-date` prints."""
        return {
            "date": self.date.isoformat() if self.date is not None else None,
            "time": self.time.strftime("%H:%M") if self.time is not None else None,
            "period": self.period,
            "asap": self.asap,
        }


def _alt(words: Mapping[str, object] | list[str]) -> str:
    """Return a regex alternation of the words, longest first so prefixes never shadow them."""
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


def _c(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass(frozen=True, slots=True)
class _Lexicon:
    """Compiled patterns of one language; every pattern works on folded text."""

    dateparser_lang: str
    fillers: re.Pattern[str]
    asap: re.Pattern[str]
    numbers: Mapping[str, int]
    numbers_re: re.Pattern[str]
    time_prefixed: re.Pattern[str]
    time_bare: re.Pattern[str]
    not_before_bare_time: re.Pattern[str]
    noon: re.Pattern[str]
    midnight: re.Pattern[str]
    suffix_kinds: tuple[tuple[re.Pattern[str], _HourKind], ...]
    periods: tuple[tuple[re.Pattern[str], Period, int | None], ...]
    relative_days: tuple[tuple[re.Pattern[str], int], ...]
    anchored: tuple[tuple[re.Pattern[str], int], ...]
    weekdays: Mapping[str, int]
    weekday_re: re.Pattern[str]
    months: Mapping[str, int]
    month_day: re.Pattern[str]
    day_month: re.Pattern[str]
    month_alone: re.Pattern[str]
    offset: re.Pattern[str]
    offset_units: Mapping[str, str]
    offset_word: str
    day_of_month: re.Pattern[str]
    next_week: re.Pattern[str]
    this_week: re.Pattern[str]
    weekend: re.Pattern[str]
    next_month: re.Pattern[str]


# Numeric dates are language-neutral: d/m, d-m, d/m/y, d-m-y, d.m.y and ISO y-m-d.
_NUMERIC_DATE = _c(
    r"(?<![\d/.:\-])(?P<d>\d{1,2})(?P<sep>[/.\-])(?P<m>\d{1,2})"
    r"(?:(?P=sep)(?P<y>\d{4}|\d{2}))?(?![\d/:\-]|\.\d)"
)
_ISO_DATE = _c(r"(?<![\d/.:\-])(?P<y>20\d{2})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?![\d/.:\-])")
_DOCUMENT_NUMBER = _c(r"(?<![\d/:])\d(?:[ .\-]?\d){6,}(?![\d/:])")
_ORDINAL = _c(r"\b(\d{1,2})(?:ro|er|o|°|st|nd|rd|th)\b|\b(\d{1,2})°")
_BARE_DAY = _c(r"\s*(?P<dn>\d{1,2})\s*")
_PUNCT = _c(r"[^\w/:.\-°]+")

# ---------------------------------------------------------------- Spanish
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
_ES_NUMBER_ALT = _alt(_ES_NUMBERS).replace("\\ ", r"\s+")  # "treinta y uno"
_ES_WD = _alt(_ES_WEEKDAYS)
_ES_MON = _alt(_ES_MONTHS)
_ES_PREP = r"(?:(?:en|por|de|a|durante|para)\s+)?"

_ES = _Lexicon(
    dateparser_lang="es",
    fillers=_c(
        r"\b(?:buen[oa]s?\s+(?:dias?|tardes?|noches?)|buen\s+dia|hola|gracias|muchas\s+gracias"
        r"|por\s*fa(?:vor|bor)?|porfis|x\s*fa(?:vor)?|pls|please|mas\s+tarde)\b"
    ),
    asap=_c(
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
    numbers_re=_c(rf"\b(?:{_ES_NUMBER_ALT})\b"),
    time_prefixed=_c(
        r"\b(?:a\s+)?las?\s+(?P<h>\d{1,2})(?!\d|\s*(?:dias?|semanas?|mes))"
        r"(?:\s*[:.h]\s*(?P<m>\d{2})(?:\s+minutos)?"
        r"|\s+y\s+(?:(?P<frac>media|cuarto)|(?P<m2>\d{1,2})(?:\s+minutos)?)"
        r"|\s+menos\s+(?:(?P<less>cuarto)|(?P<lessm>\d{1,2})))?"
        rf"(?:\s*{_ES_SUFFIX})?(?:\s+(?:hrs?|horas?|hs)\b)?"
    ),
    time_bare=_c(
        r"(?<![\d/:.\-])(?P<h>\d{1,2})(?!\d)(?:(?P<sep>[:h.])(?P<m>\d{2})|\s+y\s+(?P<frac>media|cuarto))?"
        rf"\s*{_ES_BARE_SUFFIX}?"
    ),
    not_before_bare_time=_c(r"\b(?:el|dia|del|al|en|de|dentro\s+de)\s*$"),
    noon=_c(r"\b(?:al\s+|a\s+)?(?:medio\s*dia|mediodia)\b"),
    midnight=_c(r"\b(?:a\s+)?(?:la\s+)?media\s*noche\b"),
    suffix_kinds=(
        (_c(r"tard|p\.?\s?m|mediodia|del\s+dia"), "pm"),
        (_c(r"noch"), "night"),
        (_c(r"manan|madrugada|a\.?\s?m"), "am"),
        (_c(r"^(?:hrs?|horas?|hs|h)$"), "h24"),
    ),
    periods=(
        (_c(r"\besta\s+(?:manana|mananita)\b"), "morning", 0),
        (_c(r"\bantes\s+del?\s+(?:medio\s*dia|almuerzo)\b"), "morning", None),
        (_c(r"\bdespues\s+del?\s+(?:medio\s*dia|almuerzo)\b"), "afternoon", None),
        (_c(r"\besta\s+tard(?:e|ecita)\b"), "afternoon", 0),
        (_c(r"\besta\s+noch(?:e|ecita)\b"), "evening", 0),
        (_c(rf"\b{_ES_PREP}las?\s+(?:mananas?|mananitas?)\b"), "morning", None),
        (
            _c(r"\b(?:a\s+)?primera\s+hora\b|\btemprano\b|\bmananitas?\b|\bmadrugada\b"),
            "morning",
            None,
        ),
        (
            _c(rf"\b{_ES_PREP}las?\s+tard(?:es?|ecitas?)\b|\btard(?:es?|ecitas?)\b"),
            "afternoon",
            None,
        ),
        (_c(rf"\b{_ES_PREP}las?\s+noch(?:es?|ecitas?)\b|\bnoch(?:es?|ecitas?)\b"), "evening", None),
    ),
    relative_days=(
        (_c(r"\bpasad?o\s*ma(?:n|ni|ny|nn)?ana\b"), 2),
        (_c(r"\bma(?:n|ni|ny|nn)?ana\b"), 1),
        (_c(r"\bhoy(?:\s+(?:dia|mismo))?\b|\bel\s+dia\s+de\s+hoy\b"), 0),
        (_c(r"\b(?:anteayer|antier|antes\s+de\s+ayer)\b"), -2),
        (_c(r"\bayer\b"), -1),
    ),
    anchored=(
        (_c(r"\b(?:(?P<n>\d{1,2})\s+dias?\s+(?:despues|mas\s+tarde))\b"), 1),
        (_c(r"\b(?:al|el)\s+dia\s+(?:siguiente|despues)\b"), 1),
        (_c(r"\b(?:(?P<n>\d{1,2})\s+dias?\s+antes)\b"), -1),
        (_c(r"\bel\s+dia\s+(?:anterior|antes)\b"), -1),
        # Last: "el día siguiente" is no "mismo día".
        (_c(r"\b(?:(?:ese|el)\s+mismo\s+dia|ese\s+dia|mismo\s+dia)\b"), 0),
    ),
    weekdays=_ES_WEEKDAYS,
    weekday_re=_c(
        r"(?:\b(?:el|los|este|esta|ese|para\s+el)\s+)?(?:\b(?P<nxt>proximo|siguiente)\s+)?"
        rf"\b(?P<wd>{_ES_WD})s?\b(?:\s+(?:"
        r"(?P<nextweek>de\s+(?:la\s+)?(?:proxima|siguiente|otra)\s+semana"
        r"|de\s+la\s+semana\s+(?:que\s+viene|siguiente|proxima|entrante))"
        r"|(?P<nxt2>proximo|que\s+viene|entrante)|(?P<thisweek>de\s+esta\s+semana)))?"
        r"(?:\s+(?:el\s+|dia\s+)?(?P<dn>\d{1,2})\b(?![:/.\-]\d))?"
    ),
    months=_ES_MONTHS,
    day_month=_c(
        rf"\b(?P<d>\d{{1,2}})\s*(?:de\s+|del\s+)?(?P<mon>{_ES_MON})\b\.?"
        r"(?:\s*(?:de\s+|del\s+)?(?P<y>20\d{2})\b)?"
    ),
    month_day=_c(
        rf"\b(?P<mon>{_ES_MON})\b\.?\s*(?P<d>\d{{1,2}})\b(?![:/.\-]\d)"
        r"(?:\s*(?:de\s+|del\s+)?(?P<y>20\d{2})\b)?"
    ),
    month_alone=_c(rf"\b(?P<mon>{_alt(_ES_FULL_MONTHS)})\b"),
    offset=_c(
        r"\b(?:dentro\s+de|en|de\s+aqui\s+a)\s+(?P<n>\d{1,2})\s+"
        r"(?P<u>dias?|semanas?|mes(?:es)?)\b(?:\s+mas)?"
    ),
    offset_units={"d": "dias", "s": "semanas", "m": "meses"},
    offset_word="en",
    day_of_month=_c(
        r"\b(?:(?:el|para\s+el)\s+(?:dia\s+)?|dia\s+)(?P<dn>\d{1,2})\b(?![:/.\-]\d)"
        r"(?:\s+(?:de\s+este\s+mes|(?P<nm>del\s+(?:proximo|siguiente)\s+mes"
        r"|del\s+mes\s+(?:que\s+viene|siguiente|entrante))))?"
    ),
    next_week=_c(
        r"\b(?:la\s+)?(?:(?:proxima|siguiente|otra)\s+semana"
        r"|semana\s+(?:que\s+viene|siguiente|proxima|entrante))\b"
    ),
    this_week=_c(r"\besta\s+semana\b"),
    weekend=_c(r"\b(?:el\s+)?(?:fin\s+de\s+semana|finde)\b"),
    next_month=_c(
        r"\b(?:el\s+)?(?:(?:proximo|siguiente)\s+mes|mes\s+(?:que\s+viene|siguiente|entrante))\b"
    ),
)

# ---------------------------------------------------------------- English (lighter)
_EN_NUMBERS: Final[dict[str, int]] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a": 1, "an": 1,
}  # fmt: skip
_EN_WEEKDAYS: Final[dict[str, int]] = {
    "monday": 0, "mon": 0, "tuesday": 1, "tues": 1, "tue": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thurs": 3, "thur": 3, "thu": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
_EN_MONTHS: Final[dict[str, int]] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
_EN_SUFFIX = (
    r"(?P<suf>[ap]\.?\s?m\b\.?|in\s+the\s+(?:morning|afternoon|evening)|at\s+night"
    r"|(?:hrs?|hours|h)\b)"
)
_EN_NUMBER_ALT = _alt([w for w in _EN_NUMBERS if len(w) > 2])
_EN_WD = _alt(_EN_WEEKDAYS)
_EN_MON = _alt(_EN_MONTHS)

_EN = _Lexicon(
    dateparser_lang="en",
    fillers=_c(
        r"\b(?:good\s+(?:morning|afternoon|evening|night)|hello|hi|thanks|thank\s+you|please"
        r"|pls|later)\b"
    ),
    asap=_c(
        r"\b(?:asap|as\s+soon\s+as\s+(?:possible|you\s+can)|(?:the\s+)?earliest"
        r"(?:\s+(?:possible|available|slot|date|time|appointment))?"
        r"|(?:the\s+)?first\s+(?:available|free|slot|appointment|date|opening)"
        r"(?:\s+(?:slot|appointment|date|one))?|any\s+(?:day|time|date)|whenever"
        r"|right\s+(?:away|now)|immediately|urgent(?:ly)?)\b"
    ),
    numbers=_EN_NUMBERS,
    numbers_re=_c(rf"\b(?:{_EN_NUMBER_ALT})\b|\ban?(?=\s+(?:day|week|month)s?\b)"),
    time_prefixed=_c(
        r"\b(?:at|by|around|about)\s+(?P<h>\d{1,2})(?!\d)(?:\s*[:.]\s*(?P<m>\d{2}))?"
        rf"(?:\s*(?:o\s*clock))?(?:\s*{_EN_SUFFIX})?"
    ),
    time_bare=_c(
        r"(?<![\d/:.\-])(?P<h>\d{1,2})(?!\d)(?:(?P<sep>:)(?P<m>\d{2}))?"
        r"\s*(?P<suf>[ap]\.?\s?m\b\.?)?"
    ),
    not_before_bare_time=_c(rf"\b(?:the|on|in|{_EN_MON})\s*$"),
    noon=_c(r"\b(?:at\s+)?(?:noon|midday)\b"),
    midnight=_c(r"\b(?:at\s+)?midnight\b"),
    suffix_kinds=(
        (_c(r"p\.?\s?m|afternoon|evening"), "pm"),
        (_c(r"night"), "night"),
        (_c(r"a\.?\s?m|morning"), "am"),
        (_c(r"^(?:hrs?|hours|h)$"), "h24"),
    ),
    periods=(
        (_c(r"\b(?:this\s+morning)\b"), "morning", 0),
        (_c(r"\bbefore\s+(?:noon|lunch)\b"), "morning", None),
        (_c(r"\bafter\s+(?:noon|lunch)\b|\bafternoon\b"), "afternoon", None),
        (_c(r"\b(?:this\s+afternoon)\b"), "afternoon", 0),
        (_c(r"\b(?:this\s+evening|tonight)\b"), "evening", 0),
        (_c(r"\b(?:in\s+the\s+)?(?:morning|early)\b"), "morning", None),
        (_c(r"\b(?:in\s+the\s+)?afternoon\b"), "afternoon", None),
        (_c(r"\b(?:in\s+the\s+)?evening\b|\bat\s+night\b|\bnight\b"), "evening", None),
    ),
    relative_days=(
        (_c(r"\b(?:the\s+)?day\s+after\s+tomorrow\b"), 2),
        (_c(r"\b(?:tomorrow|tmrw|tmr|tomorow|tommorow)\b"), 1),
        (_c(r"\btoday\b"), 0),
        (_c(r"\byesterday\b"), -1),
    ),
    anchored=(
        (_c(r"\b(?P<n>\d{1,2})\s+days?\s+after\b|\bthe\s+day\s+after\b"), 1),
        (_c(r"\b(?P<n>\d{1,2})\s+days?\s+(?:earlier|before)\b|\bthe\s+day\s+before\b"), -1),
        (_c(r"\b(?:the\s+same\s+day|that\s+(?:same\s+)?day)\b"), 0),
    ),
    weekdays=_EN_WEEKDAYS,
    weekday_re=_c(
        r"(?:\b(?:on|this|the|for)\s+)?(?:\b(?P<nxt>next|coming)\s+)?"
        rf"\b(?P<wd>{_EN_WD})s?\b(?:\s+(?:(?P<nextweek>(?:of\s+)?next\s+week)))?"
        r"(?:\s+(?:the\s+)?(?P<dn>\d{1,2})\b(?![:/.\-]\d))?"
    ),
    months=_EN_MONTHS,
    day_month=_c(
        rf"\b(?P<d>\d{{1,2}})\s*(?:of\s+)?(?P<mon>{_EN_MON})\b\.?(?:\s*(?P<y>20\d{{2}})\b)?"
    ),
    month_day=_c(
        rf"\b(?P<mon>{_EN_MON})\b\.?\s*(?:the\s+)?(?P<d>\d{{1,2}})\b(?![:/.\-]\d)"
        r"(?:\s*(?P<y>20\d{2})\b)?"
    ),
    month_alone=_c(rf"\b(?P<mon>{_alt([w for w in _EN_MONTHS if len(w) > 3])})\b"),
    offset=_c(r"\bin\s+(?P<n>\d{1,2})\s+(?P<u>days?|weeks?|months?)\b"),
    offset_units={"d": "days", "w": "weeks", "m": "months"},
    offset_word="in",
    day_of_month=_c(
        r"\b(?:on\s+)?the\s+(?P<dn>\d{1,2})\b(?![:/.\-]\d)(?P<nm>\s+of\s+next\s+month)?"
    ),
    next_week=_c(r"\bnext\s+week\b"),
    this_week=_c(r"\bthis\s+week\b"),
    weekend=_c(r"\b(?:the\s+|this\s+)?weekend\b"),
    next_month=_c(r"\bnext\s+month\b"),
)


def _fold(text: str) -> str:
    """Lower-case, drop accents ("ñ" becomes "n"), blank punctuation but date and time marks."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " " + " ".join(_PUNCT.sub(" ", bare).split()) + " "


def _same_length(m: re.Match[str], replacement: str = "") -> str:
    # Every rewrite keeps the text's length, so match positions stay comparable across steps
    # and "the first mentioned" can be told apart.
    return replacement.ljust(len(m.group(0)))


def _cut(
    pattern: re.Pattern[str], s: str, use: Callable[[re.Match[str]], bool] = lambda _: True
) -> str:
    """Blank every match that `use` accepts; rejected matches stay in the text."""
    return pattern.sub(lambda m: _same_length(m) if use(m) else m.group(0), s)


@lru_cache(maxsize=4096)
def _dateparser_date(phrase: str, lang: str, base: dt.date) -> dt.date | None:
    """Parse a clean date span with dateparser in one explicit language; None if it cannot."""
    parsed = dateparser.parse(
        phrase,
        languages=[lang],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": dt.datetime.combine(base, dt.time()),
            "RETURN_AS_TIMEZONE_AWARE": False,
            "DATE_ORDER": "DMY",
            "PARSERS": ["relative-time", "absolute-time"],
        },
    )
    return parsed.date() if isinstance(parsed, dt.datetime) else None


def _absolute_date(phrase: str, lang: str, today: dt.date, has_year: bool) -> dt.date | None:
    # dateparser's "future" excludes the relative base itself (at 00:00, "15 de marzo" asked on
    # 15 March comes back as next year), so the base is yesterday for calendar dates.
    found = _dateparser_date(phrase, lang, today - dt.timedelta(days=1))
    if found is not None and not has_year and found < today:
        try:
            found = found.replace(year=found.year + 1)
        except ValueError:
            return None
    return found


def _add_months(day: dt.date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _day_of_month(today: dt.date, day: int, months_ahead: int = 0) -> dt.date | None:
    """Return the next date with that day number (this month if not past yet)."""
    if not 1 <= day <= 31:
        return None
    ahead = months_ahead if months_ahead else (1 if day < today.day else 0)
    for extra in range(13):
        year, month = _add_months(today, ahead + extra)
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    return None


def _weekday_date(
    today: dt.date, now_time: dt.time, weekday: int, mode: str, wanted: dt.time | None
) -> dt.date:
    if mode == "next_week":
        return today + dt.timedelta(days=7 - today.weekday() + weekday)
    if mode == "this_week":
        return today + dt.timedelta(days=weekday - today.weekday())
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0:
        still_today = now_time < _SAME_WEEKDAY_CUTOFF and (wanted is None or wanted > now_time)
        if mode == "next" or not still_today:
            ahead = 7
    return today + dt.timedelta(days=ahead)


def _hour24(hour: int, kind: _HourKind | None, period: Period | None) -> int:
    if kind is None and period is not None:
        kind = "am" if period == "morning" else "pm"
    if kind == "pm":
        return hour + 12 if 1 <= hour < 12 else hour
    if kind == "night":
        return 0 if hour == 12 else (hour + 12 if hour < 12 else hour)
    if kind == "am":
        return 0 if hour == 12 else hour
    if kind == "h24":
        return hour
    return hour + 12 if 1 <= hour <= 6 else hour  # office hours: "a las 4" is 16:00


@dataclass(slots=True)
class _Clock:
    hour: int
    minute: int
    kind: _HourKind | None


def _clock_from(m: re.Match[str], lex: _Lexicon) -> _Clock | None:
    """Turn a time match into hour/minute/marker, or None if it is not a valid clock time."""
    g = m.groupdict()
    hour, minute = int(g["h"]), 0
    if g.get("m"):
        minute = int(g["m"])
    elif g.get("m2"):
        minute = int(g["m2"])
    elif g.get("frac"):
        minute = 30 if g["frac"] in ("media", "half") else 15
    elif g.get("less") or g.get("lessm"):
        minute = 60 - (15 if g.get("less") else int(g["lessm"]))
        hour -= 1
    kind: _HourKind | None = None
    if g.get("suf"):
        suffix = re.sub(r"\s+", " ", g["suf"].strip())
        for pattern, suffix_kind in lex.suffix_kinds:
            if pattern.search(suffix):
                kind = suffix_kind
                break
    if not (0 <= hour <= 24 and 0 <= minute <= 59) or (kind in ("pm", "am") and hour > 12):
        if kind == "pm" and 12 < hour <= 23:  # "15 de la tarde": already 24-hour
            return _Clock(hour, minute, "h24")
        return None
    return _Clock(hour % 24, minute, kind)


def _lexicon_for(lang: str) -> _Lexicon:
    return _EN if lang.casefold().split("-")[0].split("_")[0] == "en" else _ES


def read_date(
    text: str,
    now: dt.datetime,
    lang: str = "es",
    *,
    assume_day_for_time: bool = False,
    anchor: dt.date | None = None,
) -> DateReading:
    """Read the day, time, part of the day and urgency in a free-text phrase, relative to `now`.

    `anchor` is the day being changed, if any: «el mismo día», «un día después» count from it.
    """
    lex = _lexicon_for(lang)
    local = now.astimezone(_LIMA) if now.tzinfo is not None else now
    today, now_time = local.date(), local.time()
    s = _cut(lex.fillers, _fold(text[:_MAX_CHARS]))
    # (rank, position, date): the lowest rank (most specific kind) wins, then the first mentioned
    candidates: list[tuple[int, int, dt.date]] = []

    # Numeric dates first: a well-formed d-m-y must survive the document-number filter below.
    def numeric(m: re.Match[str]) -> bool:
        day, month, year = int(m["d"]), int(m["m"]), m["y"]
        if m.groupdict().get("sep") == "." and year is None:
            return False  # "9.45" is a time, not 9 of a 45th month
        if month > 12 and day <= 12:
            day, month = month, day
        if not (1 <= day <= 31 and 1 <= month <= 12):
            return False
        phrase = f"{day}/{month}" + (f"/{year}" if year else "")
        found = _absolute_date(phrase, lex.dateparser_lang, today, year is not None)
        if found is not None:
            candidates.append((0, m.start(), found))
        return True

    s = _cut(_ISO_DATE, s, numeric)
    s = _cut(_NUMERIC_DATE, s, numeric)
    s = _cut(_DOCUMENT_NUMBER, s)
    s = _ORDINAL.sub(lambda m: _same_length(m, m.group(1) or m.group(2)), s)
    asap = lex.asap.search(s) is not None  # before "el primero disponible" becomes "el 1"
    s = _cut(lex.asap, s)
    numbers = lex.numbers
    s = lex.numbers_re.sub(lambda m: _same_length(m, str(numbers[" ".join(m.group(0).split())])), s)

    # Clock times, before parts of the day ("de la mañana") and day words ("mañana").
    clocks: list[tuple[int, _Clock]] = []

    def clock(m: re.Match[str], bare: bool = False) -> bool:
        g = m.groupdict()
        if bare:
            if not (g.get("sep") or g.get("frac") or g.get("suf")):
                return False
            if lex.not_before_bare_time.search(s, 0, m.start()):
                return False
        found = _clock_from(m, lex)
        if found is None:
            return False
        clocks.append((m.start(), found))
        return True

    s = _cut(lex.time_prefixed, s, clock)
    s = _cut(lex.time_bare, s, lambda m: clock(m, bare=True))
    if found_midnight := lex.midnight.search(s):  # before parts of the day: no "noche" here
        clocks.append((found_midnight.start(), _Clock(0, 0, "h24")))
        s = _cut(lex.midnight, s)

    parts: list[tuple[int, Period]] = []
    for pattern, part, day_offset in lex.periods:
        for m in pattern.finditer(s):
            parts.append((m.start(), part))
            if day_offset is not None:
                candidates.append((4, m.start(), today + dt.timedelta(days=day_offset)))
        s = _cut(pattern, s)
    period = min(parts)[1] if parts else None
    if found_noon := lex.noon.search(s):  # after parts of the day: "después del mediodía"
        clocks.append((found_noon.start(), _Clock(12, 0, "h24")))
        s = _cut(lex.noon, s)

    wanted: dt.time | None = None
    if clocks:
        first = min(clocks, key=lambda c: c[0])[1]
        wanted = dt.time(_hour24(first.hour, first.kind, period) % 24, first.minute)

    # Calendar dates with a month name go to dateparser as a clean span.
    def month_date(m: re.Match[str]) -> bool:
        has_year = m["y"] is not None
        phrase = f"{int(m['d'])} {m['mon']}" + (f" {m['y']}" if has_year else "")
        found = _absolute_date(phrase, lex.dateparser_lang, today, has_year)
        if found is not None:
            candidates.append((0, m.start(), found))
        return True

    s = _cut(lex.day_month, s, month_date)
    s = _cut(lex.month_day, s, month_date)

    def anchored(sign: int) -> Callable[[re.Match[str]], bool]:
        def use(m: re.Match[str]) -> bool:
            assert anchor is not None
            days = int(m.groupdict().get("n") or 1) if sign else 0
            candidates.append((1, m.start(), anchor + dt.timedelta(days=sign * days)))
            return True

        return use

    if anchor is not None:
        for pattern, sign in lex.anchored:
            s = _cut(pattern, s, anchored(sign))

    def offset(m: re.Match[str]) -> bool:
        unit = lex.offset_units[m["u"][0]]
        phrase = f"{lex.offset_word} {int(m['n'])} {unit}"
        found = _dateparser_date(phrase, lex.dateparser_lang, today)
        if found is not None:
            candidates.append((1, m.start(), found))
        return True

    s = _cut(lex.offset, s, offset)

    def weekday(m: re.Match[str]) -> bool:
        if m["dn"] is not None:
            found = _day_of_month(today, int(m["dn"]))
            if found is not None:
                candidates.append((2, m.start(), found))
                return True
        g = m.groupdict()
        if g.get("nextweek"):
            mode = "next_week"
        elif g.get("thisweek"):
            mode = "this_week"
        elif g.get("nxt") or g.get("nxt2"):
            mode = "next"
        else:
            mode = "coming"
        wd = lex.weekdays[m["wd"]]
        candidates.append((3, m.start(), _weekday_date(today, now_time, wd, mode, wanted)))
        return True

    def day_number(m: re.Match[str]) -> bool:
        found = _day_of_month(today, int(m["dn"]), 1 if m.groupdict().get("nm") else 0)
        if found is not None:
            candidates.append((2, m.start(), found))
        return True

    s = _cut(lex.day_of_month, s, day_number)
    s = _cut(lex.weekday_re, s, weekday)
    for pattern, days in lex.relative_days:
        for m in pattern.finditer(s):
            candidates.append((4, m.start(), today + dt.timedelta(days=days)))
        s = _cut(pattern, s)
    if hit := lex.next_week.search(s):
        candidates.append((5, hit.start(), today + dt.timedelta(days=7 - today.weekday())))
    if hit := lex.this_week.search(s):
        candidates.append((5, hit.start(), today))
    if hit := lex.weekend.search(s):
        saturday = today + dt.timedelta(days=max(0, 5 - today.weekday()))
        candidates.append((5, hit.start(), saturday))
    if hit := lex.next_month.search(s):
        year, month = _add_months(today, 1)
        candidates.append((5, hit.start(), dt.date(year, month, 1)))
    if hit := lex.month_alone.search(s):
        month = lex.months[hit["mon"]]
        if month == today.month:
            candidates.append((6, hit.start(), today))
        else:
            year = today.year + (1 if month < today.month else 0)
            candidates.append((6, hit.start(), dt.date(year, month, 1)))
    if not candidates and (hit := _BARE_DAY.fullmatch(s)):
        found = _day_of_month(today, int(hit["dn"]))
        if found is not None:
            candidates.append((7, hit.start(), found))

    day = min(candidates)[2] if candidates else None
    if day is None and wanted is not None and assume_day_for_time:
        day = today if wanted > now_time else today + dt.timedelta(days=1)
    return DateReading(
        date=day, time=wanted, period=None if wanted is not None else period, asap=asap
    )
