#!/usr/bin/env bash
# The probe's kernel time per loopback churn cycle, from the kernel's BPF
# statistics, for any causeway binary (e.g. a build with one thing taken
# out). The statistics add two clock reads to every program run: run it on
# examples/hollow_record too to see what they cost. Needs root.
# Usage: bench/probe_time.sh [CAUSEWAY_BIN] [CYCLES]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin causeway --example net_churn
t="${CARGO_TARGET_DIR:-target}/release"
bin="${1:-$t/causeway}" n="${2:-60000}"
stats=/proc/sys/kernel/bpf_stats_enabled
echo 1 >"$stats"
"$bin" record --output /dev/null 2>/dev/null &
cw=$!
trap 'kill -INT "$cw" 2>/dev/null; wait "$cw" 2>/dev/null; echo 0 >"$stats"' EXIT
sleep 1.5
# Run time and runs of the probe's programs (handle_*, or hollow_* for
# examples/hollow_record), summed.
snap() {
	bpftool prog show -j | python3 -c '
import json, sys
t = c = 0
for p in json.load(sys.stdin):
    if p.get("name", "").startswith(("handle_", "hollow_")):
        t += p.get("run_time_ns", 0)
        c += p.get("run_cnt", 0)
print(t, c)'
}
before=$(snap)
"$t/examples/net_churn" - "$n" >/dev/null
after=$(snap)
python3 - "$before" "$after" "$n" <<'PY'
import sys
t0, c0 = map(int, sys.argv[1].split())
t1, c1 = map(int, sys.argv[2].split())
n = int(sys.argv[3])
print(f"{(t1 - t0) / n:.0f} ns of probe time per cycle, {(c1 - c0) / n:.1f} runs per cycle")
PY
