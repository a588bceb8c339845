"""Property tests of `compute_slots` against a naive, independent oracle.

Every clock time, duration and busy span lies on a five-minute grid and the time zones
have whole-hour offsets, so boundaries coincide often: a busy span ending exactly at a
slot start, a break starting exactly at a slot end, a window edge on a slot, and so on.
`now` is often drawn near a DST transition of America/Santiago or Europe/Madrid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.availability import Rules, Schedule, Slot, SpecialistDay, compute_slots

LIMA = ZoneInfo("America/Lima")
ZONES = (LIMA, ZoneInfo("America/Santiago"), ZoneInfo("Europe/Madrid"))
GRAIN = timedelta(minutes=5)
DAY = timedelta(days=1)
LAST_GRAIN = 24 * 12 - 1  # 23:55, the last clock time on the grid
# DST changes of America/Santiago (at local midnight) and Europe/Madrid (at 02:00/03:00).
DST_CHANGES = (
    datetime(2025, 3, 30, 1, tzinfo=UTC),
    datetime(2025, 4, 6, 3, tzinfo=UTC),
    datetime(2025, 9, 7, 4, tzinfo=UTC),
    datetime(2025, 10, 26, 1, tzinfo=UTC),
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 4, 5, 3, tzinfo=UTC),
    datetime(2026, 9, 6, 4, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
)

Span = tuple[datetime, datetime]
LocalSpan = tuple[time, time]
Pair = tuple[datetime, int]

PROPS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass
class Scenario:
    """A schedule and the arguments of one `compute_slots` call."""

    schedule: Schedule
    start: datetime
    end: datetime
    now: datetime

    def slots(self, *, limit: int | None = None, ignore_busy: bool = False) -> list[Slot]:
        return compute_slots(
            self.schedule, self.start, self.end, self.now, limit=limit, ignore_busy=ignore_busy
        )


# --- strategies ---------------------------------------------------------------------------


def clock(grains: int) -> time:
    """The clock time `grains` five-minute steps after midnight."""
    return time(grains // 12, grains % 12 * 5)


UNITS = st.sampled_from((1, 3, 6, 12))  # 5, 15, 30 or 60 minutes, in grains


@st.composite
def working_day(draw: st.DrawFn) -> list[LocalSpan]:
    """One interval starting 06:00-12:00, sometimes a second one after it; up to 23:55.

    A day's times share a unit of 5 to 60 minutes, so that they often meet window edges;
    the intervals come in any order.
    """
    unit = draw(UNITS)
    first_from = draw(st.integers(6 * 12 // unit, 12 * 12 // unit)) * unit
    length = st.integers(1, 10 * 12 // unit) | st.integers(1, (LAST_GRAIN - first_from) // unit)
    first_to = min(first_from + draw(length) * unit, LAST_GRAIN)  # often into the night
    spans = [(first_from, first_to)]
    if first_to < LAST_GRAIN - unit and draw(st.booleans()):
        second_from = first_to + draw(st.integers(0, 4 * 12 // unit)) * unit
        second_from = min(second_from, LAST_GRAIN - 1)
        second_to = min(second_from + draw(st.integers(1, 6 * 12 // unit)) * unit, LAST_GRAIN)
        spans.append((second_from, second_to))
    return draw(st.permutations([(clock(a), clock(b)) for a, b in spans]))


@st.composite
def break_list(draw: st.DrawFn) -> list[LocalSpan]:
    """Zero to two breaks between 06:00 and 23:55, possibly overlapping each other."""
    spans = []
    for _ in range(draw(st.integers(0, 2))):
        begin = draw(st.integers(6 * 12, LAST_GRAIN - 1))
        spans.append((begin, min(begin + draw(st.integers(1, 24)), LAST_GRAIN)))
    return [(clock(a), clock(b)) for a, b in spans]


@st.composite
def weekday_map(
    draw: st.DrawFn, values: st.SearchStrategy[list[LocalSpan]], *, share: int
) -> dict[int, list[LocalSpan]]:
    """A weekday -> spans mapping; each weekday is present with probability `share` in 4."""
    return {day: draw(values) for day in range(7) if draw(st.integers(1, 4)) <= share}


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    """An instant in 2025-2026, often near a DST change, mostly on the grid, often o'clock."""
    if draw(st.booleans()):
        anchor = draw(st.sampled_from(DST_CHANGES))
        moment = anchor + draw(st.integers(-10 * 24 * 12, 10 * 24 * 12)) * GRAIN
    else:
        moment = datetime(2025, 1, 1, tzinfo=UTC) + draw(st.integers(0, 2 * 365 * 24 * 12)) * GRAIN
    rounding = draw(st.integers(0, 3))
    if rounding == 0:
        moment += timedelta(seconds=draw(st.integers(1, 299)))
    elif rounding == 1:
        moment = moment.replace(minute=0)
    return moment


