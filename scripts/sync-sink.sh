#!/usr/bin/env bash
# `wandb-rs sync` vs the official `wandb sync` 0.31.0 against a server faster than both
# clients (scripts/sink-server.py answers every request at once): what each client itself
# costs. Prints one JSON line per repeat; the sink's own count of the rows each run received
# is checked against ROWS. Not part of CI (the official client takes 25-40 s a sync).
#
# Usage: scripts/sync-sink.sh OPENWANDB_DIR [ROWS] [REPEATS]
#   OPENWANDB_DIR  the folder whose venv/ has the official `wandb` (set up with
#                  ../shared/tools/openwandb/setup.sh OPENWANDB_DIR)
#   ROWS      rows of 10 metrics in each offline run (default 1000000)
#   REPEATS   syncs of each run, alternating ours and official (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="$(cd "${1:?usage: scripts/sync-sink.sh OPENWANDB_DIR [ROWS] [REPEATS]}" && pwd)/venv"
ROWS="${2:-1000000}"
REPEATS="${3:-3}"
[ -x "$VENV/bin/wandb" ] || { echo "no official wandb in $VENV (run ../shared/tools/openwandb/setup.sh $1)" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

cargo build -q --release -p wandb-log --example log_rows
cargo build -q --release -p wandb-cli
TARGET="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release"
WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
python3 scripts/sink-server.py "$PORT" 2> "$WORK/sink.err" &
SINK=$!
trap 'kill "$SINK" 2>/dev/null || true; rm -rf "$WORK"' EXIT
# Up within 5 s, or the port was taken meanwhile.
for _ in $(seq 1 50); do
  python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.1)' "$PORT" 2>/dev/null && break
  kill -0 "$SINK" 2>/dev/null || { cat "$WORK/sink.err" >&2; echo "the sink did not start on port $PORT" >&2; exit 1; }
  sleep 0.1
done
export WANDB_BASE_URL="http://127.0.0.1:$PORT" WANDB_API_KEY=local0000000000000000000000000000000000000000 WANDB_ENTITY=sink
export WANDB_ERROR_REPORTING=false WANDB_X_DISABLE_UPDATE_CHECK=true

# One offline run for each client (the official client writes its own files beside the log).
make_run() { mkdir -p "$WORK/$1" && (cd "$WORK/$1" && "$TARGET/examples/log_rows" --rows "$ROWS" --metrics 10 --mode offline >/dev/null) && echo "$WORK/$1"/wandb/offline-run-*; }
OURS="$(make_run ours)"
OFFICIAL="$(make_run official)"
sleep 0.2
# Rows the sink received for a run since the mark, from its stderr lines.
received() { tail -n +"$(( $2 + 1 ))" "$WORK/sink.err" | awk -v run="run=$1" '$2 == run { split($3, r, "="); n += r[2] } END { print n + 0 }'; }
stat_json() { awk '/User time/ { u = $NF } /System time/ { s = $NF } /Maximum resident/ { m = $NF / 1024 }
  /Elapsed \(wall clock\)/ { n = split($NF, t, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + t[i] }
  END { printf "{\"wall_s\": %.2f, \"cpu_s\": %.2f, \"peak_rss_mib\": %.1f", w, u + s, m }' "$1"; }
timed() { # NAME RUN_DIR COMMAND...: one JSON object, the rows received checked
  local name="$1" dir="$2" mark; shift 2
  mark="$(wc -l < "$WORK/sink.err")"
  /usr/bin/time -v -o "$WORK/$name.time" "$@" > "$WORK/$name.out" 2>&1 || { cat "$WORK/$name.out" >&2; exit 1; }
  sleep 0.2
  local got; got="$(received "${dir##*-}" "$mark")"
  [ "$got" = "$ROWS" ] || { echo "$name: the sink received $got rows of $ROWS" >&2; exit 1; }
  stat_json "$WORK/$name.time"; echo ", \"rows_received\": $got}"
}
for i in $(seq 1 "$REPEATS"); do
  ours="$(timed ours "$OURS" "$TARGET/wandb-rs" sync --include-synced --project sink-ours "$OURS")"
  official="$(timed official "$OFFICIAL" "$VENV/bin/wandb" sync --include-synced --entity sink --project sink-official "$OFFICIAL")"
  ratio="$(python3 -c 'import json, sys; print(round(json.loads(sys.argv[2])["wall_s"] / json.loads(sys.argv[1])["wall_s"], 1))' "$ours" "$official")"
  echo "{\"rows\": $ROWS, \"repeat\": $i, \"ours\": $ours, \"official\": $official, \"wall_ratio\": $ratio, \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
done
