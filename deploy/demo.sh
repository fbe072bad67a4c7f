#!/usr/bin/env bash
# The demo on the embedded default. First a sample org planned from CSV, then the same org
# served by the sandbox CRM and planned through the HubSpot and Salesforce APIs. Then the
# worker's job, each command doing its work itself (no Redis, no worker to start): the
# sandbox's HubSpot synced into a ledger (an SQLite file in DIR), the rule activated, a plan
# recorded and applied with notes, a rep deactivated in the CRM and their book moved by the next
# sync's departure run, the sandbox's counters showing each record written once and one note per
# change, and a last sync and plan that find nothing new to do. No credentials, nothing to start
# by hand: the sandbox runs for the demo's duration on free local ports and stops with it.
# Usage: deploy/demo.sh [DIR]   (make demo)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-demo}
territory=.venv/bin/territory
python=.venv/bin/python
as_of=2027-01-04
started=$SECONDS

# The demo reads no settings but its own: no credentials, no broker, no ledger of the caller's.
while read -r name; do unset "$name"; done < <(compgen -e | grep '^TERRITORY_' || true)

step() { printf '\n== %s\n' "$*"; }

step "territory sample: a synthetic org of 5,000 companies and 40 reps"
# --force: a second `make demo` writes over the first one's sample in the same directory.
"$territory" sample --accounts 5000 --reps 40 --seed 7 --flavour hubspot --out "$dir" --force

step "territory validate: the rule file, then the rule file against the org's data"
"$territory" validate "$dir/rules.yaml"
"$territory" validate "$dir/rules.yaml" --source "csv:$dir"

step "territory plan: coverage map, team balance and gap analysis"
"$territory" plan --rules "$dir/rules.yaml" --source "csv:$dir" --as-of "$as_of" \
  --out "$dir/plan.json" --allow-large-change

