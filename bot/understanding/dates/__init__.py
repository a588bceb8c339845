"""Dates and times in free Spanish (or English): `read_date` gives a `DateReading`."""

from bot.understanding.dates.lexicon import Period
from bot.understanding.dates.reading import NATIONAL_TIME_ZONE, DateRank, DateReading, read_date

__all__ = ["NATIONAL_TIME_ZONE", "DateRank", "DateReading", "Period", "read_date"]
