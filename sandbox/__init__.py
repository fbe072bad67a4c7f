"""A local CRM for tests and demos that speaks the HubSpot and Salesforce subsets we use.

It is not a CRM: one org in memory, no persistence, no users or permissions beyond one token and
one session id. It exists so the real client libraries can be exercised over real HTTP (and TLS)
with the CRMs' paging, limits, error bodies and failure modes. See docs/sandbox.md.
"""
