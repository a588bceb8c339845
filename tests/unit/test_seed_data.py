"""Consistency checks for the YAML seed data in core/data."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import holidays
import pytest
import yaml
from dateutil.easter import easter

import core
from core.models import Modality, ServiceKind

DATA = Path(core.__file__).parent / "data"
LANGS = ("es", "en", "qu")
YEARS = (2026, 2027)

# The 26 regional labour directorates (ISO 3166-2:PE codes, as in core/data/tenants.yaml).
DOMAIN_TENANT_CODES = {
    "PE-AMA", "PE-ANC", "PE-APU", "PE-ARE", "PE-AYA", "PE-CAJ", "PE-CAL", "PE-CUS", "PE-HUV",
    "PE-HUC", "PE-ICA", "PE-JUN", "PE-LAL", "PE-LAM", "PE-LIM", "PE-LMA", "PE-LOR", "PE-MDD",
    "PE-MOQ", "PE-PAS", "PE-PIU", "PE-PUN", "PE-SAM", "PE-TAC", "PE-TUM", "PE-UCA",
}  # fmt: skip

# Peru's bounding box (a little generous at the edges).
LAT_RANGE = (-18.4, 0.0)
LON_RANGE = (-81.4, -68.6)

KEYWORD = re.compile(r"[a-z0-9]+")
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

# Which services a citizen who writes the word expects to be offered: exactly these.
EXPECTED_KEYWORD_SERVICES = {
    "despido": {"consultas-laborales", "patrocinio-judicial-gratuito"},
    "cts": {"liquidacion-beneficios-sociales", "conciliacion-administrativa"},
    "gratificacion": {"liquidacion-beneficios-sociales", "conciliacion-administrativa"},
}

EXPECTED_POPULAR = {
    1: "consultas-laborales",
    2: "patrocinio-judicial-gratuito",
    3: "liquidacion-beneficios-sociales",
    4: "conciliacion-administrativa",
    5: "bolsa-de-trabajo",
}


@cache
def _load(name: str) -> Any:
    with (DATA / name).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def tenants() -> list[dict[str, Any]]:
    data = _load("tenants.yaml")
    assert isinstance(data, list)
    return data


def catalogue() -> dict[str, Any]:
    data = _load("services.yaml")
    assert isinstance(data, dict)
    return data


def services() -> list[dict[str, Any]]:
    items = catalogue()["services"]
    assert isinstance(items, list)
    return items


def by_code() -> dict[str, dict[str, Any]]:
    return {s["code"]: s for s in services()}


def _duplicates(values: Iterable[str]) -> set[str]:
    return {value for value, count in Counter(values).items() if count > 1}


# --- tenants -------------------------------------------------------------------------------


def test_tenant_codes_are_the_26_directorates() -> None:
    codes = [t["code"] for t in tenants()]
    assert len(codes) == 26
    assert not _duplicates(codes)
    assert all(re.fullmatch(r"PE-[A-Z]{3}", c) for c in codes), codes
    assert set(codes) == DOMAIN_TENANT_CODES, {
        "missing": DOMAIN_TENANT_CODES - set(codes),
        "unexpected": set(codes) - DOMAIN_TENANT_CODES,
    }


@pytest.mark.parametrize("tenant", tenants(), ids=lambda t: str(t["code"]))
def test_tenant_fields(tenant: dict[str, Any]) -> None:
    assert tenant["name"] and tenant["capital"]
    assert tenant["timezone"] == "America/Lima"
    assert tenant["languages"][0] == "es"
    assert set(tenant["languages"]) <= set(LANGS)
    display = tenant["display_name"]
    assert re.fullmatch(
        r"(Dirección|Gerencia) Regional de Trabajo y Promoción del Empleo .+", display
    )
    lat, lon = tenant["latitude"], tenant["longitude"]
    assert isinstance(lat, float) and isinstance(lon, float)
    assert LAT_RANGE[0] <= lat <= LAT_RANGE[1], f"{tenant['code']} latitude {lat} outside Peru"
    assert LON_RANGE[0] <= lon <= LON_RANGE[1], f"{tenant['code']} longitude {lon} outside Peru"


def test_tenant_display_names_from_domain() -> None:
    names = {t["code"]: t["display_name"] for t in tenants()}
    assert names["PE-ARE"] == "Gerencia Regional de Trabajo y Promoción del Empleo de Arequipa"
    assert names["PE-LMA"] == (
        "Dirección Regional de Trabajo y Promoción del Empleo de Lima Metropolitana"
    )


# --- lines and services ----------------------------------------------------------------------


def test_lines() -> None:
    lines = catalogue()["lines"]
    assert [line["code"] for line in lines] == ["dpsc", "empleo", "registros"]
    for line in lines:
        assert all(line["names"].get(lang) for lang in LANGS), line


def test_service_codes_unique() -> None:
    codes = [s["code"] for s in services()]
    assert len(codes) >= 25
    assert len(codes) == 31  # the 30 of the catalogue plus the SUNAFIL redirect
    assert not _duplicates(codes)


@pytest.mark.parametrize("service", services(), ids=lambda s: str(s["code"]))
def test_service_fields(service: dict[str, Any]) -> None:
    line_codes = {line["code"] for line in catalogue()["lines"]}
    assert SLUG.fullmatch(service["code"])
    assert service["line"] in line_codes
    for field in ("names", "descriptions"):
        for lang in LANGS:
            text = service[field].get(lang)
            assert isinstance(text, str) and text.strip(), f"{field}.{lang} missing"
    for lang in LANGS:
        assert len(service["descriptions"][lang]) <= 160, f"description.{lang} too long"
    assert Modality(service["modality"])
    assert ServiceKind(service["kind"])
    assert isinstance(service["virtual"], bool)
    assert isinstance(service["asks_description"], bool)
    duration = service["default_duration_minutes"]
    assert isinstance(duration, int) and duration > 0
    keywords = service["keywords"]
    assert keywords and not _duplicates(keywords)
    bad = [k for k in keywords if not KEYWORD.fullmatch(k)]
    assert not bad, f"keywords must be lowercase ASCII words: {bad}"
    if "info_url" in service:
        assert service["info_url"].startswith("https://www.gob.pe/")
    if "popular_rank" in service:
        assert service["popular_rank"] in range(1, 6)


def test_popular_ranks() -> None:
    ranked = {s["popular_rank"]: s["code"] for s in services() if "popular_rank" in s}
    assert ranked == EXPECTED_POPULAR


def test_kinds_and_modalities() -> None:
    svc = by_code()
    information = {c for c, s in svc.items() if s["kind"] == ServiceKind.INFORMATION}
    assert information == {
        "remype",
        "renocc",
        "registro-accidentes-trabajo-sat",
        "sivitma",
        "reneeil",
        "acceso-informacion-publica",
        "programas-trabaja-impulsa-peru",
        "inspeccion-sunafil",
    }
    assert all(svc[c]["line"] == "registros" for c in information)
    assert svc["capacitacion-laboral"]["kind"] == ServiceKind.GROUP_EVENT
    assert svc["capacitacion-laboral"]["modality"] == Modality.VIDEO
    assert svc["ferias-de-empleo"]["kind"] == ServiceKind.GROUP_EVENT
    assert svc["ferias-de-empleo"]["modality"] == Modality.IN_PERSON
    assert svc["inspeccion-sunafil"]["info_url"] == "https://www.gob.pe/sunafil"
    for code in ("consultas-laborales", "liquidacion-beneficios-sociales"):
        assert svc[code]["asks_description"] is True
    for code in ("conciliacion-administrativa", "patrocinio-judicial-gratuito"):
        assert svc[code]["asks_description"] is True


def test_virtual_marks_follow_domain() -> None:
    svc = by_code()
    in_person = {c for c, s in svc.items() if not s["virtual"]}
    assert in_person == {
        "aprobacion-contratos-extranjeros",
        "certificacion-competencias-laborales",
        "ferias-de-empleo",
    }
    assert all(svc[c]["modality"] == Modality.IN_PERSON for c in in_person)


@pytest.mark.parametrize(("word", "expected"), sorted(EXPECTED_KEYWORD_SERVICES.items()))
def test_keywords_lead_to_the_expected_services(word: str, expected: set[str]) -> None:
    found = {s["code"] for s in services() if word in s["keywords"]}
    assert found == expected, {"missing": expected - found, "unexpected": found - expected}


# --- holidays ------------------------------------------------------------------------------


def test_holiday_entries() -> None:
    entries = _load("holidays.yaml")["holidays"]
    days = [e["date"] for e in entries]
    assert all(isinstance(d, date) for d in days)
    assert len(days) == len(set(days))
    for entry in entries:
        assert entry["name"].get("es") and entry["name"].get("en"), entry


@pytest.mark.parametrize("year", YEARS)
def test_holidays_match_the_holidays_package(year: int) -> None:
    ours = {e["date"]: e["name"]["es"] for e in _load("holidays.yaml")["holidays"]}
    ours_year = {d for d in ours if d.year == year}
    reference = holidays.country_holidays("PE", years=year)  # holidays.Peru
    expected = set(reference) - {easter(year)}
    missing = sorted(expected - ours_year)
    extra = sorted(ours_year - expected)
    assert not missing and not extra, (
        f"{year}: missing {[(d.isoformat(), reference.get(d)) for d in missing]}; "
        f"not in holidays.Peru {[(d.isoformat(), ours[d]) for d in extra]}"
    )


def test_holy_week_dates_from_domain() -> None:
    days = {e["date"] for e in _load("holidays.yaml")["holidays"]}
    for day in (date(2026, 4, 2), date(2026, 4, 3), date(2027, 3, 25), date(2027, 3, 26)):
        assert day in days
    for year in YEARS:
        assert easter(year) not in days
