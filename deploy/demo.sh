#!/usr/bin/env bash
# The demo on the embedded default: a sample org planned from CSV, then the same org served by
# the sandbox CRM and planned through the HubSpot and Salesforce APIs. No credentials, nothing
# to start by hand: the sandbox runs for the demo's duration on free local ports.
# Usage: deploy/demo.sh [DIR]   (make demo)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-demo}
territory=.venv/bin/territory
as_of=2027-01-04

echo "== territory sample: a synthetic org of 5,000 companies and 40 reps"
# --force: a second `make demo` writes over the first one's sample in the same directory.
"$territory" sample --accounts 5000 --reps 40 --seed 7 --flavour hubspot --out "$dir" --force

echo
echo "== territory validate: the rule file, then the rule file against the org's data"
"$territory" validate "$dir/rules.yaml"
"$territory" validate "$dir/rules.yaml" --source "csv:$dir"

echo
echo "== territory plan: coverage map, team balance and gap analysis"
"$territory" plan --rules "$dir/rules.yaml" --source "csv:$dir" --as-of "$as_of" \
  --out "$dir/plan.json" --allow-large-change

# Explain the first account a departed rep's book hands to a team (it shows the candidates);
# otherwise the first change, otherwise the first account.
account=$(.venv/bin/python -c '
import json, sys
plan = json.load(open(sys.argv[1]))
departed = [c for c in plan["changes"] if c["reason"] == "departed" and c["to_owner_id"]]
rows = departed or plan["changes"] or plan["assignments"]
print(rows[0]["account_id"] if rows else "")
' "$dir/plan.json")
if [ -n "$account" ]; then
  echo
  echo "== territory explain $account"
  "$territory" explain "$account" --plan "$dir/plan.json"
fi

echo
echo "== territory sandbox serve: the same org behind the HubSpot and Salesforce APIs"
info="$dir/sandbox.json"
"$territory" sandbox serve --data "$dir" --tls-dir "$dir/sandbox-tls" >"$info" 2>/dev/null &
sandbox_pid=$!
trap 'kill "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$info" ] && break; sleep 0.1; done
field() { .venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$info" "$1"; }
export TERRITORY_HUBSPOT_BASE_URL=$(field hubspot_url)
export TERRITORY_HUBSPOT_TOKEN=$(field hubspot_token)
export TERRITORY_SALESFORCE_INSTANCE_URL=$(field salesforce_url)
export TERRITORY_SALESFORCE_SESSION_ID=$(field salesforce_session_id)
export TERRITORY_SALESFORCE_CA_BUNDLE=$(field ca_cert)
echo "HubSpot at $TERRITORY_HUBSPOT_BASE_URL, Salesforce at $TERRITORY_SALESFORCE_INSTANCE_URL"

echo
echo "== territory plan --source hubspot (the same plan, read through HubSpot's API)"
"$territory" plan --rules "$dir/rules.yaml" --source hubspot --as-of "$as_of" \
  --out "$dir/plan-hubspot.json" --allow-large-change --format md | tail -n 3
if cmp -s "$dir/plan.json" "$dir/plan-hubspot.json"; then
  echo "plan-hubspot.json is byte-identical to plan.json (planned from the CSV files)"
else
  echo "plan-hubspot.json differs from plan.json" >&2
  exit 1
fi

echo
echo "== territory plan --source salesforce (Salesforce ids, the same assignments)"
"$territory" plan --rules "$dir/rules.yaml" --source salesforce --as-of "$as_of" \
  --out "$dir/plan-salesforce.json" --allow-large-change --format md | tail -n 3
