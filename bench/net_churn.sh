#!/usr/bin/env bash
# Loopback TCP connect/accept/close churn with and without `causeway record`
# attached (issue 4's benchmark). Needs root.
# Usage: bench/net_churn.sh [CYCLES] [ROUNDS] [WORKERS]
# WORKERS defaults to the number of CPUs (the machine's limit).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin causeway --example net_churn
t="${CARGO_TARGET_DIR:-target}/release"
exec "$t/examples/net_churn" "$t/causeway" "${1:-100000}" "${2:-5}" ${3:+"$3"}
