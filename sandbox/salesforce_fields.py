"""The territory custom fields on Account, read from the metadata an admin deploys.

The sandbox "deploys" what docs/salesforce/ ships (the `.field-meta.xml` files), never the
connector's own list: a field name the connector gets wrong then fails against the sandbox as
it would against a real org, instead of agreeing with itself. A source checkout reads the
files in docs/salesforce/; the wheel carries the same files inside this package
(`[tool.hatch.build.targets.wheel.force-include]` in pyproject.toml).
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

CustomFieldType = Literal["string", "date", "datetime", "boolean"]

# Where the metadata lives, relative to this package: inside it in a wheel, beside it in a
# source checkout. The wheel's path is pyproject.toml's force-include target; a test keeps
# the two in step.
PACKAGED_FIELDS: Final = "salesforce_metadata/objects/Account/fields"
CHECKOUT_FIELDS: Final = "docs/salesforce/force-app/main/default/objects/Account/fields"
_NAMESPACE: Final = "{http://soap.sforce.com/2006/04/metadata}"
# Metadata API field types -> the REST API's describe types.
_TYPES: Final[dict[str, CustomFieldType]] = {
    "Text": "string",
    "Date": "date",
    "DateTime": "datetime",
    "Checkbox": "boolean",
}


class FieldMetadataError(Exception):
    """The shipped field metadata is missing or holds a field the sandbox cannot serve."""


@dataclass(frozen=True, slots=True)
class CustomField:
    """One deployed custom field: API name, describe type, label, length (text only)."""

    name: str
    type: CustomFieldType
    label: str
    length: int | None = None


def fields_directory() -> Path:
    """The directory of Account's `.field-meta.xml` files (packaged first, then checkout)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / PACKAGED_FIELDS, here.parent / CHECKOUT_FIELDS):
        if candidate.is_dir():
            return candidate
    raise FieldMetadataError(
        f"the Salesforce field metadata is missing: neither {here / PACKAGED_FIELDS} nor "
        f"{here.parent / CHECKOUT_FIELDS} exists (reinstall territory-sync)"
    )


@functools.cache
def territory_fields() -> dict[str, CustomField]:
    """API name -> field, for every `.field-meta.xml` shipped (read once)."""
    found: dict[str, CustomField] = {}
    for path in sorted(fields_directory().glob("*.field-meta.xml")):
        field = read_field(path)
        found[field.name] = field
    return found


def read_field(path: Path) -> CustomField:
    """One `.field-meta.xml` file as a field; FieldMetadataError naming the file otherwise."""
    # Our own shipped files, not input from outside: the standard parser is safe here.
    root = ET.parse(path).getroot()  # noqa: S314 - our shipped metadata

    def text(tag: str) -> str | None:
        element = root.find(_NAMESPACE + tag)
        return None if element is None or element.text is None else element.text.strip()

    name, kind, label, length = text("fullName"), text("type"), text("label"), text("length")
    field_type = _TYPES.get(kind or "")
    if not name or field_type is None or not label:
        raise FieldMetadataError(
            f"{path}: expected fullName, label and a type among {', '.join(_TYPES)}"
        )
    return CustomField(name, field_type, label, int(length) if length else None)
