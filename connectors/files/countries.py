"""Free-text countries ("United States", "USA", "us", "U.S.") to ISO 3166 alpha-2 codes.

pycountry knows the ISO names, codes and common names; the few aliases below are the ones CRM
exports carry that it lacks. Lookups are cached: a file repeats a few hundred distinct values.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

import pycountry

# Everyday names that are not ISO names, keyed by the cleaned form (see `_clean`).
COMMON_ALIASES: Final[dict[str, str]] = {
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "america": "US",
    "united states of america": "US",
    "russia": "RU",
    "turkey": "TR",
    "holland": "NL",
    "uae": "AE",
    "ivory coast": "CI",
    "macedonia": "MK",
    "swaziland": "SZ",
    "burma": "MM",
    "brunei": "BN",
    "cape verde": "CV",
    "east timor": "TL",
    "vatican": "VA",
    "vatican city": "VA",
    "holy see": "VA",
    "palestine": "PS",
    "bosnia": "BA",
    "micronesia": "FM",
    "korea": "KR",
    "republic of korea": "KR",
    "dr congo": "CD",
    "drc": "CD",
    "democratic republic of the congo": "CD",
    "congo-kinshasa": "CD",
    "congo-brazzaville": "CG",
    "falkland islands": "FK",
    "reunion": "RE",
    "macau": "MO",
}

_SPACES = re.compile(r"\s+")


def _clean(raw: str) -> str:
    """Lower-case, drop dots ("U.S." -> "us"), collapse spaces, drop a leading "the"."""
    text = _SPACES.sub(" ", raw.replace(".", " ").replace("&", " and ")).strip().lower()
    text = text.removeprefix("the ")
    if text.startswith("st "):
        text = "saint " + text[3:]
    # "U S" (from "U.S.") and "U S A" read as initials.
    if all(len(part) == 1 for part in text.split(" ")):
        text = text.replace(" ", "")
    return text


def _fold(text: str) -> str:
    """Strip accents so "Cote d'Ivoire" meets pycountry's "Côte d'Ivoire"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=1)
def _folded_names() -> dict[str, str]:
    """Accent-folded pycountry names -> alpha-2, built once from pycountry itself."""
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attribute in ("name", "official_name", "common_name"):
            value = getattr(country, attribute, None)
            if value:
                names.setdefault(_fold(_clean(value)), country.alpha_2)
    return names


@lru_cache(maxsize=4096)
def country_code(raw: str) -> str | None:
    """Return the ISO 3166 alpha-2 code for a free-text country, or None if none matches."""
    text = _clean(raw)
    if not text:
        return None
    # The raw text first: some ISO names carry dots ("Virgin Islands, U.S.").
    for candidate in (raw.strip(), text):
        try:
            code: str = pycountry.countries.lookup(candidate).alpha_2
        except LookupError:
            continue
        return code
    alias = COMMON_ALIASES.get(text)
    if alias is not None:
        return alias
    return _folded_names().get(_fold(text))
