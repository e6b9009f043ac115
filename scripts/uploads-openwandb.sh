#!/usr/bin/env bash
# Uploads at scale against openwandb (a W&B-compatible server on 127.0.0.1), BENCHMARKS.md's
# wandb-log upload figures: each check prints one JSON line. Not part of CI (minutes per check).
#
# Usage: scripts/uploads-openwandb.sh VENV_DIR [ROWS] [CHECK...]
#   VENV_DIR  openwandb's folder (set up with ../shared/tools/openwandb/setup.sh on first use)
#   ROWS      rows of 10 metrics per run (default 1000000)
#   CHECK     any of: ingest online sync twice down killed (default: all, in that order;
#             `twice` needs `sync` before it)
#   SHARED_DIR the project's shared folder (default: ../shared beside the repo)
#   KEEP=1    keep the scratch folder and the server's data (a few GB at 1,000,000 rows)
set -euo pipefail
cd "$(dirname "$0")/.."
OPENWANDB_HOME="$(cd "${1:?usage: scripts/uploads-openwandb.sh VENV_DIR [ROWS] [CHECK...]}" && pwd)"
ROWS="${2:-1000000}"
shift $(( $# >= 2 ? 2 : 1 ))
CHECKS="${*:-ingest online sync twice down killed}"
export OPENWANDB_HOME
source scripts/openwandb-server.sh
PY="$HOME_DIR/venv/bin/python"
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

cargo build -q --release -p wandb-log --example log_rows
cargo build -q --release -p wandb-cli
TARGET="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release"
LOG_ROWS="$TARGET/examples/log_rows"
WANDB_RS="$TARGET/wandb-rs"
REPO="$PWD"
WORK="$(mktemp -d)"
echo "scratch: $WORK" >&2
# On exit: the server stopped (by its pid), then its data and the scratch removed.
cleanup() {
  kill "$PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  [ "${KEEP:-}" = 1 ] || rm -rf "$WORK" "$HOME_DIR/data-$PORT"
}
trap cleanup EXIT
TAG="$(date +%s | tail -c 6)"

# Rows read back for a run: {"lines", "distinct_steps", "state"} (openwandb ignores
# offsets: a line sent twice is stored twice, so lines > distinct_steps means duplicates).
readback() { # PROJECT RUN_ID
  "$PY" "$TOOLS/readback.py" default "$1" "$2" --source openwandb --meta 2>/dev/null | python3 -c '
import json, sys
steps, lines, state = set(), 0, None
for l in sys.stdin:
    r = json.loads(l)
    if "_meta" in r:
        state = r["_meta"].get("state")
        continue
    lines += 1
    steps.add(r.get("_step"))
print(json.dumps({"lines": lines, "distinct_steps": len(steps), "state": state}))'
}
field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
cpu_s() { awk '/User time/ { u = $NF } /System time/ { s = $NF } END { print u + s }' "$1"; }
peak_mib() { awk '/Maximum resident/ { printf "%.1f", $NF / 1024 }' "$1"; }
wall_s() { awk '/Elapsed \(wall clock\)/ { n = split($NF, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$1"; }
# The run directory of a log_rows JSON line, as an absolute path.
run_dir() { (cd "$1" && cd "$(field "$2" dir)" && pwd); }

for check in $CHECKS; do
  case "$check" in
  ingest) # openwandb alone, no client: 10 MiB requests back to back
    REQUESTS=$(( (ROWS + 36000) / 36000 ))
    python3 scripts/openwandb-ingest.py ingest "ingest$TAG" "$REQUESTS" |
      python3 -c 'import json, sys; r = json.load(sys.stdin); r["check"] = "ingest"; print(json.dumps(r))'
    ;;
  online) # a live run: finish after the last row, rows read back
    mkdir -p "$WORK/online" && cd "$WORK/online"
    line="$(/usr/bin/time -v -o time.txt "$LOG_ROWS" --rows "$ROWS" --metrics 10 --mode online --finish-timeout 3600)"
    cd "$REPO"
    back="$(readback log-rows "$(field "$line" run_id)")"
    echo "{\"check\": \"online\", \"run\": $line, \"peak_rss_mib\": $(peak_mib "$WORK/online/time.txt"), \"read_back\": $back}"
    ;;
  sync) # wandb-rs sync and the official wandb sync, each on an offline run of ROWS rows
    # Two runs of the same shape: openwandb keys runs by id alone, across projects.
    mkdir -p "$WORK/ours" "$WORK/official"
    cd "$WORK/ours" && line="$("$LOG_ROWS" --rows "$ROWS" --metrics 10 --mode offline)"
    run="$(field "$line" run_id)"
    SYNC_DIR="$(run_dir "$WORK/ours" "$line")"
    cd "$WORK/official" && official_line="$("$LOG_ROWS" --rows "$ROWS" --metrics 10 --mode offline)"
    official_run="$(field "$official_line" run_id)"
    official_dir="$(run_dir "$WORK/official" "$official_line")"
    cd "$WORK"
    /usr/bin/time -v -o ours.txt "$WANDB_RS" sync --project "ours$TAG" "$SYNC_DIR" > ours.out
    "$WANDB_RS" sync --project "ours$TAG" "$SYNC_DIR" > twice.out  # the `twice` check reads it
    /usr/bin/time -v -o official.txt "$HOME_DIR/venv/bin/wandb" sync --entity default --project "official$TAG" "$official_dir" > official.out 2>&1
    cd "$REPO"
    echo "{\"check\": \"sync\", \"rows\": $ROWS, \"ours_s\": $(wall_s "$WORK/ours.txt"), \"ours_cpu_s\": $(cpu_s "$WORK/ours.txt"), \"ours_peak_rss_mib\": $(peak_mib "$WORK/ours.txt"), \"official_s\": $(wall_s "$WORK/official.txt"), \"official_cpu_s\": $(cpu_s "$WORK/official.txt"), \"official_peak_rss_mib\": $(peak_mib "$WORK/official.txt"), \"ours_read_back\": $(readback "ours$TAG" "$run"), \"official_read_back\": $(readback "official$TAG" "$official_run")}"
    ;;
  twice) # the second wandb-rs sync of the same run sends nothing
    before="$(readback "ours$TAG" "$run")"
    "$WANDB_RS" sync --project "ours$TAG" "$SYNC_DIR" > "$WORK/third.out"
    after="$(readback "ours$TAG" "$run")"
    echo "{\"check\": \"twice\", \"second\": $(python3 -c 'import json, sys; print(json.dumps(open(sys.argv[1]).read().strip()))' "$WORK/twice.out"), \"before\": $before, \"after_third\": $after}"
    grep -q "already synced" "$WORK/twice.out" && grep -q "already synced" "$WORK/third.out" && [ "$before" = "$after" ]
    ;;
  down) # the server down for the whole run (a closed port), then wandb-rs sync
    mkdir -p "$WORK/down" && cd "$WORK/down"
    closed="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    line="$(WANDB_BASE_URL="http://127.0.0.1:$closed" /usr/bin/time -v -o time.txt "$LOG_ROWS" --rows "$ROWS" --metrics 10 --mode online --finish-timeout 5)"
    /usr/bin/time -v -o sync.txt "$WANDB_RS" sync "$(run_dir "$WORK/down" "$line")" > sync.out
    cd "$REPO"
    echo "{\"check\": \"down\", \"run\": $line, \"peak_rss_mib\": $(peak_mib "$WORK/down/time.txt"), \"sync\": $(python3 -c 'import json, sys; print(json.dumps(open(sys.argv[1]).read().strip()))' "$WORK/down/sync.out"), \"sync_s\": $(wall_s "$WORK/down/sync.txt"), \"read_back\": $(readback log-rows "$(field "$line" run_id)")}"
    ;;
  killed) # SIGKILL after 2 s, mid-run (paced at ROWS/10 rows per second), then wandb-rs sync
    for mode in offline online; do
      mkdir -p "$WORK/killed-$mode" && cd "$WORK/killed-$mode"
      "$LOG_ROWS" --rows "$ROWS" --metrics 10 --mode "$mode" --rows-per-second $(( ROWS / 10 )) > run.json 2>&1 &
      pid=$!
      sleep 2
      kill -KILL "$pid"
      wait "$pid" 2>/dev/null || true
      dir="$(cd wandb/*run-* && pwd)"
      run="${dir##*-}"
      in_log="$("$PY" "$REPO/scripts/count-wandb-log.py" "$dir")"
      "$WANDB_RS" sync "$dir" > sync.out  # to the run's own project, as a user would
      cd "$REPO"
      echo "{\"check\": \"killed\", \"mode\": \"$mode\", \"log\": $in_log, \"sync\": $(python3 -c 'import json, sys; print(json.dumps(open(sys.argv[1]).read().strip()))' "$WORK/killed-$mode/sync.out"), \"read_back\": $(readback log-rows "$run")}"
    done
    ;;
  *) echo "unknown check: $check" >&2; exit 2 ;;
  esac
done
