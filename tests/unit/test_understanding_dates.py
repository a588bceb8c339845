import datetime as dt
import warnings
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest

from bot.understanding.dates import NATIONAL_TIME_ZONE, DateRank, DateReading, read_date
from core.settings import Settings

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "dates_es.tsv"
LIMA = dt.timezone(dt.timedelta(hours=-5))
NOW = dt.datetime(2027, 3, 15, 16, 30, tzinfo=LIMA)  # the fixture's now: a Monday afternoon


class Row(NamedTuple):
    text: str
    expected: dict[str, str | bool | None]


def _load_rows() -> list[Row]:
    rows: list[Row] = []
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, day, clock, period = line.split("\t")
        expected = {
            "date": None if day in ("NONE", "ASAP") else day,
            "time": None if clock == "-" else clock,
            "period": None if period == "-" else period,
            "asap": day == "ASAP",
        }
        rows.append(Row(text, expected))
    return rows


ROWS = _load_rows()


def at(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso).replace(tzinfo=LIMA)


def reading(text: str, now: dt.datetime = NOW, lang: str = "es") -> dict[str, str | bool | None]:
    return read_date(text, now, lang).to_json()


# --------------------------------------------------------------------------- the date fixture


def test_fixture_has_all_rows() -> None:
    assert len(ROWS) == 47


@pytest.mark.parametrize("row", ROWS, ids=[r.text for r in ROWS])
def test_fixture_row_as_a_person_reads_it(row: Row) -> None:
    # The fixture gives a bare time the next day it is still ahead; that is the opt-in mode.
    assert read_date(row.text, NOW, assume_day_for_time=True).to_json() == row.expected


def test_fixture_default_reading_gets_at_least_45_right() -> None:
    misses = [(r.text, reading(r.text), r.expected) for r in ROWS if reading(r.text) != r.expected]
    for text, got, expected in misses:
        warnings.warn(f"dates_es.tsv miss: {text!r} read {got}, fixture {expected}", stacklevel=1)
    assert len(ROWS) - len(misses) >= 45, misses
    # The only known misses are the bare times, which keep date None by default.
    for text, got, expected in misses:
        assert got == {**expected, "date": None}, text


# --------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    "text",
    [
        "87654321",
        "45678912",
        "4567891",
        "876 543 21",
        "87.654.321",
        "8765-4321",
        "12-345-678",
        "20123456789",  # a RUC
        "987 654 321",  # a mobile number
        "mi dni es 45678912",
        "DNI: 40.123.456",
        "123456789012",
    ],
)
def test_document_numbers_are_never_dates(text: str) -> None:
    assert reading(text) == {"date": None, "time": None, "period": None, "asap": False}


def test_document_number_beside_a_day_leaves_the_day() -> None:
    assert reading("mi dni es 45678912, para el jueves")["date"] == "2027-03-18"
    assert reading("45678912 mañana")["date"] == "2027-03-16"


@pytest.mark.parametrize(
    "text", ["", "   ", "no lo sé", "buenas tardes", "hola", "sí", "ok gracias"]
)
def test_text_without_a_day_or_time_reads_nothing(text: str) -> None:
    assert read_date(text, NOW) == DateReading()
    assert reading(text) == {"date": None, "time": None, "period": None, "asap": False}


def test_bare_time_keeps_date_none_unless_asked() -> None:
    assert reading("a las 10") == {"date": None, "time": "10:00", "period": None, "asap": False}
    assert reading("a las 6 de la tarde")["date"] is None
    later = read_date("a las 6 de la tarde", NOW, assume_day_for_time=True)
    gone = read_date("a las 4 de la tarde", NOW, assume_day_for_time=True)
    assert later.date == dt.date(2027, 3, 15)
    assert gone.date == dt.date(2027, 3, 16)


@pytest.mark.parametrize(
    "text",
    [
        "lo antes posible",
        "Lo más pronto posible",
        "lo mas pronto",
        "cuanto antes",
        "el primer turno que tengan",
        "la primera cita disponible",
        "el primero disponible",
        "cualquier día",
        "a la brevedad",
        "ahorita",
        "urgente por favor",
    ],
)
def test_asap_phrases(text: str) -> None:
    assert reading(text) == {"date": None, "time": None, "period": None, "asap": True}


def test_asap_keeps_a_named_day() -> None:
    assert reading("mañana lo más temprano posible") == {
        "date": "2027-03-16",
        "time": None,
        "period": None,
        "asap": True,
    }


def test_first_hour_is_morning_not_asap() -> None:
    assert reading("mañana a primera hora") == {
        "date": "2027-03-16",
        "time": None,
        "period": "morning",
        "asap": False,
    }


