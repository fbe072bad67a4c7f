#!/usr/bin/env bash
# The demo on the embedded default: a sample org planned from CSV, no credentials, no servers.
# Usage: deploy/demo.sh [DIR]   (make demo)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-demo}
territory=.venv/bin/territory
as_of=2027-01-04

echo "== territory sample: a synthetic org of 5,000 companies and 40 reps"
"$territory" sample --accounts 5000 --reps 40 --seed 7 --flavour hubspot --out "$dir"

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
