"""Companies: list, get and batch read, and the writes (single and batch update).

A write is validated whole before anything is applied: one invalid value refuses the request
(400, nothing applied) as HubSpot does, while a missing record or an injected failure fails
alone in a 207.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.hubspot.errors import (
    bad_request,
    batch_error,
    error_response,
    invalid_properties,
    objects_not_found,
    property_problem,
)
from sandbox.hubspot.portal import Portal
from sandbox.hubspot.values import COLUMN_BY_PROPERTY, LOCK_PROPERTY, Json, value_problem
from sandbox.hubspot.wire import (
    BATCH_LIMIT,
    LIST_LIMIT,
    batch_read_response,
    batch_response,
    bool_param,
    input_ids,
    int_param,
    names_param,
    paging,
    properties_of,
    property_names,
    scalar_text,
)
from sandbox.org import SIGNAL_PREFIX, Company


class CompanyHandlers:
    """`/crm/v3/objects/companies` but search (see `search`)."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.org = portal.org

    # ---- reads ------------------------------------------------------------------------------

    def list_companies(self, request: Request, _: Json) -> Response:
        params = request.query_params
        limit = int_param(params, "limit", 10, LIST_LIMIT)
        cursor = params.get("after")
        if cursor is not None and not cursor.isdigit():
            raise bad_request(f"after: {cursor!r} is not a valid paging cursor")
        companies, after = self.portal.company_page(
            archived=bool_param(params, "archived"),
            after=int(cursor) if cursor else None,
            limit=limit,
        )
        names = names_param(params, "properties")
        results = [self.portal.company_json(c, names) for c in companies]
        return JSONResponse({"results": results, **paging(request, after)})

    def get_company(self, request: Request, _: Json) -> Response:
        company = self.org.by_hubspot.get(request.path_params["companyId"])
        archived = bool_param(request.query_params, "archived")
        if company is None or company.archived != archived:
            return error_response(404, "OBJECT_NOT_FOUND", "resource not found")
        names = names_param(request.query_params, "properties")
        return JSONResponse(self.portal.company_json(company, names))

    def batch_read_companies(self, request: Request, body: Json) -> Response:
        ids = input_ids(body, BATCH_LIMIT)
        archived = bool_param(request.query_params, "archived")
        id_property = scalar_text(body.get("idProperty"), "idProperty")
        found = self._companies_by(id_property, ids, archived=archived)
        names = property_names(body)
        return batch_read_response(
            ids, found, lambda c: self.portal.company_json(c, names), "COMPANY"
        )

    def _companies_by(
        self, id_property: str | None, ids: list[str], *, archived: bool
    ) -> dict[str, Company]:
        """Input id -> company, by record id or by the value of a unique `idProperty`."""
        if id_property in {None, "", "hs_object_id"}:
            found = {i: self.org.by_hubspot.get(i) for i in ids}
        else:
            name = id_property
            wanted = set(ids)
            found = {}
            for company in self.portal.companies_where(archived=archived):
                value = self.portal.company_value(company, name)
                if value in wanted:
                    found[value] = company
        return {i: c for i, c in found.items() if c is not None and c.archived == archived}

    # ---- writes -----------------------------------------------------------------------------

    def batch_update_companies(self, request: Request, body: Json) -> Response:
        ids = input_ids(body, BATCH_LIMIT)
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise bad_request(f"Duplicate IDs found in batch input: {duplicates}")
        changes = [properties_of(i) for i in body["inputs"]]
        self.validate_changes(changes)
        results: list[Json] = []
        missing: list[str] = []
        failed: list[str] = []
        gate = self.portal.sandbox.gate
        rate = gate.partial_rate("hubspot.companies.batch_update")
        for record_id, change in zip(ids, changes, strict=True):
            company = self.portal.live_company(record_id)
            if company is None:
                missing.append(record_id)
            elif gate.chance(rate):
                failed.append(record_id)
            else:
                self.apply(company, change)
                results.append(self.portal.company_json(company, change))
        errors = []
        if missing:
            errors.append(objects_not_found("COMPANY", missing))
        if failed:
            message = "An internal error occurred while updating these records; try again."
            errors.append(batch_error("INTERNAL_ERROR", message, {"ids": failed}))
        return batch_response(results, errors)

    def update_company(self, request: Request, body: Json) -> Response:
        change = properties_of(body)
        company = self.portal.live_company(request.path_params["companyId"])
        if company is None:
            return error_response(404, "OBJECT_NOT_FOUND", "resource not found")
        self.validate_changes([change])
        self.apply(company, change)
        return JSONResponse(self.portal.company_json(company, change))

    def validate_changes(self, changes: list[dict[str, str]]) -> None:
        """Refuse the whole request (400) when any input has an invalid value: HubSpot applies
        nothing then, and does not say which input it was."""
        catalogue = self.portal.catalogue()
        for change in changes:
            problems = [p for n, v in change.items() if (p := self.problem(catalogue, n, v))]
            if problems:
                raise invalid_properties(problems)

    def problem(self, catalogue: Mapping[str, Json], name: str, value: str) -> Json | None:
        definition = catalogue.get(name)
        if definition is None:
            return property_problem(
                name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'
            )
        if definition["modificationMetadata"]["readOnlyValue"]:
            return property_problem(name, "READ_ONLY_VALUE", f"{name} is a read only property")
        if name == "hubspot_owner_id":
            owner = self.org.users_by_hubspot.get(value)
            if value and (owner is None or not owner.active):
                message = f"{value} is not a valid owner id"
                return property_problem(name, "INVALID_OWNER_ID", message)
            return None
        code = value_problem(definition, value)
        if code is not None:
            return property_problem(name, code, f"{value!r} is not a valid value for {name}")
        return None

    def apply(self, company: Company, change: Mapping[str, str]) -> None:
        for name, value in change.items():
            column = COLUMN_BY_PROPERTY.get(name)
            if column is not None:
                company.values[column] = value
            elif name == LOCK_PROPERTY:
                company.locked = value == "true"
            elif name in self.portal.sandbox.custom_properties:
                company.territory[name] = value
            elif name != "hubspot_owner_id":  # a signal date
                signal = name[len("last_") : -len("_date")]
                company.values[SIGNAL_PREFIX + signal] = value
        if "hubspot_owner_id" in change:
            owner = self.org.users_by_hubspot.get(change["hubspot_owner_id"])
            self.org.set_owner(company, owner.key if owner else None)
        else:
            self.org.touch(company)