# Explain the first account a departed rep's book hands to a team (it shows the candidates);
# otherwise the first change, otherwise the first account.
account=$("$python" -c '
import json, sys
plan = json.load(open(sys.argv[1]))
departed = [c for c in plan["changes"] if c["reason"] == "departed" and c["to_owner_id"]]
rows = departed or plan["changes"] or plan["assignments"]
print(rows[0]["account_id"] if rows else "")
' "$dir/plan.json")
if [ -n "$account" ]; then
  step "territory explain $account"
  "$territory" explain "$account" --plan "$dir/plan.json"
fi

step "territory sandbox serve: the same org behind the HubSpot and Salesforce APIs"
info="$dir/sandbox.json"
rm -f "$info"
"$territory" sandbox serve --data "$dir" --tls-dir "$dir/sandbox-tls" \
  >"$info" 2>"$dir/sandbox.log" &
sandbox_pid=$!
trap 'kill "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true' EXIT
# Its first stdout line is one JSON object (URLs and credentials); wait for the whole line.
for _ in $(seq 600); do
  grep -q '}' "$info" 2>/dev/null && break
  kill -0 "$sandbox_pid" 2>/dev/null || { cat "$dir/sandbox.log" >&2; exit 1; }
  sleep 0.1
done
grep -q '}' "$info" || { echo "the sandbox did not start within 60 s" >&2; exit 1; }
field() {
  "$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$info" "$1"
}
# Assigned first, exported after: `export X=$(...)` would hide a failing lookup from `set -e`.
TERRITORY_HUBSPOT_BASE_URL=$(field hubspot_url)
TERRITORY_HUBSPOT_TOKEN=$(field hubspot_token)
TERRITORY_SALESFORCE_INSTANCE_URL=$(field salesforce_url)
TERRITORY_SALESFORCE_SESSION_ID=$(field salesforce_session_id)
TERRITORY_SALESFORCE_CA_BUNDLE=$(field ca_cert)
export TERRITORY_HUBSPOT_BASE_URL TERRITORY_HUBSPOT_TOKEN TERRITORY_SALESFORCE_INSTANCE_URL \
  TERRITORY_SALESFORCE_SESSION_ID TERRITORY_SALESFORCE_CA_BUNDLE
control_url=$(field control_url)
control_token=$(field control_token)
# control METHOD PATH: the sandbox's control API (JSON answer on stdout).
control() {
  "$python" -c '
import sys, urllib.request
method, path, url, token = sys.argv[1:]
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
body = b"{}" if method == "POST" else None
request = urllib.request.Request(url + path, data=body, headers=headers, method=method)
print(urllib.request.urlopen(request, timeout=30).read().decode())
' "$1" "$2" "$control_url" "$control_token"
}
echo "HubSpot at $TERRITORY_HUBSPOT_BASE_URL, Salesforce at $TERRITORY_SALESFORCE_INSTANCE_URL"

step "territory plan --source hubspot (the same plan, read through HubSpot's API)"
"$territory" plan --rules "$dir/rules.yaml" --source hubspot --as-of "$as_of" \
  --out "$dir/plan-hubspot.json" --allow-large-change --format md | tail -n 3
if cmp -s "$dir/plan.json" "$dir/plan-hubspot.json"; then
  echo "plan-hubspot.json is byte-identical to plan.json (planned from the CSV files)"
else
  echo "plan-hubspot.json differs from plan.json" >&2
  exit 1
fi

step "territory plan --source salesforce (Salesforce ids, the same assignments)"
"$territory" plan --rules "$dir/rules.yaml" --source salesforce --as-of "$as_of" \
  --out "$dir/plan-salesforce.json" --allow-large-change --format md | tail -n 3

# ---- The worker's life, against the sandbox's HubSpot -------------------------------------
# A fresh ledger each time: the sandbox starts from the CSV files again on every run.
ledger="$(cd "$dir" && pwd)/ledger.sqlite3"
rm -f "$ledger" "$ledger-wal" "$ledger-shm"
export TERRITORY_DATABASE_URL="sqlite:///$ledger"

step "territory sync --source hubspot: the CRM mirrored into the ledger ($dir/ledger.sqlite3)"
"$territory" sync --source hubspot

step "territory activate: the rule revision the worker plans from"
"$territory" activate "$dir/rules.yaml"

step "territory plan --source ledger --save: plan the mirror as of today, record the run"
"$territory" plan --source ledger --save --out "$dir/plan-ledger.json" >"$dir/plan-ledger.txt"
sed -n '/^Changes by reason/,$p' "$dir/plan-ledger.txt"

step "territory runs"
"$territory" runs

step "territory apply --dry-run: what a real apply would do (the first 5 of its list)"
"$territory" apply --dry-run --json >"$dir/apply-dry-run.json"
"$python" -c '
import json, sys
rows = json.load(open(sys.argv[1]))["changes"]
line = "%-12s %9s -> %-9s %-17s %-11s %s"
print(line % ("account", "from", "to", "reason", "effective", "action"))
for c in rows[:5]:
    print(line % (c["account_id"], c["from_owner_id"] or "-", c["to_owner_id"] or "-",
                  c["reason"], c["effective_date"], c["action"]))
print("... %d more in %s" % (len(rows) - 5, sys.argv[1]) if len(rows) > 5 else "")
' "$dir/apply-dry-run.json"

step "territory apply: owners written, one amendment note per change"
"$territory" apply --json >"$dir/apply.json"
"$python" -c '
import json, sys
dry, real = (json.load(open(path))["changes"] for path in sys.argv[1:])
if [(c["change_id"], c["action"]) for c in dry] != [(c["change_id"], c["action"]) for c in real]:
    sys.exit("the real run did not do what the dry run listed")
if any(c["state"] != "applied" for c in real):
    sys.exit("not every change applied: `territory changes --state failed` says why")
print("the real run applied the %d changes the dry run listed, with the same actions" % len(real))
' "$dir/apply-dry-run.json" "$dir/apply.json"

# The rep to deactivate: one with a book who receives nothing from the plan, in a team where
# no one is out of office (every account of the book then moves today).
rep=$("$python" -c '
import json, sys
plan = json.load(open(sys.argv[1]))
receiving = {c["to_owner_id"] for c in plan["changes"]}
away = {r["team"] for r in plan["reps"] if r["out_of_office_until"]}
reps = [r for r in plan["reps"] if r["active"] and r["owner_id"] not in receiving
        and r["team"] not in away and 0 < r["accounts"] <= 20]
if not reps:
    sys.exit("no rep to deactivate: every rep receives accounts from the plan")
rep = max(reps, key=lambda r: (r["accounts"], r["owner_id"]))
print(rep["owner_id"], rep["email"], rep["accounts"])
' "$dir/plan-ledger.json")
read -r rep_id rep_email rep_accounts <<<"$rep"

step "the CRM: $rep_email (owner $rep_id, $rep_accounts accounts) leaves, deactivated by an admin"
control POST "/owners/$rep_id/deactivate" >/dev/null
echo "the sandbox's control API: POST $control_url/owners/$rep_id/deactivate"

step "territory sync: the next sync sees the departure and starts a departure run"
"$territory" sync
"$territory" runs --json --limit 1 >"$dir/departure-run.json"
departure=$("$python" -c '
import json, sys
run = json.load(open(sys.argv[1]))[0]
if run["kind"] != "departure":
    sys.exit("the sync started no departure run")
print(run["run_id"])
' "$dir/departure-run.json")

step "territory runs --limit 3; territory changes --run $departure"
"$territory" runs --limit 3
"$territory" changes --run "$departure"
"$python" -c '
import json, sys
counts = json.load(open(sys.argv[1]))[0]["counts"]
if counts["kept"]:
    print("and %d open change(s) of earlier runs, proposed again: they keep their id and run,"
          % counts["kept"])
    print("taking the earlier date when the departure makes them urgent")
' "$dir/departure-run.json"

step "territory apply: the departed rep's book moves today, with notes"
"$territory" apply

step "the sandbox's /stats: owner writes per record, notes per marker"
control GET /stats >"$dir/sandbox-stats.json"
"$territory" changes --json --limit 0 >"$dir/changes.json"
"$python" -c '
import json, sys
from collections import Counter
stats, changes = (json.load(open(path)) for path in sys.argv[1:])
applied = [c for c in changes if c["state"] == "applied"]
writes = Counter(stats["owner_writes"].values())
notes = Counter(stats["notes_by_marker"].values())
print("API requests: %d" % sum(stats["requests"].values()))
if stats["rate_limited"]:
    print("answered 429 and retried: %d (without Redis, each command has its own rate budget)"
          % stats["rate_limited"])
print("owner writes per record: %s" % ", ".join(
    "%d record(s) written %d time(s)" % (n, k) for k, n in sorted(writes.items())))
print("notes per marker:        %s" % ", ".join(
    "%d marker(s) with %d note(s)" % (n, k) for k, n in sorted(notes.items())))
states = Counter(c["state"] for c in changes)
print("changes in the ledger:   %s" % ", ".join("%d %s" % kv[::-1] for kv in sorted(states.items())))
markers = {"territory-sync:" + c["change_id"] for c in applied}
if set(writes) != {1} or set(notes) != {1} or set(stats["notes_by_marker"]) != markers:
    sys.exit("a record written twice, or an applied change without exactly one note")
if states.keys() - {"applied", "approved", "superseded", "cancelled"}:
    sys.exit("a change failed, conflicted or is still due: see `territory changes`")
print("each record written once, each applied change with one note")
' "$dir/sandbox-stats.json" "$dir/changes.json"

step "territory plan --source ledger --save: the daily plan, with what balancing a departure needs"
"$territory" plan --source ledger --save >/dev/null

step "territory sync; territory plan --source ledger --save: the org has settled"
"$territory" sync
"$territory" plan --source ledger --save >/dev/null
"$territory" runs --json --limit 1 | "$python" -c '
import json, sys
run = json.load(sys.stdin)[0]
if run["counts"]["new"]:
    sys.exit("run %(run_id)d proposes new changes: not settled" % run)
print("run %d proposes nothing new: %d open change(s) wait for their effective dates"
      % (run["run_id"], run["counts"]["kept"]))
'

echo
echo "demo done in $((SECONDS - started)) s; its files are in $dir/"
