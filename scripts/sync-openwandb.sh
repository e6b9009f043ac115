#!/usr/bin/env bash
# Checks that the official `wandb sync` uploads an offline run written by wandb-log:
# writes ROWS history rows (NaN and infinities included), syncs them to openwandb on
# 127.0.0.1, reads them back, fails on any difference.
#
# Usage: scripts/sync-openwandb.sh [ROWS]   (SHARED_DIR, OPENWANDB_HOME as in e2e-openwandb.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-100}"
source scripts/openwandb-server.sh
WORK="$(mktemp -d)"
RUN_ID="rs$(date +%s | tail -c 7)"
RUN_DIR="$(cargo run -q -p wandb-log --example offline_run -- "$WORK" "$RUN_ID" "$ROWS")"
# From the scratch folder: `wandb sync` writes its own logs under ./wandb.
(cd "$WORK" && "$HOME_DIR/venv/bin/wandb" sync --entity default --project offline-e2e "$RUN_DIR") > "$WORK/sync.log" 2>&1 || { cat "$WORK/sync.log" >&2; exit 1; }
"$HOME_DIR/venv/bin/python" "$TOOLS/readback.py" default offline-e2e "$RUN_ID" --source openwandb --meta > "$WORK/back.jsonl"
python3 - "$WORK/back.jsonl" "$ROWS" <<'PY'
import json, math, sys
back = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
meta = back[0]["_meta"] if back and "_meta" in back[0] else {}
rows = {r["_step"]: r for r in back if "_meta" not in r}
n = int(sys.argv[2])
def expect(step):
    loss = math.nan if step == 3 else 1.0 / (step + 1)
    return {"loss": loss, "acc": step / n, "big": math.inf if step == 5 else 1.0}
def same(a, b):
    return (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)) or a == b
bad = [s for s in range(n) if s not in rows or any(not same(v, rows[s].get(k)) for k, v in expect(s).items())]
cfg = meta.get("config") or {}
summary = meta.get("summary") or {}
report = {"rows": n, "read_back": len(rows), "mismatched": len(bad), "state": meta.get("state"),
          "config_lr": cfg.get("lr"), "summary_acc": summary.get("acc")}
print(json.dumps(report))
if bad or len(rows) != n or meta.get("state") != "finished":
    sys.exit(f"sync check failed: {bad[:5]}")
PY
echo "sync ok: wandb sync uploaded all $ROWS rows of $RUN_ID"