@pytest.mark.parametrize(
    ("text", "date", "period"),
    [
        ("en la mañana", None, "morning"),
        ("por la mañana", None, "morning"),
        ("mañana temprano", "2027-03-16", "morning"),
        ("en la tarde", None, "afternoon"),
        ("por la tardecita", None, "afternoon"),
        ("mañana después del mediodía", "2027-03-16", "afternoon"),
        ("en la noche", None, "evening"),
        ("esta mañana", "2027-03-15", "morning"),
        ("esta tarde", "2027-03-15", "afternoon"),
        ("esta noche", "2027-03-15", "evening"),
        ("pasado manana en la manana", "2027-03-17", "morning"),
    ],
)
def test_parts_of_the_day(text: str, date: str | None, period: str) -> None:
    assert reading(text) == {"date": date, "time": None, "period": period, "asap": False}


@pytest.mark.parametrize(
    ("text", "time"),
    [
        ("a las 10", "10:00"),
        ("a las 4", "16:00"),  # office hours: no one books 4 in the morning
        ("a las 7", "07:00"),
        ("a la una", "13:00"),
        ("a las diez y media", "10:30"),
        ("a las 3 menos cuarto", "14:45"),
        ("a las 9 de la mañana", "09:00"),
        ("a las 8 de la noche", "20:00"),
        ("a las 12 de la noche", "00:00"),
        ("al mediodía", "12:00"),
        ("a las 15 horas", "15:00"),
        ("10am", "10:00"),
        ("3 pm", "15:00"),
        ("3 p. m.", "15:00"),
        ("9:45", "09:45"),
        ("en la tarde a las 4", "16:00"),  # the part of the day settles the hour
        ("a las 4 en la mañana", "04:00"),
        # minutes in words
        ("las once y cuarenta y cinco", "11:45"),  # was read 11:00
        ("a las diez y treinta y cinco", "10:35"),
        ("a las 9 y cincuenta", "09:50"),
        ("a las tres y veinte", "15:20"),
        ("a las 4 y diez", "16:10"),
    ],
)
def test_clock_times(text: str, time: str) -> None:
    got = reading(text)
    assert got["time"] == time
    assert got["period"] is None  # a clock time makes the part of the day redundant


def test_day_number_followed_by_part_of_day_is_not_a_time() -> None:
    assert reading("el 25 en la mañana") == {
        "date": "2027-03-25",
        "time": None,
        "period": "morning",
        "asap": False,
    }
    assert reading("el 5 de la tarde")["time"] is None


def test_impossible_times_are_dropped() -> None:
    assert reading("a las 27")["time"] is None
    assert reading("mañana a las 10:75")["time"] is None


# --------------------------------------------------------------------------- weekdays


def test_weekday_today_past_hours_rolls_to_next_week() -> None:
    monday_evening = at("2027-03-15T18:00:00")
    assert read_date("el lunes", monday_evening).date == dt.date(2027, 3, 22)
    assert read_date("lunes", NOW).date == dt.date(2027, 3, 22)  # 16:30


def test_weekday_today_early_is_today_unless_the_time_is_gone() -> None:
    monday_morning = at("2027-03-15T09:00:00")
    assert read_date("el lunes", monday_morning).date == dt.date(2027, 3, 15)
    assert read_date("el lunes a las 11", monday_morning).date == dt.date(2027, 3, 15)
    assert read_date("el lunes a las 8", monday_morning).date == dt.date(2027, 3, 22)
    assert read_date("el próximo lunes", monday_morning).date == dt.date(2027, 3, 22)


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("el martes", "2027-03-16"),
        ("domingo", "2027-03-21"),
        ("el sabado", "2027-03-20"),
        ("juebes", "2027-03-18"),
        ("el miércoles de la próxima semana", "2027-03-24"),
        ("el viernes de la semana que viene", "2027-03-26"),
        ("el lunes que viene", "2027-03-22"),
        ("la semana que viene", "2027-03-22"),
        ("el fin de semana", "2027-03-20"),
        ("el viernes 5 de la tarde", "2027-03-19"),
    ],
)
def test_weekdays(text: str, date: str) -> None:
    assert reading(text)["date"] == date


def test_weekday_with_day_number_trusts_the_number() -> None:
    assert reading("el viernes 20")["date"] == "2027-03-20"  # a Saturday: the number wins


# --------------------------------------------------------------------------- rollover


def test_year_end_rollover() -> None:
    dec_30 = at("2027-12-30T10:00:00")
    for text in ("el 2 de enero", "2 de enero", "el 2", "2/1", "el primero", "pasado mañana"):
        expected = dt.date(2028, 1, 1) if text in ("el primero", "pasado mañana") else None
        got = read_date(text, dec_30).date
        assert got == (expected or dt.date(2028, 1, 2)), text
    assert read_date("la próxima semana", dec_30).date == dt.date(2028, 1, 3)
    assert read_date("en abril", dec_30).date == dt.date(2028, 4, 1)
    assert read_date("dentro de 5 días", dec_30).date == dt.date(2028, 1, 4)


