"""Places of Peru in free text: provinces and districts mapped to the region serving them."""

from __future__ import annotations

import pytest
import yaml

from bot.understanding import Choice, MatchResult, match_option
from bot.understanding.places import PLACES_FILE, gazetteer, read_places, resolve_region
from core.catalog import DATA

TENANTS = yaml.safe_load((DATA / "tenants.yaml").read_text(encoding="utf-8"))
CHOICES = [Choice(t["code"], (t["name"], t["code"])) for t in TENANTS]


def region_of(text: str) -> MatchResult:
    return resolve_region(text, CHOICES, match_option(text, CHOICES))


def test_the_places_file_covers_peru() -> None:
    places = read_places()
    assert PLACES_FILE.read_text(encoding="utf-8").startswith("#")
    assert sum(p.kind == "province" for p in places) == 196
    assert sum(p.kind == "district" for p in places) > 1800
    # Every place belongs to one of the 26 directorates, and every directorate has places.
    assert {p.region for p in places} == {t["code"] for t in TENANTS}


def test_every_capital_is_a_place_of_its_own_region() -> None:
    places = gazetteer(("Lima",))
    for tenant in TENANTS:
        if tenant["code"] == "PE-LMA":
            continue  # «Lima» is left to the region list, which asks which Lima
        assert places.regions(tenant["capital"]) == {tenant["code"]}, tenant["capital"]


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("huancayo", "PE-JUN"),  # was read as Huánuco
        ("Huancayo", "PE-JUN"),
        ("huancallo", "PE-JUN"),  # ll for y
        ("trujillo", "PE-LAL"),
        ("trujiyo", "PE-LAL"),
        ("soy de chiclayo", "PE-LAM"),
        ("chiclallo", "PE-LAM"),
        ("lima lima, vivo en san juan de lurigancho", "PE-LMA"),
        ("vivo en los olivos", "PE-LMA"),
        ("trabajo en juliaca", "PE-PUN"),
        ("pucallpa", "PE-UCA"),
        ("de puerto maldonado", "PE-MDD"),
        ("chimbote", "PE-ANC"),
        ("huacho", "PE-LIM"),
        ("arequipa", "PE-ARE"),  # a region by its own name stands
        ("cuzco", "PE-CUS"),
        ("3", "PE-APU"),  # a number is the list's
    ],
)
def test_a_place_names_its_region(text: str, region: str) -> None:
    assert region_of(text).payload == region


def test_lima_alone_still_asks_which_lima() -> None:
    assert region_of("lima").ambiguous == ("PE-LIM", "PE-LMA")


def test_two_regions_named_are_asked_not_guessed() -> None:
    read = region_of("soy de cusco pero trabajo en huancayo")
    assert read.payload is None
    assert read.ambiguous == ("PE-CUS", "PE-JUN")


def test_a_district_of_several_regions_offers_them() -> None:
    read = region_of("comas")
    assert read.payload is None and set(read.ambiguous) == {"PE-JUN", "PE-LMA"}


@pytest.mark.parametrize(
    "text", ["quiero una cita", "en la tarde mejor", "el lunes a las 10", "no se", "me despidieron"]
)
def test_words_that_are_no_place_change_nothing(text: str) -> None:
    read = match_option(text, CHOICES)
    assert resolve_region(text, CHOICES, read) == read


def test_only_offered_regions_are_chosen() -> None:
    offered = [c for c in CHOICES if c.payload != "PE-JUN"]
    read = resolve_region("huancayo", offered, match_option("huancayo", offered))
    assert read.payload != "PE-JUN"


@pytest.mark.parametrize(
    ("text", "regions"),
    [
        ("maria flores", set()),  # the district María (Amazonas) inside a person's name
        ("soy rosa del carmen", set()),
        ("santa rosa", set()),  # not the province Santa either
        ("vivo en miraflores", {"PE-ARE", "PE-HUC", "PE-LMA", "PE-LIM"}),  # cued: a place
        ("trabajo en san juan de lurigancho", {"PE-LMA"}),
        ("huancayo", {"PE-JUN"}),  # a province counts without a cue
        ("me despidieron en huancallo", {"PE-JUN"}),
    ],
)
def test_free_words_name_a_district_only_after_a_word_that_introduces_a_place(
    text: str, regions: set[str]
) -> None:
    places = gazetteer(("Lima",))
    assert places.regions(text, cued=True) == regions
    assert places.regions("maria flores") == {"PE-AMA"}  # the answer to «¿en qué región?»
