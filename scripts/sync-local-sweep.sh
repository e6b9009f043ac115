#!/usr/bin/env bash
# Checks that the official `wandb sync` uploads the runs of a local sweep: runs the quickstart
# (a local bayes + hyperband sweep, offline) into a scratch folder, syncs every run to
# openwandb on 127.0.0.1, reads each back and compares it with the sweep's state file
# (history length of the metric, the last value, the config; the group when the server
# reports it). The scratch folder is kept when the check fails.
#
# Usage: scripts/sync-local-sweep.sh   (SHARED_DIR, OPENWANDB_HOME as in e2e-openwandb.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/openwandb-server.sh
WORK="$(mktemp -d)"
cargo run -q --release -p quickstart -- "$WORK/sweep" > "$WORK/quickstart.log"
(cd "$WORK" && "$HOME_DIR/venv/bin/wandb" sync --entity default --project local-sweep-e2e \
  "$WORK"/sweep/wandb/offline-run-*) > "$WORK/sync.log" 2>&1 || { cat "$WORK/sync.log" >&2; exit 1; }
python3 - "$WORK" "$HOME_DIR/venv/bin/python" "$TOOLS/readback.py" <<'PY'
import json, subprocess, sys
work, python, readback = sys.argv[1:4]
state = json.load(open(f"{work}/sweep/sweep-state.json"))
group = f"sweep-{state['sweep_id']}"
bad = []
for t in state["trials"]:
    out = subprocess.run([python, readback, "default", "local-sweep-e2e", t["run_id"],
                          "--source", "openwandb", "--meta"], capture_output=True, text=True, check=True)
    rows = [json.loads(l) for l in out.stdout.splitlines() if l.strip()]
    meta = rows[0].get("_meta", {}) if rows else {}
    history = [r["val_loss"] for r in rows if "_meta" not in r and "val_loss" in r]
    hidden = (meta.get("config") or {}).get("hidden")
    hidden = hidden.get("value") if isinstance(hidden, dict) else hidden
    ok = (len(history) == len(t["history"])
          and (not history or abs(history[-1] - t["metric"]) < 1e-12)
          and hidden == t["params"]["hidden"]
          and meta.get("group") in (None, group))
    if not ok:
        bad.append((t["run_id"], len(history), len(t["history"]), hidden, sorted(meta)))
print(json.dumps({"runs": len(state["trials"]), "mismatched": len(bad)}))
if bad:
    sys.exit(f"sync check failed: {bad[:5]}")
PY
echo "sync ok: wandb sync uploaded every run of the local sweep"
rm -rf "$WORK"
