#!/usr/bin/env bash
# What attaching causeway costs every syscall on the host (getppid() timed)
# and every TCP send and receive (a one-byte ping over loopback),
# alone and with `causeway record` attached. Needs root.
# Usage: bench/syscall_tax.sh [CAUSEWAY_BIN] [CALLS] [ROUNDS]
# (CAUSEWAY_BIN defaults to this checkout's release build.)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin causeway --example syscall_tax
t="${CARGO_TARGET_DIR:-target}/release"
exec "$t/examples/syscall_tax" "${1:-$t/causeway}" "${2:-3000000}" "${3:-7}"
