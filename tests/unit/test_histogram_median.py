"""The median of a histogram of waits is the median of the waits it counts."""

from __future__ import annotations

import statistics

from hypothesis import given
from hypothesis import strategies as st

from core.daily import histogram_median

WAITS = st.lists(st.integers(min_value=0, max_value=50_000), min_size=1, max_size=60)


@given(WAITS)
def test_the_histogram_median_is_the_median_of_the_waits(waits: list[int]) -> None:
    counted: dict[int, int] = {}
    for wait in waits:
        counted[wait] = counted.get(wait, 0) + 1
    histogram = list(reversed(list(counted.items())))  # any order
    assert histogram_median(histogram) == (statistics.median(waits), len(waits))
