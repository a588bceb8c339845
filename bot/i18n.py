"""Messages and formats in the citizen's language: gettext catalogues (`bot/locales/`) and Babel.

Message ids are stable keys (``misunderstood``, ``refusal.slot_taken``), never English sentences.
Spanish (``es``) is the source language and the fallback; English (``en``) and Southern Quechua
(``qu``) translate it. Every key exists in every language (a unit test proves it); a missing
translation still falls back to Spanish at run time. Placeholders are ``{name}``, filled from
keyword arguments by `t`; formatted dates, times and amounts come from `format_when` and friends.

Generic keys live here; flow-specific prompts live with their flows. Families:

- ``misunderstood``, ``misunderstood.offer_help`` (after three misunderstandings), ``hint.*``
  (``hint.service_words`` after a service search found nothing), ``choice.which_one``.
- ``nav.*``: answers to the words that work at any step. ``keyword.menu``, ``keyword.back``,
  ``keyword.help``, ``keyword.cancel``, ``keyword.language``, ``keyword.human`` are those words
  in each language, as ``nav.help`` and ``misunderstood.offer_help`` print them (Quechua keeps
  the Spanish words).
- ``option.*``, ``more_options``, ``options.none``: common buttons and empty lists.
- ``date.*`` (``date.asap`` labels "as soon as possible"), ``slot.*``,
  ``period.morning|afternoon|evening``: choosing a day and a time.
- ``document.invalid.<code>``, ``phone.invalid.<code>``: the subcodes of `core.documents`.
- ``refusal.<reason>``: the reason codes of `core.errors`, ``refusal.error`` for the base one;
  ``refusal.invalid_transition`` is also here.
- ``modality.<value>``, ``doc_type.<value>``: the values of `core.models.Modality` and
  `core.models.DocumentType`.
- ``event.confirmed|waitlisted|cancelled`` (a registration), ``handoff.recorded``,
  ``data.erased``, ``language.choose``, ``error.internal`` (an unexpected failure).

Added to the first agreed list: ``keyword.*``, ``refusal.invalid_transition``,
``hint.service_words``, ``choice.which_one`` and ``date.asap``.

Params are passed already formatted (``when=format_when(start_utc, lang)``). `format_when` can
end with a period ("10:00 a. m."), so catalogues never put one right after ``{when}``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from babel.localedata import exists as babel_locale_exists
from babel.messages.pofile import read_po
from babel.numbers import format_currency

DEFAULT_LANGUAGE: Final = "es"
LANGUAGES: Final = ("es", "en", "qu")
DOMAIN: Final = "psv"
DEFAULT_TIMEZONE: Final = "America/Lima"

_LANGUAGE_NAMES: Final[Mapping[str, str]] = {"es": "Español", "en": "English", "qu": "Runasimi"}
# Babel locales to try, in order, per language; any other language is formatted as Spanish.
_BABEL_LOCALES: Final[Mapping[str, tuple[str, ...]]] = {
    "es": ("es_PE",),
    "en": ("en",),
    "qu": ("qu_PE", "qu"),
}
# CLDR's full date without the year. Spanish also drops the comma after the weekday, as
# Peruvian writing does ("jueves 3 de diciembre").
_DAY_PATTERNS: Final[Mapping[str, str]] = {
    "es": "EEEE d 'de' MMMM",
    "en": "EEEE, MMMM d",
    "qu": "EEEE, d MMMM",
}
# CLDR English prints "PEN25.14"; in Peru the sol is written "S/ 25.14" in every language.
# Separators still come from the locale.
_SOLES_PATTERN: Final = "S/\u00a0#,##0.00"

_PLACEHOLDER: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _package_locales() -> Path:
    # Package data beside this module, so an installed wheel carries its translations.
    return Path(__file__).resolve().parent / "locales"


def placeholders(text: str) -> frozenset[str]:
    """Return the names of the `{name}` placeholders in a message."""
    return frozenset(_PLACEHOLDER.findall(text))


def substitute(text: str, params: Mapping[str, object]) -> str:
    """Replace each `{name}` with `str(params[name])`; unknown names stay as written."""

    # One regex pass over a flat dict: unlike str.format, no attribute or index lookups
    # ("{x.__class__}"), and text inserted from a param is never scanned again.
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(params[name]) if name in params else match.group(0)

    return _PLACEHOLDER.sub(replace, text)


class Catalogues:
    """The message catalogues of every language, keyed by msgid; `load()` reads them."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory is not None else _package_locales()
        self._messages: dict[str, dict[str, str]] | None = None

    def path(self, lang: str) -> Path:
        """Return the .po file of a language."""
        return self.directory / lang / "LC_MESSAGES" / f"{DOMAIN}.po"

    def load(self) -> Catalogues:
        """Read (or read again) the .po file of every language and return self."""
        messages: dict[str, dict[str, str]] = {}
        for lang in LANGUAGES:
            with self.path(lang).open("rb") as fileobj:
                catalog = read_po(fileobj, domain=DOMAIN, ignore_obsolete=True, abort_invalid=True)
            table: dict[str, str] = {}
            for message in catalog:
                if not isinstance(message.id, str) or not isinstance(message.string, str):
                    raise ValueError(f"{self.path(lang)}: plural messages are not supported")
                # As gettext does, a fuzzy or empty translation counts as missing.
                if message.id and message.string and not message.fuzzy:
                    table[message.id] = message.string
            messages[lang] = table
        self._messages = messages
        return self

    def _loaded(self) -> dict[str, dict[str, str]]:
        if self._messages is None:
            raise RuntimeError("Catalogues.load() has not been called")
        return self._messages

    def messages(self, lang: str) -> Mapping[str, str]:
        """Return the translated messages of one language, read-only (empty if unknown)."""
        return MappingProxyType(self._loaded().get(lang, {}))

    def keys(self) -> frozenset[str]:
        """Return every message id known in Spanish."""
        return frozenset(self._loaded()[DEFAULT_LANGUAGE])

    def __contains__(self, key: object) -> bool:
        """Tell whether `key` is a message id known in Spanish."""
        return key in self._loaded()[DEFAULT_LANGUAGE]

    def gaps(self) -> dict[str, list[str]]:
        """Return, per language, the ids some language has and this one lacks; {} when complete."""
        loaded = self._loaded()
        every = set().union(*loaded.values())
        found = {lang: sorted(every - set(table)) for lang, table in loaded.items()}
        return {lang: keys for lang, keys in found.items() if keys}

    def t(self, key: str, lang: str, /, **params: object) -> str:
        """Return message `key` in `lang` (Spanish if missing there) with `{name}`s filled in."""
        loaded = self._loaded()
        spanish = loaded[DEFAULT_LANGUAGE]
        if key not in spanish:
            raise KeyError(key)
        text = loaded.get(lang, {}).get(key, spanish[key])
        return substitute(text, params)


