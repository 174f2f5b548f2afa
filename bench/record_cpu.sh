#!/usr/bin/env bash
# causeway's own CPU around the loopback churn, for one or more causeway
# binaries in rotating order: per run, `BIN record --output /dev/null`
# attached to `net_churn - CYCLES`; reports the CPU from record's closing
# `recorded ...` line and each thread's scheduler time during the churn
# (the journal writer, named after the binary; the ring reader,
# `causeway-probe`).
# Medians over the rounds. Needs root.
# Usage: bench/record_cpu.sh CYCLES ROUNDS BIN...
set -euo pipefail
if [ $# -lt 3 ]; then
	echo "usage: bench/record_cpu.sh CYCLES ROUNDS BIN... (e.g. 120000 3 target/release/causeway)" >&2
	exit 2
fi
cd "$(dirname "$0")/.."
cargo build --release --quiet --example net_churn
churn="${CARGO_TARGET_DIR:-target}/release/examples/net_churn"
n="$1" rounds="$2"
shift 2
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
# Scheduler time (ns) of each thread of process $1, by thread name.
threads() {
	for t in /proc/"$1"/task/*; do
		echo "$(cat "$t/comm") $(cut -d' ' -f1 "$t/schedstat")"
	done | sort
}
for _ in $(seq "$rounds"); do
	for bin in "$@"; do
		"$bin" record --output /dev/null 2>"$err" &
		cw=$!
		sleep 1.5
		before=$(threads "$cw")
		"$churn" - "$n" >/dev/null
		after=$(threads "$cw")
		kill -INT "$cw"
		wait "$cw" || true
		cpu=$(tail -1 "$err" | sed -E 's/.*\(([0-9.]+) s CPU\).*/\1/')
		split=$(join <(echo "$before") <(echo "$after") | awk '{printf " %s=%d", $1, ($3-$2)/1e6}')
		echo "$bin $cpu$split" >>"$out"
	done
done
python3 - "$out" "$n" <<'PY'
import collections, statistics, sys
path, n = sys.argv[1], sys.argv[2]
runs = collections.defaultdict(list)
for line in open(path):
    bin, cpu, *split = line.split()
    runs[bin].append((float(cpu), dict(s.split("=") for s in split)))
print(f"causeway record around net_churn - {n}")
for bin, rs in runs.items():
    cpus = [c for c, _ in rs]
    print(f"  {bin}: {statistics.median(cpus):.3f} s CPU (median; {min(cpus):.3f} to {max(cpus):.3f})")
    for name in sorted({k for _, s in rs for k in s}):
        ms = [int(s[name]) for _, s in rs if name in s]
        print(f"    {name}: {statistics.median(ms)} ms during the churn (median; {min(ms)} to {max(ms)})")
PY