@st.composite
def rule_sets(draw: st.DrawFn) -> Rules:
    """Duration 15-120 min, buffer 0-30 min, notice 0-72 h (often none), horizon 1-40 days."""
    hours = st.integers(0, 72).map(lambda h: h * 12)
    notice = draw(st.one_of(st.just(0), st.integers(0, 12 * 12), st.integers(0, 72 * 12), hours))
    return Rules(
        duration=draw(st.integers(3, 24)) * GRAIN,
        buffer=draw(st.integers(0, 6)) * GRAIN,
        min_notice=notice * GRAIN,
        horizon=timedelta(days=draw(st.integers(1, 40))),
    )


OFFICE_FROM = 6 * 12  # 06:00: busy spans start and end between 06:00 and 23:55
OFFICE_GRAINS = 24 * 12 - OFFICE_FROM


def office_instant(first_day: date, n: int, tz: ZoneInfo) -> datetime:
    """The n-th five-minute mark of office time (06:00-23:55 local) from `first_day`, in UTC.

    Busy time drawn this way lands on working days, where it can touch slot edges.
    """
    day = first_day + n // OFFICE_GRAINS * DAY
    return datetime.combine(day, clock(OFFICE_FROM + n % OFFICE_GRAINS), tzinfo=tz).astimezone(UTC)


def disjoint_busy(first_day: date, days: int, tz: ZoneInfo) -> st.SearchStrategy[list[Span]]:
    """Non-overlapping busy spans over `days` local days, in random order."""
    marks = days * OFFICE_GRAINS
    count = st.integers(0, min(4 * days, 60)).map(lambda n: 2 * n)
    cuts = count.flatmap(
        lambda n: st.lists(st.integers(0, marks), unique=True, min_size=n, max_size=n)
    )
    spans = cuts.map(sorted).map(
        lambda c: [
            (office_instant(first_day, c[i], tz), office_instant(first_day, c[i + 1], tz))
            for i in range(0, len(c) - 1, 2)
        ]
    )
    return spans.flatmap(st.permutations)


def any_busy(first_day: date, days: int, tz: ZoneInfo) -> st.SearchStrategy[list[Span]]:
    """Busy spans of 5 min to 8 h over `days` local days: overlapping, nested or repeated."""

    def span(mark: int, grains: int) -> Span:
        begin = office_instant(first_day, mark, tz)
        return begin, begin + grains * GRAIN

    one = st.builds(span, st.integers(0, days * OFFICE_GRAINS), st.integers(1, 8 * 12))
    count = st.integers(0, min(3 * days, 40))
    return count.flatmap(lambda n: st.lists(one, min_size=n, max_size=n))


@st.composite
def windows(draw: st.DrawFn, anchor: datetime, tz: ZoneInfo) -> Span:
    """[start, end) of up to 21 days near `anchor`: five-minute steps or local o'clock edges."""
    length = st.one_of(st.integers(12 * 12, 3 * 24 * 12), st.integers(0, 21 * 24 * 12))
    if draw(st.booleans()):
        start = anchor + draw(st.integers(-2 * 24 * 12, 2 * 24 * 12)) * GRAIN
        end = start + draw(length) * GRAIN
    else:
        day = anchor.astimezone(tz).date() + draw(st.integers(-2, 2)) * DAY
        hour = draw(st.integers(0, 23) | st.integers(18, 23))  # evenings: UTC is a day ahead
        start = datetime.combine(day, time(hour), tzinfo=tz)
        end_day = day + draw(st.integers(0, 21)) * DAY
        end = datetime.combine(end_day, time(draw(st.integers(0, 23))), tzinfo=tz)
    if draw(st.booleans()):  # aware but not UTC, or back to UTC
        return start.astimezone(tz), end.astimezone(tz)
    return start.astimezone(UTC), end.astimezone(UTC)


