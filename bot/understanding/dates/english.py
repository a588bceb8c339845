"""The English date lexicon: the Spanish rules with a smaller vocabulary (no typo variants)."""

from __future__ import annotations

from typing import Final

from bot.understanding.dates.lexicon import Lexicon, alt, c

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
_EN_NUMBER_ALT = alt([w for w in _EN_NUMBERS if len(w) > 2])
_EN_WD = alt(_EN_WEEKDAYS)
_EN_MON = alt(_EN_MONTHS)

ENGLISH: Final = Lexicon(
    dateparser_lang="en",
    fillers=c(
        r"\b(?:good\s+(?:morning|afternoon|evening|night)|hello|hi|thanks|thank\s+you|please"
        r"|pls|later)\b"
    ),
    asap=c(
        r"\b(?:asap|as\s+soon\s+as\s+(?:possible|you\s+can)|(?:the\s+)?earliest"
        r"(?:\s+(?:possible|available|slot|date|time|appointment))?"
        r"|(?:the\s+)?first\s+(?:available|free|slot|appointment|date|opening)"
        r"(?:\s+(?:slot|appointment|date|one))?|any\s+(?:day|time|date)|whenever"
        r"|right\s+(?:away|now)|immediately|urgent(?:ly)?)\b"
    ),
    numbers=_EN_NUMBERS,
    numbers_re=c(rf"\b(?:{_EN_NUMBER_ALT})\b|\ban?(?=\s+(?:day|week|month)s?\b)"),
    time_prefixed=c(
        r"\b(?:at|by|around|about)\s+(?P<h>\d{1,2})(?!\d)(?:\s*[:.]\s*(?P<m>\d{2}))?"
        rf"(?:\s*(?:o\s*clock))?(?:\s*{_EN_SUFFIX})?"
    ),
    time_bare=c(
        r"(?<![\d/:.\-])(?P<h>\d{1,2})(?!\d)(?:(?P<sep>:)(?P<m>\d{2}))?"
        r"\s*(?P<suf>[ap]\.?\s?m\b\.?)?"
    ),
    not_before_bare_time=c(rf"\b(?:the|on|in|{_EN_MON})\s*$"),
    noon=c(r"\b(?:at\s+)?(?:noon|midday)\b"),
    midnight=c(r"\b(?:at\s+)?midnight\b"),
    suffix_kinds=(
        (c(r"p\.?\s?m|afternoon|evening"), "pm"),
        (c(r"night"), "night"),
        (c(r"a\.?\s?m|morning"), "am"),
        (c(r"^(?:hrs?|hours|h)$"), "h24"),
    ),
    periods=(
        (c(r"\b(?:this\s+morning)\b"), "morning", 0),
        (c(r"\bbefore\s+(?:noon|lunch)\b"), "morning", None),
        (c(r"\bafter\s+(?:noon|lunch)\b|\bafternoon\b"), "afternoon", None),
        (c(r"\b(?:this\s+afternoon)\b"), "afternoon", 0),
        (c(r"\b(?:this\s+evening|tonight)\b"), "evening", 0),
        (c(r"\b(?:in\s+the\s+)?(?:morning|early)\b"), "morning", None),
        (c(r"\b(?:in\s+the\s+)?afternoon\b"), "afternoon", None),
        (c(r"\b(?:in\s+the\s+)?evening\b|\bat\s+night\b|\bnight\b"), "evening", None),
    ),
    relative_days=(
        (c(r"\b(?:the\s+)?day\s+after\s+tomorrow\b"), 2),
        (c(r"\b(?:tomorrow|tmrw|tmr|tomorow|tommorow)\b"), 1),
        (c(r"\btoday\b"), 0),
        (c(r"\byesterday\b"), -1),
    ),
    anchored=(
        (c(r"\b(?P<n>\d{1,2})\s+days?\s+after\b|\bthe\s+day\s+after\b"), 1),
        (c(r"\b(?P<n>\d{1,2})\s+days?\s+(?:earlier|before)\b|\bthe\s+day\s+before\b"), -1),
        (c(r"\b(?:the\s+same\s+day|that\s+(?:same\s+)?day)\b"), 0),
    ),
    weekdays=_EN_WEEKDAYS,
    weekday_re=c(
        r"(?:\b(?:on|this|the|for)\s+)?(?:\b(?P<nxt>next|coming)\s+)?"
        rf"\b(?P<wd>{_EN_WD})s?\b(?:\s+(?:(?P<nextweek>(?:of\s+)?next\s+week)))?"
        r"(?:\s+(?:the\s+)?(?P<dn>\d{1,2})\b(?![:/.\-]\d))?"
    ),
    months=_EN_MONTHS,
    day_month=c(
        rf"\b(?P<d>\d{{1,2}})\s*(?:of\s+)?(?P<mon>{_EN_MON})\b\.?(?:\s*(?P<y>20\d{{2}})\b)?"
    ),
    month_day=c(
        rf"\b(?P<mon>{_EN_MON})\b\.?\s*(?:the\s+)?(?P<d>\d{{1,2}})\b(?![:/.\-]\d)"
        r"(?:\s*(?P<y>20\d{2})\b)?"
    ),
    month_alone=c(rf"\b(?P<mon>{alt([w for w in _EN_MONTHS if len(w) > 3])})\b"),
    offset=c(r"\bin\s+(?P<n>\d{1,2})\s+(?P<u>days?|weeks?|months?)\b"),
    offset_units={"d": "days", "w": "weeks", "m": "months"},
    offset_word="in",
    day_of_month=c(
        r"\b(?:on\s+)?the\s+(?P<dn>\d{1,2})\b(?![:/.\-]\d)(?P<nm>\s+of\s+next\s+month)?"
    ),
    next_week=c(r"\bnext\s+week\b"),
    this_week=c(r"\bthis\s+week\b"),
    weekend=c(r"\b(?:the\s+|this\s+)?weekend\b"),
    next_month=c(r"\bnext\s+month\b"),
)
