#!/usr/bin/env bash
# Where the churn's slowdown comes from: the probe's programs in the traced
# code, or causeway's own threads. Per round, churn CPU (user + system) of
# `net_churn - CYCLES` alone; with `causeway record` attached but stopped
# (SIGSTOP: the probe runs, nobody reads the ring buffer, so only the
# kernel-side cost remains; keep CYCLES small enough for the 32 MiB ring
# buffer); and with it attached and running. Needs root.
# Usage: bench/net_split.sh [CYCLES] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin causeway --example net_churn
t="${CARGO_TARGET_DIR:-target}/release"
n="${1:-40000}"
TIMEFORMAT='%U %S'
churn_cpu() {
	{ time "$t/examples/net_churn" - "$n" >/dev/null; } 2>&1 | awk '{ print $1 + $2 }'
}
for _ in $(seq "${2:-5}"); do
	alone=$(churn_cpu)
	"$t/causeway" record --output /dev/null 2>/dev/null &
	cw=$!
	sleep 1.5
	kill -STOP "$cw"
	stopped=$(churn_cpu)
	kill -CONT "$cw"
	sleep 0.5
	kill -INT "$cw"
	wait "$cw" || true
	"$t/causeway" record --output /dev/null 2>/dev/null &
	cw=$!
	sleep 1.5
	live=$(churn_cpu)
	kill -INT "$cw"
	wait "$cw" || true
	awk -v a="$alone" -v s="$stopped" -v l="$live" 'BEGIN {
		printf "churn cpu: alone %.2fs, probe only %.2fs (%+.1f%%), probe and causeway %.2fs (%+.1f%%)\n",
			a, s, (s / a - 1) * 100, l, (l / a - 1) * 100 }'
done
