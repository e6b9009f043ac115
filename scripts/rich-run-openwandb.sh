#!/usr/bin/env bash
# Issue 13's hand check of a rich run (wandb-log's `rich_run` example: images, histograms,
# a table, a saved file, console lines, system metrics, metadata) against openwandb on
# 127.0.0.1: an offline run uploaded by the official `wandb sync`, and an online run of our
# own; for each, scripts/rich-run-check.py prints one JSON line (every file on the server
# with its bytes, image sha256/size equal to their history values, >= 2 system-metric
# samples). Not part of CI (openwandb is a Python server).
#
# Usage: scripts/rich-run-openwandb.sh   (SHARED_DIR, OPENWANDB_HOME as in e2e-openwandb.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/openwandb-server.sh
cargo build -q --release -p wandb-log --example rich_run
RICH_RUN="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/examples/rich_run"
REPO="$PWD"
WORK="$(mktemp -d)"
field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
cd "$WORK"
offline="$("$RICH_RUN" --mode offline --steps 5 --stats-interval 1 --seconds 3)"
run="$(field "$offline" run_id)"
dir="$WORK/$(field "$offline" dir)"
"$HOME_DIR/venv/bin/wandb" sync --entity default --project rich-official "$dir" > sync.log 2>&1 || { cat sync.log >&2; exit 1; }
python3 "$REPO/scripts/rich-run-check.py" default rich-official "$run" "$dir"
online="$("$RICH_RUN" --mode online --project rich-online --steps 5 --stats-interval 1 --seconds 3)"
run="$(field "$online" run_id)"
python3 "$REPO/scripts/rich-run-check.py" default rich-online "$run" "$WORK/$(field "$online" dir)"
cd "$REPO" && rm -rf "$WORK"