def test_month_end_rollover() -> None:
    apr_29 = at("2027-04-29T10:00:00")
    assert read_date("el 31", apr_29).date == dt.date(2027, 5, 31)  # April has no 31st
    assert read_date("el 3", apr_29).date == dt.date(2027, 5, 3)
    assert read_date("el 29", apr_29).date == dt.date(2027, 4, 29)
    feb = at("2027-02-27T10:00:00")
    assert read_date("el 30", feb).date == dt.date(2027, 3, 30)
    assert read_date("29 de febrero", feb).date == dt.date(2028, 2, 29)


def test_today_is_not_pushed_to_next_year() -> None:
    assert reading("15 de marzo")["date"] == "2027-03-15"
    assert reading("15/03")["date"] == "2027-03-15"
    assert reading("14 de marzo")["date"] == "2028-03-14"


def test_now_is_read_in_lima() -> None:
    # 03:00 UTC on the 16th is still the 15th in Lima.
    utc = dt.datetime(2027, 3, 16, 3, 0, tzinfo=dt.UTC)
    assert read_date("hoy", utc).date == dt.date(2027, 3, 15)
    assert read_date("mañana", utc).date == dt.date(2027, 3, 16)


def test_now_is_read_in_the_tenants_time_zone() -> None:
    # 03:00 UTC on the 16th is 22:00 on the 15th in Lima but 04:00 on the 16th in Madrid.
    utc = dt.datetime(2027, 3, 16, 3, 0, tzinfo=dt.UTC)
    madrid = ZoneInfo("Europe/Madrid")
    assert read_date("hoy", utc, tz=madrid).date == dt.date(2027, 3, 16)
    assert read_date("mañana", utc, tz=madrid).date == dt.date(2027, 3, 17)
    assert read_date("el lunes", utc, tz=madrid).date == dt.date(2027, 3, 22)
    # The clock too: 23:00 is still ahead today in both, but "today" is another day.
    late = "a las 11 de la noche"
    assert read_date(late, utc, assume_day_for_time=True).date == dt.date(2027, 3, 15)
    assert read_date(late, utc, tz=madrid, assume_day_for_time=True).date == dt.date(2027, 3, 16)
    assert read_date("hoy", utc, tz=ZoneInfo("America/Lima")) == read_date("hoy", utc)


def test_the_national_time_zone_is_the_settings_default() -> None:
    assert Settings.model_fields["timezone"].default == NATIONAL_TIME_ZONE


def test_the_most_specific_kind_of_day_wins_whatever_is_said_first() -> None:
    assert list(DateRank) == sorted(DateRank)
    # A weekday (WEEKDAY) said before a calendar date (CALENDAR): the calendar date wins.
    assert reading("el lunes, o sea el 24 de marzo")["date"] == "2027-03-24"
    # "mañana" (RELATIVE) before "la próxima semana" (WEEK_OR_MONTH): tomorrow wins.
    assert reading("mañana o la próxima semana")["date"] == "2027-03-16"


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("22-03-2027", "2027-03-22"),
        ("22.03.27", "2027-03-22"),
        ("2027-03-22", "2027-03-22"),
        ("3/22", "2027-03-22"),  # not a month: read month/day
        ("el primero de abril", "2027-04-01"),
        ("1ro de abril", "2027-04-01"),
        ("15 de setiembre", "2027-09-15"),
        ("15 de marzo del 2028", "2028-03-15"),
        ("el treinta y uno", "2027-03-31"),
        ("el 18 del mes que viene", "2027-04-18"),
        ("dentro de dos semanas", "2027-03-29"),
        ("en un mes", "2027-04-15"),
        ("el próximo mes", "2027-04-01"),
        ("en abril", "2027-04-01"),
        ("ayer", "2027-03-14"),
    ],
)
def test_calendar_dates(text: str, date: str) -> None:
    assert reading(text)["date"] == date


def test_invalid_calendar_dates_read_nothing() -> None:
    assert reading("31/2")["date"] is None
    assert reading("31 de abril")["date"] is None


def test_first_mentioned_day_wins_within_a_kind() -> None:
    assert reading("el lunes o el martes")["date"] == "2027-03-22"
    assert reading("mañana o pasado mañana")["date"] == "2027-03-16"


# --------------------------------------------------------------------------- languages and JSON


