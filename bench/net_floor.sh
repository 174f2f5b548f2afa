#!/usr/bin/env bash
# What attaching the network programs costs the loopback TCP churn by
# itself, against causeway as it is: `bench/net_compare.sh` with A = the
# programs attached but hollow (examples/hollow_record: each returns at
# once, nothing is recorded) and B = `causeway record`. Needs root.
# Usage: bench/net_floor.sh [CYCLES] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin causeway --example hollow_record
t="${CARGO_TARGET_DIR:-target}/release"
exec bench/net_compare.sh "$t/examples/hollow_record" "$t/causeway" "${1:-60000}" "${2:-20}"
