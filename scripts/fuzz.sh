#!/usr/bin/env bash
# Fuzzes wandb-sweep's parse + validate + grid + write-back for SECONDS (default 600).
# Needs cargo-fuzz (`cargo install cargo-fuzz`); works on stable through RUSTC_BOOTSTRAP.
set -euo pipefail
cd "$(dirname "$0")/../wandb-sweep/fuzz"
seconds="${1:-600}"
mkdir -p corpus/check
cp ../tests/fixtures/cases/*.yaml ../tests/fixtures/corpus/*.yaml corpus/check/
RUSTC_BOOTSTRAP=1 cargo fuzz run check -- -max_total_time="$seconds" -max_len=4096