@st.composite
def scenarios(draw: st.DrawFn, *, overlapping_busy: bool = False) -> Scenario:
    """1-4 specialists, closures and busy time around a window of up to 21 days."""
    tz = draw(st.sampled_from(ZONES))
    rules = draw(rule_sets())
    now = draw(instants())
    start, end = draw(windows(now + rules.min_notice if draw(st.booleans()) else now, tz))
    first_day = start.astimezone(tz).date() - DAY
    span_days = (end.astimezone(tz).date() - first_day).days + 2
    days = st.builds(lambda n: first_day + n * DAY, st.integers(0, span_days - 1))
    reason = st.just("feriado")
    busy = (any_busy if overlapping_busy else disjoint_busy)(first_day, span_days, tz)
    office_hours = draw(weekday_map(working_day(), share=3))
    specialists = []
    for spec_id in draw(st.lists(st.integers(1, 50), min_size=1, max_size=4, unique=True)):
        own_hours = draw(st.booleans())  # or the office's, so that slots are shared
        spec = SpecialistDay(
            spec_id,
            hours=draw(weekday_map(working_day(), share=3)) if own_hours else office_hours,
            breaks=draw(weekday_map(break_list(), share=2)),
            days_off=draw(st.sets(days, max_size=4)),
            busy=draw(busy),
        )
        spec.sort_busy()
        specialists.append(spec)
    schedule = Schedule(
        tz=tz,
        rules=rules,
        specialists=specialists,
        holidays=draw(st.dictionaries(days, reason, max_size=3)),
        closed=draw(st.dictionaries(days, reason, max_size=2)),
    )
    return Scenario(schedule, start, end, now)


# --- naive oracle -------------------------------------------------------------------------


