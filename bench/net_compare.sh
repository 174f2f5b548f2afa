#!/usr/bin/env bash
# Two causeway binaries side by side on the loopback TCP churn: per round,
# in rotating order, the churn alone, with `A record` attached and with
# `B record` attached, so that the VM's drift hits all three alike. Prints
# each binary's median slowdown (wall and the churn's own CPU) against the
# churn alone in the same round, and B against A round by round, each with
# a 95 % confidence interval of the median (order statistics) and the
# rounds' range. Needs root.
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
import collections, math, statistics, sys
path, a, b, n = sys.argv[1:]
runs = collections.defaultdict(dict)
for line in open(path):
    r, config, wall, user, sys_ = line.split()
    runs[config][r] = (float(wall), float(user) + float(sys_))
rounds = sorted(runs["alone"])
print(f"loopback TCP churn, {n} cycles, {len(rounds)} rounds; A = {a}, B = {b}")
def med(xs):
    return 100 * statistics.median(xs)
def ci(xs):
    """A 95 % confidence interval of the median, from the order statistics
    (no assumption about the rounds' distribution): the j-th smallest to
    the j-th largest, for the largest j that the binomial(n, 1/2) leaves
    at least 95 % coverage; the whole range when n is too small for it."""
    s, n = sorted(xs), len(xs)
    tail, j = 0.0, 0
    while 2 * (tail + math.comb(n, j) / 2**n) <= 0.05:
        tail += math.comb(n, j) / 2**n
        j += 1
    return (s[j - 1], s[n - j]) if j else (s[0], s[-1])
def show(xs):
    lo, hi = ci(xs)
    return (f"{med(xs):+.1f}% [95% CI {100*lo:+.1f} to {100*hi:+.1f}; "
            f"rounds {100*min(xs):+.1f} to {100*max(xs):+.1f}]")
for label, i in (("wall", 0), ("churn CPU", 1)):
    sa = [runs["A"][r][i] / runs["alone"][r][i] - 1 for r in rounds]
    sb = [runs["B"][r][i] / runs["alone"][r][i] - 1 for r in rounds]
    ba = [runs["B"][r][i] / runs["A"][r][i] - 1 for r in rounds]
    print(f"  {label:9}: A {show(sa)}")
    print(f"  {'':9}  B {show(sb)}")
    print(f"  {'':9}  B against A {show(ba)} (medians of per-round ratios)")
EOF
