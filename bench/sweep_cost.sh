#!/usr/bin/env bash
# What the sweep for unseen closes costs on a host with many TCP sockets:
# HOLDERS processes each hold CONNS loopback connections (both ends, so
# 2 x CONNS sockets each; keep 2 x CONNS under the open-file limit), then
# `causeway record` runs for SECONDS and says how much CPU it used after
# start-up. Run it again with no holders (HOLDERS=0) for the idle cost.
# Needs root and python3.
# Usage: bench/sweep_cost.sh [CAUSEWAY_BIN] [CONNS] [HOLDERS] [SECONDS]
# (positional: CAUSEWAY_BIN "" is the one built here, `"" 9000 6 65`)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin causeway
t="${CARGO_TARGET_DIR:-target}/release"
bin="${1:-$t/causeway}" conns="${2:-9000}" holders="${3:-6}" secs="${4:-65}"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
ready=$(mktemp -d)
for i in $(seq "$holders"); do
	python3 - "$conns" "$ready/$i" <<'PY' &
import socket, sys, time
n, ready = int(sys.argv[1]), sys.argv[2]
per, listeners, held = 20000, [], []
for _ in range((n + per - 1) // per):
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen(4096)
    listeners.append(l)
for i in range(n):
    l = listeners[i // per]
    c = socket.create_connection(l.getsockname())
    a, _ = l.accept()
    held.append((c, a))
open(ready, "w").close()
time.sleep(100000)
PY
	pids+=($!)
done
while [ "$(ls "$ready" | wc -l)" -lt "$holders" ]; do sleep 0.5; done
echo "holding $((2 * conns * holders)) TCP sockets in $holders processes"
"$bin" record --output /dev/null --duration "${secs}s" 2>&1 | tail -1
