#!/usr/bin/env bash
# What the live view's CPU and memory sampling costs (one /proc/PID/stat
# read a running process, on the view's causeway-usage thread): the host's
# processes alone, then with 2,000 more sleeping ones.
# Usage: bench/usage_cost.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --example usage_cost
t="${CARGO_TARGET_DIR:-target}/release"
"$t/examples/usage_cost" 0 "${1:-20}"
"$t/examples/usage_cost" 2000 "${1:-20}"
