"""The HubSpot API subset the sandbox serves: CRM v3 objects, search, batch, owners, properties,
notes and v4 associations, with HubSpot's paging, limits, error bodies and value formats.

It is faithful rather than convenient, so a client that works here has met the awkward parts of
the real API: cursors that must be followed to the end, a search that caps at `search_cap`
results and lags behind edits, batch writes that answer 207 per record or refuse the whole batch
for one bad input, owners that vanish from the default listing when deactivated, and 401/403
bodies that name what is missing.

Value formats (clients must parse all of them):
- Every property value is a string or null. An empty value is null on records with an even id
  and "" on odd ids: HubSpot sends both, so a client has to treat them alike.
- Datetime properties (`createdate`, `hs_lastmodifieddate`, `notes_last_contacted`,
  `notes_last_updated`, `hs_timestamp`): ISO 8601 UTC with milliseconds,
  `2026-01-05T09:00:00.000Z`. `hs_last_sales_activity_timestamp` comes as epoch milliseconds
  (`1767603600000`), as some HubSpot timestamps do.
- Date properties (`last_<signal>_date`, custom `date` properties): `YYYY-MM-DD`.
- `hubspot_owner_id` holds the owner's `id` (never its `userId`); `hs_parent_company_id` the
  parent's company id.

Simplifications, each chosen so that a client cannot come to depend on them:
- Search lag: a company whose latest edit is not yet indexed (`searchable_at` in the future) is
  left out of search results entirely, instead of being served in its previous state.
- Built-in enumerations (industry, lifecycle stage) accept any value; custom properties are
  validated by type. An owner id is valid only for an active owner.
- Activity objects (calls, emails, meetings, tasks) need no scope of their own.
- Notes do not bump their company's `hs_lastmodifieddate`.

Layout: `api` holds the route table (every endpoint and its gate name) and the auth guard; one
module a resource (`companies`, `search`, `owners`, `notes`, `activities`, `associations`,
`properties`) holds its handlers; `portal` is the org as those handlers share it; `wire`,
`values` and `errors` are how requests are read and answers, values and error bodies shaped.
"""

from __future__ import annotations

from sandbox.hubspot.api import routes

__all__ = ["routes"]
