#!/usr/bin/env bash
# Two causeway binaries side by side on the loopback TCP churn: per round,
# in rotating order, the churn alone, with `A record` attached and with
# `B record` attached, so that the VM's drift hits all three alike. Prints
# each binary's median slowdown (wall and the churn's own CPU) against the
# churn alone in the same round, and B against A round by round. Needs root.
# Usage: bench/net_compare.sh A_BIN B_BIN [CYCLES] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --example net_churn
churn="${CARGO_TARGET_DIR:-target}/release/examples/net_churn"
a="$1" b="$2" n="${3:-60000}" rounds="${4:-20}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
TIMEFORMAT='%R %U %S'
configs=(alone A B)
for round in $(seq "$rounds"); do
	for i in 0 1 2; do
		config=${configs[$(((i + round) % 3))]}
		bin=
		[ "$config" = A ] && bin=$a
		[ "$config" = B ] && bin=$b
		if [ -n "$bin" ]; then
			"$bin" record --output /dev/null 2>/dev/null &
			cw=$!
		fi
		sleep 1.5
		t=$({ time "$churn" - "$n" >/dev/null; } 2>&1)
		if [ -n "$bin" ]; then
			kill -INT "$cw"
			wait "$cw" || true
		fi
		echo "$round $config $t" >>"$out"
	done
done
python3 - "$out" "$a" "$b" "$n" <<'EOF'
import collections, statistics, sys
path, a, b, n = sys.argv[1:]
runs = collections.defaultdict(dict)
for line in open(path):
    r, config, wall, user, sys_ = line.split()
    runs[config][r] = (float(wall), float(user) + float(sys_))
rounds = sorted(runs["alone"])
print(f"loopback TCP churn, {n} cycles, {len(rounds)} rounds; A = {a}, B = {b}")
def med(xs):
    return 100 * statistics.median(xs)
for label, i in (("wall", 0), ("churn CPU", 1)):
    sa = [runs["A"][r][i] / runs["alone"][r][i] - 1 for r in rounds]
    sb = [runs["B"][r][i] / runs["alone"][r][i] - 1 for r in rounds]
    ba = [runs["B"][r][i] / runs["A"][r][i] - 1 for r in rounds]
    print(f"  {label:9}: A {med(sa):+.1f}% ({100*min(sa):+.1f} to {100*max(sa):+.1f}), "
          f"B {med(sb):+.1f}% ({100*min(sb):+.1f} to {100*max(sb):+.1f}), "
          f"B against A {med(ba):+.1f}% (median of per-round ratios)")
EOF
