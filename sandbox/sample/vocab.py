"""Vocabularies of the synthetic org: what each CRM flavour calls an industry, a stage, a country.

Every category is drawn once as a canonical code (an index into the tuples below) and only
then spelled in a flavour's words, so the three flavours of one seed describe the same org.
A code's spellings are picked by a variant draw in 0..VARIANTS-1 (`spelling[v % len]`), so a
spelling listed twice is drawn twice as often.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import numpy.typing as npt

Flavour = Literal["canonical", "hubspot", "salesforce"]
FLAVOURS: Final[tuple[Flavour, ...]] = ("canonical", "hubspot", "salesforce")

# Every spelling tuple's length divides this, so `variant % len` picks each one evenly.
VARIANTS: Final = 12

# Canonical industry values the generated rule file tests; the CRM spellings below map to them.
INDUSTRIES: Final = (
    "software",
    "fintech",
    "logistics",
    "healthcare",
    "retail",
    "manufacturing",
    "education",
    "media",
)
INDUSTRY_WEIGHTS: Final = (0.22, 0.12, 0.10, 0.12, 0.14, 0.16, 0.06, 0.08)
# Revenue per employee differs by industry; this scales the lognormal draw.
INDUSTRY_REVENUE_FACTOR: Final = (1.3, 1.6, 0.9, 0.8, 0.7, 1.0, 0.5, 0.9)

_HUBSPOT_INDUSTRIES: Final = (
    ("COMPUTER_SOFTWARE", "INFORMATION_TECHNOLOGY_AND_SERVICES"),
    ("FINANCIAL_SERVICES", "BANKING"),
    ("LOGISTICS_AND_SUPPLY_CHAIN", "TRANSPORTATION_TRUCKING_RAILROAD"),
    ("HOSPITAL_HEALTH_CARE", "MEDICAL_DEVICES"),
    ("RETAIL", "CONSUMER_GOODS"),
    ("MACHINERY", "INDUSTRIAL_AUTOMATION"),
    ("EDUCATION_MANAGEMENT", "HIGHER_EDUCATION"),
    ("MARKETING_AND_ADVERTISING", "ONLINE_MEDIA"),
)
_SALESFORCE_INDUSTRIES: Final = (
    ("Technology",),
    ("Finance", "Banking"),
    ("Transportation", "Shipping"),
    ("Healthcare",),
    ("Retail",),
    ("Manufacturing", "Machinery"),
    ("Education",),
    ("Media",),
)

# Canonical lifecycle codes: 0 customer, 1 prospect.
LIFECYCLES: Final = ("customer", "prospect")
_HUBSPOT_LIFECYCLES: Final = (
    ("customer", "customer", "customer", "evangelist"),
    ("lead", "lead", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity"),
)
_SALESFORCE_LIFECYCLES: Final = (
    ("Customer - Direct", "Customer - Direct", "Customer - Channel"),
    ("Prospect",),
)

# ISO code, region (None: in no region of the rule file, so it falls through to the catch-all),
# share of accounts, English name(s) as CRMs hold them as free text. Every name resolves with
# pycountry; "UK" does not, so it is deliberately absent.
COUNTRIES: Final = (
    ("US", "NA", 0.44, ("United States",) * 5 + ("USA",)),
    ("CA", "NA", 0.08, ("Canada",)),
    ("GB", "EMEA", 0.10, ("United Kingdom",)),
    ("DE", "EMEA", 0.08, ("Germany",)),
    ("FR", "EMEA", 0.055, ("France",)),
    ("NL", "EMEA", 0.035, ("Netherlands",)),
    ("SE", "EMEA", 0.025, ("Sweden",)),
    ("IE", "EMEA", 0.02, ("Ireland",)),
    ("ES", "EMEA", 0.025, ("Spain",)),
    ("IT", "EMEA", 0.02, ("Italy",)),
    ("NO", "EMEA", 0.01, ("Norway",)),
    ("AU", None, 0.055, ("Australia",)),
    ("JP", None, 0.035, ("Japan",)),
    ("SG", None, 0.02, ("Singapore",)),
)
REGIONS: Final = ("NA", "EMEA")

# Legal-form suffix by country (same order as COUNTRIES), shown on part of the names.
_LEGAL_FORMS: Final = (
    "Inc.", "Ltd.", "Ltd", "GmbH", "SAS", "B.V.", "AB", "Ltd", "S.L.", "S.r.l.", "AS",
    "Pty Ltd", "K.K.", "Pte. Ltd.",
)  # fmt: skip

# Second word of a company name, by industry (same order as INDUSTRIES).
_NAME_WORDS: Final = (
    ("Software", "Labs", "Systems", "Cloud", "Technologies", "AI"),
    ("Pay", "Capital", "Financial", "Ledger", "Bank", "Finance"),
    ("Logistics", "Freight", "Shipping", "Transport", "Cargo", "Supply"),
    ("Health", "Medical", "Care", "Clinics", "Bio", "Diagnostics"),
    ("Retail", "Stores", "Market", "Goods", "Outfitters", "Brands"),
    ("Industries", "Manufacturing", "Machines", "Works", "Robotics", "Components"),
    ("Learning", "Academy", "Education", "Schools", "Tutors", "Campus"),
    ("Media", "Studios", "Digital", "Publishing", "Creative", "Ads"),
)

# Intent signals in rule-file order; the companies file has one `signal_<name>` column each.
SIGNALS: Final = ("funding", "hiring", "leadership_change", "tech_adoption", "rfp", "product_usage")
SIGNAL_WEIGHTS: Final = (0.20, 0.30, 0.12, 0.18, 0.06, 0.14)

ACTIVITY_TYPES: Final = ("call", "email", "meeting", "task")
ACTIVITY_WEIGHTS: Final = (0.30, 0.45, 0.15, 0.10)

# Two-letter consonant-vowel syllables: fixed width makes every syllable string decode one
# way, so distinct syllable sequences are distinct names and domains.
_CONSONANTS: Final = "bdfgklmnprstvz"
_VOWELS: Final = "aeiou"
SYLLABLES: Final = tuple(c + v for c in _CONSONANTS for v in _VOWELS)

FIRST_NAMES: Final = (
    "ana", "ben", "chloe", "dmitri", "eve", "finn", "gus", "hana", "ivan", "julia", "karim",
    "lena", "marco", "nina", "omar", "priya", "quinn", "rosa", "sven", "tara", "ugo", "vera",
    "wes", "xenia", "yusuf", "zoe", "aiko", "bruno", "carla", "diego", "elif", "felix", "greta",
    "hugo", "ines", "jonas", "kofi", "lucia", "mateo", "noor",
)  # fmt: skip
LAST_NAMES: Final = (
    "adler", "berg", "costa", "dubois", "eriksen", "fischer", "garcia", "hansen", "ito",
    "jensen", "kowalski", "larsen", "moreau", "novak", "okafor", "petrov", "quist", "rossi",
    "schmidt", "tanaka", "ueda", "varga", "weber", "xu", "yilmaz", "zeller", "alvarez", "brandt",
    "carter", "dekker", "evans", "fournier", "gruber", "horvat", "ibarra", "janssen", "kim",
    "lindqvist", "murphy", "nakamura",
)  # fmt: skip

ObjectArray = npt.NDArray[np.object_]


def spelling_table(
    flavour: Flavour, kind: Literal["industry", "lifecycle", "country"]
) -> ObjectArray:
    """Return a (codes, VARIANTS) table of strings: `table[code, variant]` spells a value."""
    spellings: tuple[tuple[str, ...], ...]
    if kind == "industry":
        spellings = {
            "canonical": tuple((name,) for name in INDUSTRIES),
            "hubspot": _HUBSPOT_INDUSTRIES,
            "salesforce": _SALESFORCE_INDUSTRIES,
        }[flavour]
    elif kind == "lifecycle":
        spellings = {
            "canonical": tuple((name,) for name in LIFECYCLES),
            "hubspot": _HUBSPOT_LIFECYCLES,
            "salesforce": _SALESFORCE_LIFECYCLES,
        }[flavour]
    elif flavour == "canonical":
        spellings = tuple((code,) for code, _, _, _ in COUNTRIES)
    else:
        spellings = tuple(names for _, _, _, names in COUNTRIES)
    table = np.empty((len(spellings), VARIANTS), dtype=object)
    for code, options in enumerate(spellings):
        assert VARIANTS % len(options) == 0, options
        for variant in range(VARIANTS):
            table[code, variant] = options[variant % len(options)]
    return table


def value_mappings() -> dict[str, dict[str, dict[str, str]]]:
    """Return field -> CRM -> {CRM spelling: canonical value} for the `values:` section.

    Both CRMs' tables, whatever the flavour, as in the reference rule file: one rule file
    then serves a HubSpot or a Salesforce pull, and the canonical values a canonical export
    holds are known mapping targets rather than unmapped text.
    """
    crms = {
        "hubspot": (_HUBSPOT_INDUSTRIES, _HUBSPOT_LIFECYCLES),
        "salesforce": (_SALESFORCE_INDUSTRIES, _SALESFORCE_LIFECYCLES),
    }
    return {
        "industry": {
            crm: {raw: INDUSTRIES[code] for code, names in enumerate(ind) for raw in names}
            for crm, (ind, _) in crms.items()
        },
        "lifecycle": {
            crm: {raw: LIFECYCLES[code] for code, names in enumerate(life) for raw in names}
            for crm, (_, life) in crms.items()
        },
    }


def name_word_table() -> ObjectArray:
    """Return a (industries, 6) table of second name words, each with a leading space."""
    table = np.empty((len(_NAME_WORDS), 6), dtype=object)
    for code, words in enumerate(_NAME_WORDS):
        table[code] = [" " + word for word in words]
    return table


def legal_form_table() -> ObjectArray:
    """Return legal-form suffixes by country code, each with a leading space."""
    return np.array([" " + form for form in _LEGAL_FORMS], dtype=object)


def country_shares() -> npt.NDArray[np.float64]:
    """Return each country's share of accounts, in COUNTRIES order, summing to 1."""
    shares = np.array([share for _, _, share, _ in COUNTRIES], dtype=np.float64)
    normalised: npt.NDArray[np.float64] = shares / shares.sum()
    return normalised


def country_regions() -> npt.NDArray[np.int8]:
    """Return each country's region as an index into REGIONS, or -1 for no region."""
    return np.array(
        [REGIONS.index(region) if region else -1 for _, region, _, _ in COUNTRIES], dtype=np.int8
    )