def to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A local wall-clock time as UTC (first occurrence of an ambiguous time)."""
    wall = datetime.combine(day, at)
    offset = tz.utcoffset(wall)
    assert offset is not None
    return (wall - offset).replace(tzinfo=UTC)


def overlaps(spans: Iterable[Span], start: datetime, end: datetime) -> bool:
    """Whether [start, end) shares an instant with any of the half-open spans."""
    return any(a < end and start < b for a, b in spans)


def bounds(sc: Scenario) -> Span:
    """The instants a slot may start in: [earliest, latest)."""
    rules = sc.schedule.rules
    return max(sc.start, sc.now + rules.min_notice), min(sc.end, sc.now + rules.horizon)


def naive_pairs(sc: Scenario, *, ignore_busy: bool = False) -> set[Pair]:
    """Every (start, specialist) on a grid that passes every rule, found by brute force."""
    sched, rules = sc.schedule, sc.schedule.rules
    earliest, latest = bounds(sc)
    found: set[Pair] = set()
    day = (earliest - 2 * DAY).date()
    while day <= (latest + 2 * DAY).date():
        closed = day in sched.holidays or day in sched.closed
        for spec in [] if closed else sched.specialists:
            if day in spec.days_off:
                continue
            breaks = [
                (to_utc(day, a, sched.tz), to_utc(day, b, sched.tz))
                for a, b in spec.breaks.get(day.weekday(), [])
            ]
            for work_from, work_to in spec.hours.get(day.weekday(), []):
                at, stop = to_utc(day, work_from, sched.tz), to_utc(day, work_to, sched.tz)
                while at + rules.duration <= stop:
                    if (
                        earliest <= at < latest
                        and not overlaps(breaks, at, at + rules.duration)
                        and (
                            ignore_busy
                            or not overlaps(spec.busy, at, at + rules.duration + rules.buffer)
                        )
                    ):
                        found.add((at, spec.id))
                    at += rules.duration + rules.buffer
        day += DAY
    return found


def pairs(slots: list[Slot]) -> set[Pair]:
    return {(slot.start, spec_id) for slot in slots for spec_id in slot.specialist_ids}


def violations(sc: Scenario, start: datetime, spec_id: int, *, ignore_busy: bool) -> list[str]:
    """The rules that (start, spec_id) breaks, checked one by one."""
    sched, rules = sc.schedule, sc.schedule.rules
    spec = next(s for s in sched.specialists if s.id == spec_id)
    earliest, latest = bounds(sc)
    day = start.astimezone(sched.tz).date()
    end = start + rules.duration
    step = rules.duration + rules.buffer
    broken = []
    if not earliest <= start < latest:
        broken.append("outside [max(start, now+notice), min(end, now+horizon))")
    if day in sched.holidays:
        broken.append("holiday")
    if day in sched.closed:
        broken.append("regional closure")
    if day in spec.days_off:
        broken.append("day off")
    intervals = [
        (to_utc(day, a, sched.tz), to_utc(day, b, sched.tz))
        for a, b in spec.hours.get(day.weekday(), [])
    ]
    if not any(
        a <= start and end <= b and (start - a) % step == timedelta(0) for a, b in intervals
    ):
        broken.append("not on the grid of a working interval it fits in")
    breaks = [
        (to_utc(day, a, sched.tz), to_utc(day, b, sched.tz))
        for a, b in spec.breaks.get(day.weekday(), [])
    ]
    if overlaps(breaks, start, end):
        broken.append("overlaps a break")
    if not ignore_busy and overlaps(spec.busy, start, end + rules.buffer):
        broken.append("overlaps busy time (with buffer)")
    return broken


# --- fixed schedules ----------------------------------------------------------------------

MONDAY = date(2025, 6, 2)
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def lima(at: str, day: date = MONDAY) -> datetime:
    """A Lima wall-clock time ("HH:MM") on `day`, as UTC."""
    return datetime.combine(day, time.fromisoformat(at), tzinfo=LIMA).astimezone(UTC)


def monday(
    hours: tuple[str, str] = ("09:00", "12:00"), busy: tuple[str, str] | None = None
) -> Scenario:
    """One Lima specialist on a Monday, 30 min slots + 10 min buffer, asked for that day."""
    spec = SpecialistDay(
        7,
        hours={0: [(time.fromisoformat(hours[0]), time.fromisoformat(hours[1]))]},
        busy=[] if busy is None else [(lima(busy[0]), lima(busy[1]))],
    )
    spec.sort_busy()
    rules = Rules(timedelta(minutes=30), timedelta(minutes=10), timedelta(0), timedelta(days=30))
    schedule = Schedule(tz=LIMA, rules=rules, specialists=[spec])
    return Scenario(schedule, lima("00:00"), lima("23:59"), NOW)


def monday_starts(
    hours: tuple[str, str] = ("09:00", "12:00"), busy: tuple[str, str] | None = None
) -> list[datetime]:
    """The slot starts of `monday(hours, busy)`."""
    return [slot.start for slot in monday(hours, busy).slots()]


# --- properties ---------------------------------------------------------------------------


@PROPS
@given(scenarios(), st.booleans())
def test_every_slot_satisfies_every_rule(sc: Scenario, ignore_busy: bool) -> None:
    """Soundness: each (slot, specialist) meets window, closures, grid, breaks and busy."""
    for slot in sc.slots(ignore_busy=ignore_busy):
        for spec_id in slot.specialist_ids:
            broken = violations(sc, slot.start, spec_id, ignore_busy=ignore_busy)
            assert not broken, (slot, spec_id, broken)


@PROPS
@given(scenarios(), st.booleans())
def test_matches_the_naive_oracle(sc: Scenario, ignore_busy: bool) -> None:
    """Completeness: exactly the (start, specialist) pairs the brute-force oracle finds."""
    got = pairs(sc.slots(ignore_busy=ignore_busy))
    expected = naive_pairs(sc, ignore_busy=ignore_busy)
    assert sorted(got - expected) == [], "returned but not valid"
    assert sorted(expected - got) == [], "valid but missing"


@PROPS
@given(scenarios(overlapping_busy=True))
def test_matches_the_oracle_with_overlapping_busy_spans(sc: Scenario) -> None:
    """Completeness and soundness hold for nested, overlapping and repeated busy spans."""
    slots = sc.slots()
    assert pairs(slots) == naive_pairs(sc)
    for slot in slots:
        for spec_id in slot.specialist_ids:
            assert not violations(sc, slot.start, spec_id, ignore_busy=False)


@PROPS
@given(scenarios(), st.booleans())
def test_slots_are_well_formed(sc: Scenario, ignore_busy: bool) -> None:
    """Strictly increasing UTC starts, sorted unique ids, end - start == duration."""
    slots = sc.slots(ignore_busy=ignore_busy)
    for slot in slots:
        assert slot.start.utcoffset() == timedelta(0)
        assert slot.end - slot.start == sc.schedule.rules.duration
        assert slot.specialist_ids
        assert list(slot.specialist_ids) == sorted(set(slot.specialist_ids))
    starts = [slot.start for slot in slots]
    assert all(a < b for a, b in pairwise(starts))


@PROPS
@example(monday(), 0)
@given(scenarios(), st.integers(0, 60))
def test_limit_returns_a_prefix(sc: Scenario, k: int) -> None:
    """`limit=k` gives exactly the first k slots of the unlimited result (k >= 0)."""
    assert sc.slots(limit=k) == sc.slots()[:k]


@PROPS
@given(scenarios(), st.integers(1, 6))
def test_days_returns_the_first_days_whole(sc: Scenario, k: int) -> None:
    """`days=k` gives every slot of the first k local days that have any, and no other."""
    every = sc.slots()
    tz = sc.schedule.tz
    first_days = sorted({slot.start.astimezone(tz).date() for slot in every})[:k]
    found = compute_slots(sc.schedule, sc.start, sc.end, sc.now, days=k)
    assert found == [slot for slot in every if slot.start.astimezone(tz).date() in first_days]


@PROPS
@given(scenarios())
def test_ignoring_busy_time_only_adds_slots(sc: Scenario) -> None:
    """With ignore_busy=True every normally free (start, specialist) is still there."""
    assert pairs(sc.slots()) <= pairs(sc.slots(ignore_busy=True))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 30)), max_size=25),
    st.integers(0, 200),
    st.integers(0, 24),
)
def test_is_busy_agrees_with_a_linear_scan(
    offsets: list[tuple[int, int]], begin: int, length: int
) -> None:
    """`is_busy` equals the naive any-overlap scan for arbitrary (even empty) spans."""
    origin = datetime(2025, 6, 2, tzinfo=UTC)
    spec = SpecialistDay(
        1, busy=[(origin + a * GRAIN, origin + (a + n) * GRAIN) for a, n in offsets]
    )
    spec.sort_busy()
    start, end = origin + begin * GRAIN, origin + (begin + length) * GRAIN
    assert spec.is_busy(start, end) == overlaps(spec.busy, start, end)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 30)), max_size=25),
    st.lists(st.integers(0, 200), min_size=1, max_size=12).map(sorted),
    st.integers(1, 30),
)
def test_free_starts_agrees_with_a_linear_scan(
    offsets: list[tuple[int, int]], starts: list[int], length: int
) -> None:
    """`free_starts` keeps exactly the grid spans that overlap no busy span."""
    origin = datetime(2025, 6, 2, tzinfo=UTC)
    spec = SpecialistDay(
        1, busy=[(origin + a * GRAIN, origin + (a + n) * GRAIN) for a, n in offsets]
    )
    spec.sort_busy()
    grid = [(origin + a * GRAIN, origin + (a + length) * GRAIN) for a in starts]
    expected = [start for start, end in grid if not overlaps(spec.busy, start, end)]
    assert spec.free_starts(grid) == expected


# --- examples -----------------------------------------------------------------------------


def test_free_monday_grid() -> None:
    assert monday_starts() == [lima(t) for t in ("09:00", "09:40", "10:20", "11:00")]


def test_busy_ending_at_a_slot_start_does_not_block_it() -> None:
    starts = monday_starts(busy=("09:10", "09:40"))
    assert starts == [lima(t) for t in ("09:40", "10:20", "11:00")]


def test_busy_ending_one_minute_after_a_slot_start_blocks_it() -> None:
    assert lima("09:40") not in monday_starts(busy=("09:10", "09:41"))


def test_busy_starting_at_slot_end_plus_buffer_does_not_block_it() -> None:
    # 09:00 slot: 30 min ending 09:30, then 10 min buffer up to 09:40.
    assert lima("09:00") in monday_starts(busy=("09:40", "09:50"))


def test_busy_starting_one_minute_inside_the_buffer_blocks_the_slot() -> None:
    assert lima("09:00") not in monday_starts(busy=("09:39", "09:50"))


def test_interval_too_short_for_one_slot_gives_none() -> None:
    assert monday_starts(hours=("09:00", "09:29")) == []
    assert monday_starts(hours=("09:00", "09:30")) == [lima("09:00")]


@pytest.mark.parametrize("limit", [1, 2, 4, 5])
def test_limit_cuts_the_grid(limit: int) -> None:
    sc = monday()
    assert sc.slots(limit=limit) == sc.slots()[:limit]


def test_limit_zero_returns_nothing() -> None:
    assert monday().slots(limit=0) == []


def test_window_includes_its_start_and_excludes_its_end() -> None:
    sc = monday()
    sc.start, sc.end = lima("09:40"), lima("11:00")
    assert [slot.start for slot in sc.slots()] == [lima("09:40"), lima("10:20")]


def test_notice_edge_is_included_and_horizon_edge_excluded() -> None:
    sc = monday()
    sc.now = lima("08:40")
    sc.schedule.rules = Rules(
        duration=timedelta(minutes=30),
        buffer=timedelta(minutes=10),
        min_notice=timedelta(hours=1),  # earliest 09:40
        horizon=timedelta(hours=2, minutes=20),  # latest 11:00
    )
    assert [slot.start for slot in sc.slots()] == [lima("09:40"), lima("10:20")]


def test_window_starting_in_the_local_evening_keeps_that_evening() -> None:
    # 20:00 in Lima is already 01:00 UTC of the next day.
    sc = monday(hours=("18:00", "23:00"))
    sc.start = lima("20:00")
    assert [slot.start for slot in sc.slots()] == [
        lima(t) for t in ("20:00", "20:40", "21:20", "22:00")
    ]


@pytest.mark.parametrize(
    ("zone", "days", "utc_hours"),
    [
        # Europe/Madrid moves from +01 to +02 at 02:00 on Sunday 30 March 2025.
        ("Europe/Madrid", (date(2025, 3, 29), date(2025, 3, 30), date(2025, 3, 31)), (8, 7, 7)),
        # America/Santiago moves from -04 to -03 at midnight before Sunday 7 Sept 2025.
        ("America/Santiago", (date(2025, 9, 6), date(2025, 9, 7)), (13, 12)),
    ],
)
def test_slots_follow_the_utc_offset_across_a_dst_change(
    zone: str, days: tuple[date, ...], utc_hours: tuple[int, ...]
) -> None:
    tz = ZoneInfo(zone)
    spec = SpecialistDay(3, hours={day.weekday(): [(time(9), time(10))] for day in days})
    spec.sort_busy()
    rules = Rules(timedelta(hours=1), timedelta(0), timedelta(0), timedelta(days=30))
    schedule = Schedule(tz=tz, rules=rules, specialists=[spec])
    start = datetime.combine(days[0], time(0), tzinfo=tz)
    end = datetime.combine(days[-1], time(23), tzinfo=tz)
    found = compute_slots(schedule, start, end, start - DAY)
    assert [slot.start for slot in found] == [
        datetime.combine(day, time(hour), tzinfo=UTC)
        for day, hour in zip(days, utc_hours, strict=True)
    ]
