"""Where she is, offline: a city, regency or postcode resolved from the table we ship
(``data/places_id.csv``, its source and licence in its header), and the nearest active centre
of a study by great-circle distance. No outside service is ever asked."""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from trialdesk.accounts.models import Site
from trialdesk.studies.registry import get_protocol

TABLE = Path(__file__).parent / "data" / "places_id.csv"
EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)
POSTCODE = re.compile(r"^\d{5}$")


@dataclass(frozen=True)
class Place:
    name: str
    kind: str
    province: str
    latitude: float
    longitude: float


def _key(text: str) -> str:
    text = re.sub(r"\s+", " ", text.strip().casefold().replace(".", ". ")).strip()
    return re.sub(r"\s+", " ", text)


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, Place], list[tuple[str, Place]]]:
    by_name: dict[str, Place] = {}
    prefixes: list[tuple[str, Place]] = []
    lines = [ln for ln in TABLE.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    for row in csv.DictReader(lines):
        names = row["names"].split("|")
        place = Place(
            names[0], row["kind"], row["province"], float(row["latitude"]), float(row["longitude"])
        )
        for name in names:
            by_name.setdefault(_key(name), place)  # first row wins: "Bandung" is the city
        prefixes += [(p, place) for p in row["postcodes"].split("|") if p]
    prefixes.sort(key=lambda item: -len(item[0]))
    return by_name, prefixes


def places() -> list[Place]:
    return sorted(set(_table()[0].values()), key=lambda p: p.name)


def resolve(text: str) -> Place | None:
    """The place named by ``text`` (a city or regency, any case), or holding the 5-digit
    postcode ``text`` (longest prefix); None if the table does not know it."""
    text = text.strip()
    by_name, prefixes = _table()
    if POSTCODE.match(text):
        return next((place for prefix, place in prefixes if text.startswith(prefix)), None)
    return by_name.get(_key(text))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def active_centres(study_code: str) -> list[tuple[Site, float, float]]:
    """The study's active sites with their coordinates from the protocol (a site must be
    active both in the protocol and in the database)."""
    specs = {spec.code: spec for spec in get_protocol(study_code).sites.values()}
    out = []
    for site in Site.objects.filter(study_id=study_code, active=True).order_by("code"):
        spec = specs.get(site.code)
        if spec is not None and spec.active:
            out.append((site, spec.latitude, spec.longitude))
    return out


def nearest_centre(study_code: str, latitude: float, longitude: float):
    """(site, km) of the study's nearest active centre, or None when it has none."""
    best = None
    for site, lat, lon in active_centres(study_code):
        km = distance_km(latitude, longitude, lat, lon)
        if best is None or km < best[1]:
            best = (site, km)
    return best


def same_province(a: str, b: str) -> bool:
    """Do two place names (a region she typed, a site's city) lie in the same province?"""
    pa, pb = resolve(a), resolve(b)
    return pa is not None and pb is not None and pa.province == pb.province
