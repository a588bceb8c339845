"""Charts as SVG shapes computed on the server (the template draws them; no JS library)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: its label, value and length in percent of the longest."""

    label: str
    value: int
    percent: float
    key: str


def bars(items: list[tuple[str, int, str]]) -> list[Bar]:
    """Bars ranked by value, longest first (label, value, key for live updates)."""
    top = max((value for _, value, _ in items), default=0) or 1
    ranked = sorted(items, key=lambda item: (-item[1], item[0]))
    return [Bar(label, value, round(100 * value / top, 1), key) for label, value, key in ranked]


@dataclass(frozen=True)
class Trend:
    """Daily series as SVG polylines in a 0..WIDTH x 0..HEIGHT box."""

    width: int
    height: int
    lines: list[tuple[str, str, str]]  # (name, css class, points)
    labels: list[tuple[float, str]]  # (x, day label) of a few ticks
    top: int


WIDTH, HEIGHT, PAD = 600, 160, 6


def trend(days: list[str], series: list[tuple[str, str, list[int]]]) -> Trend:
    """Polylines of several daily series on one scale (name, css class, values per day)."""
    top = max((v for _, _, values in series for v in values), default=0) or 1
    n = len(days)
    step = (WIDTH - 2 * PAD) / max(1, n - 1)

    def x(i: int) -> float:
        return round(PAD + i * step if n > 1 else WIDTH / 2, 1)

    def y(v: int) -> float:
        return round(HEIGHT - PAD - (HEIGHT - 2 * PAD) * v / top, 1)

    lines = [
        (name, css, " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values)))
        for name, css, values in series
    ]
    every = max(1, n // 6)
    labels = [(x(i), days[i][5:]) for i in range(0, n, every)]
    return Trend(WIDTH, HEIGHT, lines, labels, top)
