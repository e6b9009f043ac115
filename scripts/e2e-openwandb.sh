#!/usr/bin/env bash
# End-to-end check of wandb-api against openwandb (a W&B-compatible server on 127.0.0.1):
# create a run, stream ROWS history rows, finish, read them back, fail on any difference.
#
# Usage: scripts/e2e-openwandb.sh [ROWS]
#   SHARED_DIR     the project's shared folder (default: ../shared beside the repo)
#   OPENWANDB_HOME where openwandb's venv lives (default: target/openwandb; set up on first use)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-1000}"
source scripts/openwandb-server.sh
WORK="$(mktemp -d)"
cargo run -q -p wandb-api --example stream_run -- "$ROWS" e2e "$WORK/sent.jsonl" > "$WORK/run.json"
RUN_ID="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' "$WORK/run.json")"
"$HOME_DIR/venv/bin/python" "$TOOLS/readback.py" default e2e "$RUN_ID" --source openwandb --meta > "$WORK/back.jsonl"
python3 - "$WORK/sent.jsonl" "$WORK/back.jsonl" "$ROWS" <<'PY'
import json, math, sys
sent = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
back = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
meta = back[0].get("_meta", {}) if back and "_meta" in back[0] else {}
rows = [r for r in back if "_meta" not in r]
by_step = {}
for r in rows:                      # openwandb ignores offsets: count distinct _step
    by_step[r["_step"]] = r
def same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b
bad = [s["_step"] for s in sent if s["_step"] not in by_step or any(not same(v, by_step[s["_step"]].get(k)) for k, v in s.items())]
n = int(sys.argv[3])
print(json.dumps({"sent": len(sent), "read_back_distinct_steps": len(by_step), "mismatched": len(bad), "state": meta.get("state")}))
if len(sent) != n or len(by_step) != n or bad:
    sys.exit(f"e2e failed: first mismatches {bad[:5]}")
PY
echo "e2e ok: $ROWS rows of run $RUN_ID read back identical"
