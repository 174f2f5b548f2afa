#!/usr/bin/env bash
# The live view on a terminal that stops reading, around a loopback churn:
# are the churn's connects all in `live --record`'s journal, and did the
# kernel lose records? For one or more causeway binaries (default: this
# tree's). Needs root and python3.
# Usage: bench/terminal_stall.sh [CYCLES] [BIN...]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin causeway --example net_churn
t="${CARGO_TARGET_DIR:-target}/release"
n="${1:-500000}"
shift || true
for bin in "${@:-$t/causeway}"; do
	python3 bench/terminal_stall.py "$bin" "$t/examples/net_churn" "$n"
done
