#!/usr/bin/env bash
# What many network namespaces (a container host) cost causeway: SPACES
# processes, each in a network namespace of its own (`unshare --net`)
# holding one listening TCP socket, as a container's server does (KIND
# `listen`), or that and a connection to it over the namespace's loopback
# (KIND `conn`: a server with a client connected). Then
# `BIN record` runs for SECONDS, ROUNDS times for each BIN given (in
# rotating order, on the same namespaces): its start-up (the wall
# time of the run less SECONDS: loading the probe, the /proc scan and the
# listing of every namespace's sockets, one thread and one sock_diag dump
# each) and its CPU after start-up (mostly the sweep for unseen closes,
# which lists every namespace an open socket is in, every 10 s). Run it
# again with SPACES=0 for the same host without them.
# Needs root, python3, unshare (util-linux) and ip (iproute2).
# Usage: bench/netns_cost.sh SPACES SECONDS ROUNDS KIND [BIN...]
# (BIN defaults to this checkout's build)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin causeway
t="${CARGO_TARGET_DIR:-target}/release"
spaces="$1" secs="$2" rounds="$3" kind="$4"
shift 4
[ $# -gt 0 ] || set -- "$t/causeway"
pids=()
ready=$(mktemp -d)
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$ready"' EXIT
for i in $(seq "$spaces"); do
	unshare --net sh -c 'ip link set lo up && exec python3 -c "$0" "$@"' '
import socket, sys, time
s = socket.socket()
s.bind(("0.0.0.0", 8080))
s.listen()
if sys.argv[2] == "conn":
    c = socket.create_connection(("127.0.0.1", 8080))
    a, _ = s.accept()
open(sys.argv[1], "w").close()
time.sleep(100000)
' "$ready/$i" "$kind" &
	pids+=($!)
done
while [ "$(ls "$ready" | wc -l)" -lt "$spaces" ]; do sleep 0.2; done
echo "$spaces listeners ($kind), each in a network namespace of its own"
for _ in $(seq "$rounds"); do
	for bin in "$@"; do
		t0=$(date +%s.%N)
		line=$("$bin" record --output /dev/null --duration "${secs}s" 2>&1 | tail -1)
		t1=$(date +%s.%N)
		start=$(awk -v a="$t0" -v b="$t1" -v s="$secs" 'BEGIN { printf "%.3f", b - a - s }')
		echo "$bin: start-up and stop ${start} s; ${line#causeway: }"
	done
done
