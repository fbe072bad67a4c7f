"""`/crm/v3/properties/companies`: read the catalogue, create custom properties and groups.

Created properties land in `Sandbox.custom_properties`, so writes and searches (through the
portal's catalogue) type their values from then on.
"""

from __future__ import annotations

import re
from typing import Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.hubspot.errors import bad_request, error_response
from sandbox.hubspot.portal import Portal
from sandbox.hubspot.values import BUILTIN_GROUPS, Json, property_definition
from sandbox.hubspot.wire import bool_param, object_list, text_of, whole_number_of

_PROPERTY_NAME: Final = re.compile(r"^[a-z][a-z0-9_]*$")
# Property type -> the field types HubSpot accepts with it.
_FIELD_TYPES: Final = {
    "string": {"text", "textarea", "html", "phonenumber", "file"},
    "number": {"number", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox"},
    "bool": {"booleancheckbox"},
}


class PropertyHandlers:
    """Company properties and property groups of one portal."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.groups: dict[str, str] = dict(BUILTIN_GROUPS)

    def list_properties(self, request: Request, _: Json) -> Response:
        archived = bool_param(request.query_params, "archived")
        catalogue = self.portal.catalogue()
        found = [] if archived else sorted(catalogue.values(), key=lambda p: p["name"])
        return JSONResponse({"results": found})

    def get_property(self, request: Request, _: Json) -> Response:
        name = request.path_params["propertyName"]
        definition = self.portal.catalogue().get(name)
        if definition is None:
            return error_response(404, "OBJECT_NOT_FOUND", f"Unable to find property {name}")
        return JSONResponse(definition)

    def create_property(self, request: Request, body: Json) -> Response:
        name, kind = text_of(body, "name"), text_of(body, "type")
        field_type, group = text_of(body, "fieldType"), text_of(body, "groupName")
        label, description = text_of(body, "label"), text_of(body, "description")
        if not _PROPERTY_NAME.match(name) or not label:
            raise bad_request(f"Property name {name!r} or label {label!r} is not valid")
        if field_type not in _FIELD_TYPES.get(kind, ()):
            raise bad_request(f"fieldType {field_type!r} is not valid for type {kind!r}")
        if group not in self.groups:
            raise bad_request(f"Property group {group!r} does not exist")
        if name in self.portal.catalogue():
            return error_response(
                409, "OBJECT_ALREADY_EXISTS", f"Property named '{name}' already exists."
            )
        options = [_option(o) for o in object_list(body.get("options"), "options")]
        definition = property_definition(
            name,
            label,
            kind,
            field_type,
            group=group,
            hubspot_defined=False,
            options=options,
            description=description,
        )
        self.portal.sandbox.custom_properties[name] = definition
        return JSONResponse(definition, status_code=201)

    def list_groups(self, _: Request, __: Json) -> Response:
        results = [
            {"name": n, "label": label, "displayOrder": -1, "archived": False}
            for n, label in sorted(self.groups.items())
        ]
        return JSONResponse({"results": results})

    def create_group(self, request: Request, body: Json) -> Response:
        name, label = text_of(body, "name"), text_of(body, "label")
        order = whole_number_of(body, "displayOrder", -1)
        if not _PROPERTY_NAME.match(name) or not label:
            raise bad_request(f"Property group name {name!r} or label {label!r} is not valid")
        if name in self.groups:
            return error_response(
                409, "OBJECT_ALREADY_EXISTS", f"Property group named '{name}' already exists."
            )
        self.groups[name] = label
        return JSONResponse(
            {"name": name, "label": label, "displayOrder": order, "archived": False},
            status_code=201,
        )


def _option(option: Json) -> Json:
    """An enumeration option as HubSpot stores it: label and value text, order, hidden."""
    label, value = text_of(option, "label"), text_of(option, "value")
    if not label or not value:
        raise bad_request("options[]: every option needs a label and a value")
    hidden = option.get("hidden", False)
    if not isinstance(hidden, bool):
        raise bad_request("options[].hidden: expected true or false")
    return {
        "label": label,
        "value": value,
        "description": text_of(option, "description"),
        "displayOrder": whole_number_of(option, "displayOrder", -1),
        "hidden": hidden,
    }
