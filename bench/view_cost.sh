#!/usr/bin/env bash
# What the view costs against `record`, on the loopback TCP churn: per
# round, in rotating order, the churn alone, with `BIN record --output
# /dev/null` and with the view (`BIN`, in a detached tmux window of
# 200x50, as an operator would run it). Prints each one's median slowdown
# of the churn (wall and the churn's own CPU) against the churn alone in
# the same round, and causeway's own CPU per churn cycle: every thread's
# time on a CPU (from /proc/PID/task/*/schedstat) from just before the
# churn until it has caught up, less what it spent idle (measured over the
# 2 s before) over as long.
# Needs root and tmux.
# Usage: bench/view_cost.sh [BIN] [CYCLES] [ROUNDS]
# (positional: BIN "" is the one built here, `"" 60000 10`)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin causeway --example net_churn
t="${CARGO_TARGET_DIR:-target}/release"
bin="${1:-$t/causeway}" churn="$t/examples/net_churn" n="${2:-60000}" rounds="${3:-10}"
out=$(mktemp)
session="causeway-view-cost-$$"
trap 'rm -f "$out"; tmux kill-session -t "$session" 2>/dev/null || true' EXIT

# Nanoseconds on a CPU so far, all threads of process $1.
oncpu() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {print s + 0}'
}

# Waits until process $1 uses no more than idle again ($2: its idle ns of
# CPU per second), at most 30 s.
settle() {
	local a b i
	a=$(oncpu "$1")
	for i in $(seq 60); do
		sleep 0.5
		b=$(oncpu "$1")
		[ $((b - a)) -le $(($2 * 3 / 4 + 1000000)) ] && return
		a=$b
	done
}

TIMEFORMAT='%R %U %S'
configs=(alone record view)
for round in $(seq "$rounds"); do
	for i in 0 1 2; do
		config=${configs[$(((i + round) % 3))]}
		pid=
		case $config in
		record)
			"$bin" record --output /dev/null 2>/dev/null &
			pid=$!
			;;
		view)
			tmux new-session -d -s "$session" -x 200 -y 50 "exec $bin"
			pid=$(tmux display -p -t "$session" '#{pane_pid}')
			;;
		esac
		sleep 3
		idle=0 used=0
		if [ -n "$pid" ]; then
			a=$(oncpu "$pid")
			sleep 2
			idle=$((($(oncpu "$pid") - a) / 2))
			a=$(oncpu "$pid")
			s=$(date +%s%N)
		fi
		tm=$({ time "$churn" - "$n" >/dev/null; } 2>&1)
		if [ -n "$pid" ]; then
			settle "$pid" "$idle"
			span=$(($(date +%s%N) - s))
			used=$(($(oncpu "$pid") - a - idle * span / 1000000000))
			if [ "$config" = record ]; then
				kill -INT "$pid"
				wait "$pid" || true
			else
				tmux kill-session -t "$session"
			fi
		fi
		echo "$round $config $tm $used" >>"$out"
	done
done
python3 - "$out" "$bin" "$n" <<'EOF'
import collections, statistics, sys
path, b, n = sys.argv[1:]
runs = collections.defaultdict(dict)
for line in open(path):
    r, config, wall, user, sys_, used = line.split()
    runs[config][r] = (float(wall), float(user) + float(sys_), int(used))
rounds = sorted(runs["alone"])
print(f"loopback TCP churn, {n} cycles, {len(rounds)} rounds; {b}")
for config in ("record", "view"):
    w = [runs[config][r][0] / runs["alone"][r][0] - 1 for r in rounds]
    c = [runs[config][r][1] / runs["alone"][r][1] - 1 for r in rounds]
    ns = [runs[config][r][2] / int(n) for r in rounds]
    print(f"  {config:6}: wall {100*statistics.median(w):+.1f}% ({100*min(w):+.1f} to {100*max(w):+.1f}), "
          f"churn CPU {100*statistics.median(c):+.1f}%, "
          f"causeway's CPU {statistics.median(ns):.0f} ns per cycle ({min(ns):.0f} to {max(ns):.0f})")
EOF