@functools.cache
def catalogues() -> Catalogues:
    """Return the repository's catalogues, read on first use."""
    return Catalogues().load()


def t(key: str, lang: str, /, **params: object) -> str:
    """Return message `key` in `lang` from the repository's catalogues, params filled in."""
    return catalogues().t(key, lang, **params)


def has_key(key: str) -> bool:
    """Tell whether the repository's catalogues have message `key`."""
    return key in catalogues()


def languages() -> tuple[str, ...]:
    """Return the supported language codes, Spanish first."""
    return LANGUAGES


def language_name(lang: str) -> str:
    """Return a supported language's name in that language, e.g. "Runasimi"."""
    return _LANGUAGE_NAMES[lang]


@functools.cache
def babel_locale(lang: str) -> Locale:
    """Return the Babel locale for a language: es_PE, en, qu_PE (or qu); es_PE for others."""
    for identifier in _BABEL_LOCALES.get(lang, _BABEL_LOCALES[DEFAULT_LANGUAGE]):
        if babel_locale_exists(identifier):
            return Locale.parse(identifier)
    return Locale.parse("es_PE")


def format_day(day: date, lang: str) -> str:
    """Format a day with its weekday and month, no year: "jueves 3 de diciembre"."""
    pattern = _DAY_PATTERNS.get(lang, _DAY_PATTERNS[DEFAULT_LANGUAGE])
    return babel_dates.format_date(day, pattern, locale=babel_locale(lang))


def format_time(value: time | datetime, lang: str, tz: str = DEFAULT_TIMEZONE) -> str:
    """Format a clock time: "10:00 a. m."; an aware datetime is first converted to `tz`."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(ZoneInfo(tz))
        value = value.time()
    return babel_dates.format_time(value, "short", locale=babel_locale(lang))


def format_when(moment: datetime, lang: str, tz: str = DEFAULT_TIMEZONE) -> str:
    """Format an aware datetime as local day and time: "jueves 3 de diciembre, 10:00 a. m."."""
    if moment.tzinfo is None:
        raise ValueError("format_when needs an aware datetime (UTC)")
    local = moment.astimezone(ZoneInfo(tz))
    locale = babel_locale(lang)
    # CLDR's pattern joining a date ({1}) and a time ({0}), as Babel's format_datetime does.
    pattern = str(babel_dates.get_datetime_format("medium", locale=locale)).replace("'", "")
    return pattern.replace("{0}", format_time(local.time(), lang)).replace(
        "{1}", format_day(local.date(), lang)
    )


def format_weekdays(weekdays: Iterable[int], lang: str) -> str:
    """Weekdays (Monday 0) in words: a run as "lunes a viernes", else a list."""
    days = sorted(set(weekdays))
    names = babel_dates.get_day_names("wide", locale=babel_locale(lang))
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return t("weekdays.range", lang, first=names[days[0]], last=names[days[-1]])
    return ", ".join(str(names[d]) for d in days)


def format_money(amount: Decimal | int | float, lang: str) -> str:
    """Format an amount of soles: "S/ 25.14"."""
    return format_currency(amount, "PEN", format=_SOLES_PATTERN, locale=babel_locale(lang))
