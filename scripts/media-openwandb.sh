#!/usr/bin/env bash
# Checks that the official `wandb sync` uploads the media of an offline run written by
# wandb-log (images, a histogram, a table, a list of images: examples/media_run.rs): syncs
# it to openwandb on 127.0.0.1, then compares each uploaded media file with the local one
# and checks the uploaded history and summary hold the media values.
#
# Usage: scripts/media-openwandb.sh   (SHARED_DIR, OPENWANDB_HOME as in e2e-openwandb.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/openwandb-server.sh
WORK="$(mktemp -d)"
RUN_ID="rm$(date +%s | tail -c 7)"
RUN_DIR="$(cargo run -q -p wandb-log --example media_run -- "$WORK" "$RUN_ID")"
(cd "$WORK" && "$HOME_DIR/venv/bin/wandb" sync --entity default --project media "$RUN_DIR") > "$WORK/sync.log" 2>&1 || { cat "$WORK/sync.log" >&2; exit 1; }
UPLOADED="$HOME_DIR/data-$PORT/files/default/media/$RUN_ID"
python3 - "$RUN_DIR/files" "$UPLOADED" <<'PY'
import json, os, sys
local, uploaded = sys.argv[1], sys.argv[2]
media = sorted(os.path.relpath(os.path.join(r, f), local)
               for r, _, fs in os.walk(os.path.join(local, "media")) for f in fs)
differ = [m for m in media
          if not os.path.exists(os.path.join(uploaded, m))
          or open(os.path.join(local, m), "rb").read() != open(os.path.join(uploaded, m), "rb").read()]
rows = [json.loads(l) for l in open(os.path.join(uploaded, "wandb-history.jsonl")) if l.strip()]
summary = json.load(open(os.path.join(uploaded, "wandb-summary.json")))
types = {k: v.get("_type") for r in rows for k, v in r.items() if isinstance(v, dict)}
want = {"samples": "image-file", "weights": "histogram", "predictions": "table-file",
        "digits": "images/separated"}
report = {"media_files": len(media), "differ": differ, "rows": len(rows), "types": types,
          "summary_types": {k: summary.get(k, {}).get("_type") for k in want}}
print(json.dumps(report))
if differ or len(media) != 6 or types != want or report["summary_types"] != want:
    sys.exit("media sync check failed")
PY
echo "media sync ok: wandb sync uploaded the 6 media files of $RUN_ID, the history and the summary"
