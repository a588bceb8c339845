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
# Words after which a district is a place and not, say, part of a person's name.
_PLACE_CUES: Final = frozenset(
    {"en", "de", "del", "desde", "por", "distrito", "provincia", "in", "from", "near", "cerca"}
)
# Lima is one department served by two directorates, neither of them named plain «Lima».
_ALSO_DEPARTMENTS: Final = ("Lima",)
# Other names people write a region by, as whole words in free text too: the older Spanish
# spelling and the Quechua name of Cusco (a place name, not an interface term).
REGION_OTHER_NAMES: Final[dict[str, tuple[str, ...]]] = {"PE-CUS": ("Cuzco", "Qosqo", "Qusqu")}


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

    def find(self, text: str, *, cued: bool = False) -> list[Place]:
        """Return the places named in a text: exact word groups first, else one fuzzy guess.

        `cued` (free text, not the answer to «¿en qué región?»): a district counts only after
        a word that introduces a place («en», «de», «desde»...), so the district María in
        «maria flores» or Santa Rosa in «soy rosa» is no place; provinces count as named.
        """
        words = normalise(text).split()
        found = self._exact(words, cued)
        if found:
            return found
        return self._fuzzy(words, cued)

    def regions(self, text: str, *, cued: bool = False) -> frozenset[str]:
        """Return the regions of the places a text names (empty if it names none)."""
        return frozenset(place.region for place in self.find(text, cued=cued))

    def _exact(self, words: Sequence[str], cued: bool) -> list[Place]:
        found: list[Place] = []
        start = 0
        while start < len(words):
            for size in range(min(_MAX_WORDS, len(words) - start), 0, -1):
                places = self._by_name.get(" ".join(words[start : start + size]))
                if places:
                    # A province outweighs districts of the same name elsewhere.
                    provinces = [p for p in places if p.kind != "district"]
                    if provinces or not cued or _introduced(words, start):
                        found.extend(provinces or places)
                    start += size  # an uncued district's words name nothing shorter either
                    break
            else:
                start += 1
        return found

    def _fuzzy(self, words: Sequence[str], cued: bool) -> list[Place]:
        best: tuple[float, str, bool] | None = None
        for size in range(1, min(_MAX_WORDS, len(words)) + 1):
            for start in range(len(words) - size + 1):
                group = " ".join(words[start : start + size])
                if len(group) < _FUZZY_MIN_LENGTH:
                    continue
                hit = process.extractOne(
                    _sound(group), self._sounds, scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF
                )
                if hit is not None and (best is None or hit[1] > best[0]):
                    best = (hit[1], self._by_sound[hit[0]], _introduced(words, start))
        if best is None:
            return []
        places = self._by_name[best[1]]
        provinces = [p for p in places if p.kind != "district"]
        if cued and not best[2]:
            return provinces
        return provinces or list(places)


def _introduced(words: Sequence[str], start: int) -> bool:
    """Whether the word before `start` introduces a place («en», «de», «desde»...)."""
    return start > 0 and words[start - 1] in _PLACE_CUES


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


def resolve_region(
    text: str, choices: Sequence[Choice], read: MatchResult, *, cued: bool = False
) -> MatchResult:
    """Let the places a text names settle or correct what the region list read of it.

    A number or a tapped button stands. A region named outright stands unless a place narrows
    it («lima lima, vivo en san juan de lurigancho» is Lima Metropolitana) or names another
    region too, which is asked. A place beats a fuzzy reading of a region's name («huancayo» is
    Junín, not Huánuco). `cued`: the text is free words, not the answer to the region
    question (`Gazetteer.find`).
    """
    if read.how in ("payload", "number", "ordinal"):
        return read
    offered = {c.payload for c in choices}
    names = tuple(c.labels[0] for c in choices if c.labels) + _ALSO_DEPARTMENTS
    regions = gazetteer(tuple(sorted(names))).regions(text, cued=cued) & offered
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
