#!/usr/bin/env bash
# Fork+exec storm with and without `causeway record` attached (issue 2's
# benchmark). Needs root. Usage: bench/exec_storm.sh [EXECS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin causeway --example exec_storm
t="${CARGO_TARGET_DIR:-target}/release"
exec "$t/examples/exec_storm" "$t/causeway" "${1:-5000}" "${2:-5}"
