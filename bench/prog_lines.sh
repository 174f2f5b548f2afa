#!/usr/bin/env bash
# Where the state-change program's time goes, by source line: samples the
# whole machine (`perf record -a`) while `BIN record` is attached to one
# loopback churn, then maps each sample in the program's JIT image to the
# BPF source line the kernel's line info gives for it (the image and line
# info read with BPF_OBJ_GET_INFO_BY_FD, as this bpftool cannot dump JIT
# code). A sample right after a helper call is mostly time in that helper.
# Needs root, perf and bpftool.
# Usage: bench/prog_lines.sh [BIN] [CYCLES]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin causeway --example net_churn
t="${CARGO_TARGET_DIR:-target}/release"
bin="${1:-$t/causeway}" n="${2:-60000}"
dir=$(mktemp -d)
"$bin" record --output /dev/null 2>/dev/null &
cw=$!
trap 'kill -INT "$cw" 2>/dev/null; wait "$cw" 2>/dev/null; rm -rf "$dir"' EXIT
sleep 1.5
id=$(bpftool prog show name handle_sock_state | awk -F: 'NR == 1 {print $1}')
bpftool prog dump xlated id "$id" linum >"$dir/xlated.txt"
perf record -q -F 2999 -a -o "$dir/perf.data" -- "$t/examples/net_churn" - "$n" >/dev/null 2>&1
perf script -i "$dir/perf.data" -F ip,sym,symoff 2>/dev/null |
	awk '$2 ~ /handle_sock_state\+/ {split($2, a, "+"); print a[2]}' >"$dir/offsets.txt"
python3 - "$id" "$dir" <<'PY'
import bisect, collections, ctypes, os, re, struct, sys
prog_id, d = int(sys.argv[1]), sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def call(cmd, attr):  # bpf(2), 321 on x86-64
    buf = ctypes.create_string_buffer(attr, 128)
    r = libc.syscall(321, cmd, buf, 128)
    if r < 0:
        raise OSError(ctypes.get_errno(), "bpf")
    return r
fd = call(13, struct.pack("I", prog_id))  # BPF_PROG_GET_FD_BY_ID
def info(b):  # BPF_OBJ_GET_INFO_BY_FD into struct bpf_prog_info
    call(15, struct.pack("IIQ", fd, len(b), ctypes.addressof(b)))
first = ctypes.create_string_buffer(232)
info(first)
nli, = struct.unpack_from("I", first.raw, 148)
lrs, jrs = struct.unpack_from("II", first.raw, 172)
lines = ctypes.create_string_buffer(nli * lrs)
jited = ctypes.create_string_buffer(nli * jrs)
ask = bytearray(232)
struct.pack_into("=IQ", ask, 148, nli, ctypes.addressof(lines))
struct.pack_into("=QII", ask, 160, ctypes.addressof(jited), nli, lrs)
struct.pack_into("I", ask, 176, jrs)
second = ctypes.create_string_buffer(bytes(ask), 232)
info(second)
# Each line-info record: the JIT address it starts at, its BPF instruction.
starts = []
for i in range(nli):
    insn, = struct.unpack_from("I", lines.raw, i * lrs)
    addr, = struct.unpack_from("Q", jited.raw, i * jrs)
    starts.append((addr, insn))
base = starts[0][0]
addrs = [a - base for a, _ in starts]
source, cur = {}, None
for l in open(f"{d}/xlated.txt"):
    m = re.match(r"; (.*) \[file:\S+ line_num:(\d+)", l)
    if m:
        cur = f"{m.group(2)}: {m.group(1).strip()[:70]}"
        continue
    m = re.match(r"\s*(\d+): ", l)
    if m:
        source[int(m.group(1))] = cur
hits = collections.Counter()
for off in open(f"{d}/offsets.txt"):
    i = bisect.bisect_right(addrs, int(off, 16)) - 1
    hits[source.get(starts[i][1], "?")] += 1
total = sum(hits.values())
print(f"{total} samples in handle_sock_state")
for where, c in hits.most_common(25):
    print(f"{c:5d} {100 * c / total:5.1f}%  {where}")
PY
