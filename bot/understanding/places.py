"""Places of Peru named in free text: provinces and districts mapped to the region serving them.

The data is INEI's ubigeo list (`core/data/places.tsv`, which says where it came from). A
citizen asked for their region often names their city or district instead («huancayo», «soy de
chiclayo», «vivo en san juan de lurigancho»). Names are matched whole, on word boundaries, after
`normalise` (no accents, lower case), longest first; a typo in a province or a Lima district is
forgiven by a fuzzy match of the whole word group.

Department names («Lima», «Cusco») are left to the region list itself: the province and district
that share them would only repeat what the list already reads, and «Lima» alone must still ask
which of the two Lima directorates is meant.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from rapidfuzz import fuzz, process

from bot.understanding.options import Choice, MatchResult
from bot.understanding.text import normalise
from core.catalog import DATA

PLACES_FILE: Final = DATA / "places.tsv"
_MAX_WORDS: Final = 5
# A fuzzy hit must be this close (rapidfuzz ratio, 0-100) and the text at least this long: a
# short word is too easily another place.
_FUZZY_CUTOFF: Final = 88.0
_FUZZY_MIN_LENGTH: Final = 6
# Spelling that sounds the same in Peruvian Spanish (yeísmo, seseo, b/v, silent h), folded
# before a fuzzy comparison: «huancallo» is Huancayo, «chiclallo» Chiclayo.
_SOUNDS: Final = (
    (re.compile(r"ll"), "y"),
    (re.compile(r"v"), "b"),
    (re.compile(r"z|c(?=[ei])"), "s"),
    (re.compile(r"qu(?=[ei])|c"), "k"),
    (re.compile(r"h"), ""),
)
# Lima is one department served by two directorates, neither of them named plain «Lima».
_ALSO_DEPARTMENTS: Final = ("Lima",)


@dataclass(frozen=True, slots=True)
class Place:
    """A province or district and the region (tenant code) whose directorate serves it."""

    name: str
    kind: str  # province, district, or city (a city known by no district name)
    region: str


class Gazetteer:
    """Every province and district by its normalised name (several places may share one)."""

    def __init__(self, places: Iterable[Place], department_names: Iterable[str] = ()) -> None:
        skip = {normalise(n) for n in department_names}
        self._by_name: dict[str, list[Place]] = {}
        for place in places:
            key = normalise(place.name)
            if key and key not in skip:
                self._by_name.setdefault(key, []).append(place)
        # Typos are forgiven only for provinces and for Lima Metropolitana's districts: the
        # places people name most, and few enough that a near miss is rarely another place.
        self._by_sound: dict[str, str] = {
            _sound(key): key
            for key, found in sorted(self._by_name.items())
            if len(key) >= _FUZZY_MIN_LENGTH
            and any(p.kind != "district" or p.region == "PE-LMA" for p in found)
        }
        self._sounds = list(self._by_sound)

    def find(self, text: str) -> list[Place]:
        """Return the places named in a text: exact word groups first, else one fuzzy guess."""
        words = normalise(text).split()
        found = self._exact(words)
        if found:
            return found
        return self._fuzzy(words)

    def regions(self, text: str) -> frozenset[str]:
        """Return the regions of the places a text names (empty if it names none)."""
        return frozenset(place.region for place in self.find(text))

    def _exact(self, words: Sequence[str]) -> list[Place]:
        found: list[Place] = []
        start = 0
        while start < len(words):
            for size in range(min(_MAX_WORDS, len(words) - start), 0, -1):
                places = self._by_name.get(" ".join(words[start : start + size]))
                if places:
                    # A province outweighs districts of the same name elsewhere.
                    provinces = [p for p in places if p.kind != "district"]
                    found.extend(provinces or places)
                    start += size
                    break
            else:
                start += 1
        return found

    def _fuzzy(self, words: Sequence[str]) -> list[Place]:
        best: tuple[float, str] | None = None
        for size in range(1, min(_MAX_WORDS, len(words)) + 1):
            for start in range(len(words) - size + 1):
                group = " ".join(words[start : start + size])
                if len(group) < _FUZZY_MIN_LENGTH:
                    continue
                hit = process.extractOne(
                    _sound(group), self._sounds, scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF
                )
                if hit is not None and (best is None or hit[1] > best[0]):
                    best = (hit[1], self._by_sound[hit[0]])
        if best is None:
            return []
        places = self._by_name[best[1]]
        return [p for p in places if p.kind != "district"] or list(places)


def _sound(text: str) -> str:
    for pattern, replacement in _SOUNDS:
        text = pattern.sub(replacement, text)
    return text


def read_places(path: Path = PLACES_FILE) -> list[Place]:
    """Read the places file: ubigeo, kind, name, region per line; `#` lines are comments."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader((line for line in handle if not line.startswith("#")), delimiter="\t")
        return [Place(name=name, kind=kind, region=region) for _, kind, name, region in rows]


@cache
def gazetteer(department_names: tuple[str, ...]) -> Gazetteer:
    """The gazetteer of the packaged places file, read once per set of department names."""
    return Gazetteer(read_places(), department_names)


def resolve_region(text: str, choices: Sequence[Choice], read: MatchResult) -> MatchResult:
    """Let the places a text names settle or correct what the region list read of it.

    A number or a tapped button stands. A region named outright stands unless a place narrows
    it («lima lima, vivo en san juan de lurigancho» is Lima Metropolitana) or names another
    region too, which is asked. A place beats a fuzzy reading of a region's name («huancayo» is
    Junín, not Huánuco).
    """
    if read.how in ("payload", "number", "ordinal"):
        return read
    offered = {c.payload for c in choices}
    names = tuple(c.labels[0] for c in choices if c.labels) + _ALSO_DEPARTMENTS
    regions = gazetteer(tuple(sorted(names))).regions(text) & offered
    if not regions:
        return read
    named = set(read.ambiguous)
    if read.payload is not None and read.how in ("exact", "contains"):
        named = {read.payload}
    candidates: set[str]
    if named and regions & named:
        candidates = set(regions & named)
    elif named and read.how in ("exact", "contains"):
        candidates = named | regions
    else:
        candidates = set(regions)
    if len(candidates) == 1:
        return MatchResult(next(iter(candidates)), how="exact", score=1.0)
    return MatchResult(None, ambiguous=tuple(sorted(candidates)))
