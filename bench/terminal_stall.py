#!/usr/bin/env python3
"""What a terminal that stops reading costs the live view: runs
`BIN live --record JOURNAL` on a pseudo-terminal nothing reads, fills it
with 2,000 short processes, runs `net_churn - CYCLES`, and counts the
churn's connects in the journal and the records the kernel lost. Needs
root. Usage: bench/terminal_stall.py BIN NET_CHURN [CYCLES]"""
import fcntl, json, os, pty, struct, subprocess, sys, tempfile, termios, time

binary, churn = sys.argv[1], sys.argv[2]
cycles = int(sys.argv[3]) if len(sys.argv) > 3 else 500000
journal = os.path.join(tempfile.mkdtemp(), "stall.jsonl")
master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
view = subprocess.Popen([binary, "live", "--record", journal],
                        stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
time.sleep(3)
for _ in range(2000):
    subprocess.run(["/bin/sh", "-c", ":"])
rate = subprocess.run([churn, "-", str(cycles)], capture_output=True, text=True).stdout.strip()
time.sleep(2)
view.terminate()
# Read the terminal now, so that a view stuck writing to it can end.
os.set_blocking(master, False)
deadline = time.time() + 15
while view.poll() is None and time.time() < deadline:
    try:
        os.read(master, 65536)
    except BlockingIOError:
        time.sleep(0.05)
if view.poll() is None:
    view.kill()
view.wait()
connects = lost = 0
with open(journal) as f:
    for line in f:
        if line.startswith('{"type":"connect"') and '"comm":"net_churn"' in line:
            connects += 1
        elif line.startswith('{"type":"lost"'):
            lost += json.loads(line)["count"]
print(f"{binary}: churn {rate}; connects in the journal {connects} of {cycles}; records lost {lost}")
