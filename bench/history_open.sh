#!/usr/bin/env bash
# How long a large journal takes to open: records `net_churn - CYCLES` and
# 2,000 short processes into a journal, then times, from the command typed
# into a tmux window to the first frame (the pane polled every 50 ms),
# `causeway replay JOURNAL` and `causeway live --history JOURNAL`. Also
# times `causeway export JOURNAL PID` for the churn's process, whose
# connections are many. Needs root and tmux.
# Usage: bench/history_open.sh [CYCLES]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin causeway --example net_churn
t="${CARGO_TARGET_DIR:-target}/release"
case "$t" in /*) ;; *) t="$(pwd)/$t" ;; esac
n="${1:-150000}"
dir=$(mktemp -d)
sock="causeway-bench-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$dir"' EXIT
j="$dir/big.jsonl"
"$t/causeway" record --output "$j" 2>/dev/null &
cw=$!
sleep 2
"$t/examples/net_churn" - "$n" >/dev/null
for _ in $(seq 2000); do /bin/true; done
sleep 1
kill -INT "$cw"
wait "$cw" || true
echo "journal: $(du -h "$j" | cut -f1), $(wc -l <"$j") lines"
tmux -L "$sock" new-session -d -x 120 -y 30 bash
first_frame() { # $1: the command, $2: what the first frame shows
	local s e
	s=$(date +%s.%N)
	tmux -L "$sock" send-keys "$1" Enter
	until tmux -L "$sock" capture-pane -p | grep -q "$2"; do sleep 0.05; done
	e=$(date +%s.%N)
	tmux -L "$sock" send-keys q
	sleep 1
	echo "$1: $(echo "$e - $s" | bc) s to the first frame"
}
first_frame "$t/causeway replay $j" " REPLAY "
first_frame "$t/causeway live --history $j" " LIVE "
pid=$(grep -m1 -o '"type":"connect","time":"[^"]*","ktime":[0-9]*,"pid":[0-9]*' "$j" | sed 's/.*"pid"://')
s=$(date +%s.%N)
bytes=$("$t/causeway" export "$j" "$pid" | wc -c)
e=$(date +%s.%N)
echo "export of pid $pid (the churn): $bytes bytes in $(echo "$e - $s" | bc) s"