def test_english() -> None:
    assert reading("tomorrow at 4 pm", lang="en") == {
        "date": "2027-03-16",
        "time": "16:00",
        "period": None,
        "asap": False,
    }
    assert reading("next friday in the morning", lang="en")["period"] == "morning"
    assert reading("as soon as possible", lang="en")["asap"] is True
    assert reading("april 5th", lang="en")["date"] == "2027-04-05"
    assert reading("in a week", lang="en")["date"] == "2027-03-22"
    assert reading("my id is 87654321", lang="en")["date"] is None


def test_quechua_and_unknown_languages_fall_back_to_spanish() -> None:
    assert reading("mañana a las 10", lang="qu") == reading("mañana a las 10")
    assert reading("pasado mañana", lang="es-PE")["date"] == "2027-03-17"


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("paqarin", "2027-03-16"),  # tomorrow (CLDR qu)
        ("paqarinpi a las 10", "2027-03-16"),
        ("kunan punchaw", "2027-03-15"),  # today
        ("kunan p'unchaw", "2027-03-15"),
        ("kunan", None),  # «now, this»: no day on its own
    ],
)
def test_quechua_day_words(text: str, date: str | None) -> None:
    assert reading(text, lang="qu")["date"] == date
    assert reading(text)["date"] == date  # a Quechua speaker writing in a Spanish chat too


def test_to_json_has_exactly_the_four_keys() -> None:
    got = read_date("el 20 de marzo a las 3 de la tarde", NOW).to_json()
    assert got == {"date": "2027-03-20", "time": "15:00", "period": None, "asap": False}
    assert list(got) == ["date", "time", "period", "asap"]
    assert DateReading().to_json() == {"date": None, "time": None, "period": None, "asap": False}


def test_reading_is_frozen() -> None:
    with pytest.raises(AttributeError):
        read_date("hoy", NOW).asap = True  # type: ignore[misc]


def test_long_text_is_bounded() -> None:
    assert reading("mañana " + "bla " * 10_000)["date"] == "2027-03-16"


@pytest.mark.parametrize(
    ("text", "date", "time"),
    [
        ("el mismo dia a las 3", "2027-03-22", "15:00"),
        ("ese mismo dia en la tarde", "2027-03-22", None),
        ("ese dia", "2027-03-22", None),
        ("un dia despues", "2027-03-23", None),
        ("al dia siguiente a las 10", "2027-03-23", "10:00"),
        ("dos dias despues", "2027-03-24", None),
        ("un dia antes", "2027-03-21", None),
        ("el dia anterior", "2027-03-21", None),
        ("el dia 25", "2027-03-25", None),  # a day number is no anchored phrase
        ("mañana", "2027-03-16", None),  # nor are days counted from today
    ],
)
def test_phrases_anchored_to_the_day_being_changed(text: str, date: str, time: str | None) -> None:
    got = read_date(text, NOW, anchor=at("2027-03-22T10:00").date())
    assert (got.to_json()["date"], got.to_json()["time"]) == (date, time)


def test_a_bare_time_falls_on_the_day_being_changed_when_it_is_ahead() -> None:
    ahead = at("2027-03-22T10:00").date()
    got = read_date("a las 11", NOW, assume_day_for_time=True, anchor=ahead)
    assert (got.to_json()["date"], got.to_json()["time"]) == ("2027-03-22", "11:00")
    # no anchor, or one already gone: the next day that time is still ahead, as before
    assert read_date("a las 11", NOW, assume_day_for_time=True).to_json()["date"] == "2027-03-16"
    gone = at("2027-03-10T10:00").date()
    got = read_date("a las 11", NOW, assume_day_for_time=True, anchor=gone)
    assert got.to_json()["date"] == "2027-03-16"
    # a day named outright outweighs the anchor
    got = read_date("el jueves a las 11", NOW, assume_day_for_time=True, anchor=ahead)
    assert got.to_json()["date"] == "2027-03-18"


def test_anchored_phrases_without_an_anchor_read_no_day() -> None:
    assert reading("el mismo dia")["date"] is None
    assert reading("un dia despues")["date"] is None


def test_anchored_phrases_in_english() -> None:
    anchor = at("2027-03-22T10:00").date()
    assert read_date("the same day at 3pm", NOW, "en", anchor=anchor).to_json()["date"] == (
        "2027-03-22"
    )
    assert read_date("the day before", NOW, "en", anchor=anchor).to_json()["date"] == "2027-03-21"


def test_parse_date_reads_today_in_the_configured_time_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from bot.cli import app

    monkeypatch.setenv("PSV_TIMEZONE", "Europe/Madrid")
    result = CliRunner().invoke(app, ["parse-date", "hoy", "--now", "2027-03-16T03:00:00+00:00"])
    assert result.exit_code == 0, result.output
    assert '"date": "2027-03-16"' in result.output
