# Sourced by the end-to-end scripts: sets up openwandb (a W&B-compatible server) if needed,
# starts it on a free 127.0.0.1 port, stops it on exit, and exports the WANDB_* variables.
#   SHARED_DIR     the project's shared folder (default: ../shared beside the repo)
#   OPENWANDB_HOME where openwandb's venv lives (default: target/openwandb)
SHARED_DIR="${SHARED_DIR:-../shared}"
TOOLS="$SHARED_DIR/tools/openwandb"
HOME_DIR="${OPENWANDB_HOME:-$PWD/target/openwandb}"
[ -f "$TOOLS/setup.sh" ] || { echo "openwandb tools not found in $TOOLS; set SHARED_DIR" >&2; exit 2; }
[ -x "$HOME_DIR/venv/bin/openwandb" ] || bash "$TOOLS/setup.sh" "$HOME_DIR"
PORT="${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
bash "$TOOLS/start.sh" "$HOME_DIR" "$PORT" >/dev/null
PID="$(cat "$HOME_DIR/data-$PORT/server.pid")"
trap 'kill "$PID" 2>/dev/null || true' EXIT
export WANDB_BASE_URL="http://127.0.0.1:$PORT" WANDB_API_KEY=local0000000000000000000000000000000000000000 WANDB_ENTITY=default
export WANDB_ERROR_REPORTING=false WANDB_X_DISABLE_UPDATE_CHECK=true
