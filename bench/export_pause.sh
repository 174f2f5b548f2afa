#!/usr/bin/env bash
# How long `x` on init (a whole host's chain) stops the view, for one or
# more causeway binaries in turn: records a journal while N short
# processes run (N/1000 shells of 1,000 `true`s each), replays it in a
# detached 200x50 tmux window per binary, selects the top row (init),
# presses `x` twice, then `/` at once, and times until the find prompt
# shows (the view answering again) and until the footer says the chain
# was written. A binary that writes on the view's thread shows the prompt
# only once the file is written, and its footer's message is then hidden
# by the prompt: its "written" time is not measured ("-").
# Needs root (to record) and tmux.
# Usage: bench/export_pause.sh N ROUNDS BIN...
set -euo pipefail
if [ $# -lt 3 ]; then
	echo "usage: bench/export_pause.sh N ROUNDS BIN... (e.g. 40000 2 target/release/causeway)" >&2
	exit 2
fi
cd "$(dirname "$0")/.."
n="$1" rounds="$2"
shift 2
work=$(mktemp -d)
trap 'tmux kill-session -t export_pause 2>/dev/null || true; rm -rf "$work"' EXIT
journal="$work/host.jsonl"
"$1" record --output "$journal" 2>/dev/null &
rec=$!
sleep 1.5
for _ in $(seq $((n / 1000))); do
	(for _ in $(seq 1000); do /bin/true; done)
done
sleep 0.5
kill -INT "$rec"
wait "$rec" || true
echo "journal: $(grep -c '"type":"exec"' "$journal") execs, $(du -m "$journal" | cut -f1) MB"
screen() { tmux capture-pane -t export_pause -p; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }
for _ in $(seq "$rounds"); do
	for bin in "$@"; do
		dir="$work/out"
		mkdir -p "$dir"
		tmux new-session -d -s export_pause -x 200 -y 50 -c "$dir" "$bin replay $journal"
		until screen | grep -q '1/'; do sleep 0.1; done
		tmux send-keys -t export_pause g
		sleep 0.5
		tmux send-keys -t export_pause x
		sleep 0.5
		t0=$(date +%s.%N)
		tmux send-keys -t export_pause x
		sleep 0.05
		tmux send-keys -t export_pause /
		until screen | grep -q 'find:'; do sleep 0.02; done
		t1=$(date +%s.%N)
		written=-
		tmux send-keys -t export_pause Escape
		for _ in $(seq 300); do
			if screen | grep -q 'written to'; then
				written=$(secs "$t0" "$(date +%s.%N)")
				break
			fi
			sleep 0.02
		done
		tmux kill-session -t export_pause
		echo "$bin: answering after $(secs "$t0" "$t1") s, written after $written s ($(du -m "$dir"/*.json | cut -f1) MB)"
		rm -rf "$dir"
	done
done
