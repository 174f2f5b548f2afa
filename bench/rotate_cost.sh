#!/usr/bin/env bash
# What `record --rotate` costs causeway's own CPU: per round, in turn,
# `causeway record --output FILE` and `causeway record --output FILE
# --rotate SIZE --keep 3` around `net_churn - CYCLES`, each writing to a
# fresh directory on disk; prints the CPU from record's closing
# `recorded ...` line (and how many files) for each run. Needs root.
# Usage: bench/rotate_cost.sh [CYCLES] [ROUNDS] [SIZE]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin causeway --example net_churn
t="${CARGO_TARGET_DIR:-target}/release"
n="${1:-60000}" rounds="${2:-3}" size="${3:-1G}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for _ in $(seq "$rounds"); do
	for mode in plain rotate; do
		rm -rf "$dir/j" && mkdir "$dir/j"
		args=(--output "$dir/j/j.jsonl")
		[ "$mode" = rotate ] && args+=(--rotate "$size" --keep 3)
		"$t/causeway" record "${args[@]}" 2>"$dir/err" &
		cw=$!
		sleep 2
		"$t/examples/net_churn" - "$n" >/dev/null
		sleep 0.5
		kill -INT "$cw"
		wait "$cw" || true
		echo "$mode: $(tail -1 "$dir/err")"
	done
done
