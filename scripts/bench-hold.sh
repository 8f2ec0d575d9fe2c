#!/usr/bin/env bash
# How many concurrent connections connbench holds on this machine, and what
# each costs: opens N loopback connections at RATE per second against the
# built-in listener, holds them for HOLD, then closes them (RST, so nothing
# is left in TIME_WAIT). connbench picks the number of client and listener
# processes from the per-process descriptor limit (--procs auto) and the
# number of loopback source addresses from the port range by itself.
# Prints the hold record: held/asked, time to open, failures by class, user
# memory per connection (slot + fitted slope of the resident set) and the
# fixed part, kernel TCP slab bytes per connection (both ends).
#
# Usage: sudo scripts/bench-hold.sh [N] [RATE] [HOLD]   (defaults: 1000000 20000 10s)
# It needs about 2 N descriptors system-wide (fs.file-max) and ~5 KiB of
# kernel memory per connection.
set -euo pipefail
n=${1:-1000000}
rate=${2:-20000}
hold=${3:-10s}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/connbench" .
echo "fs.file-nr: $(cat /proc/sys/fs/file-nr)  (need about $((2 * n)) free)"
"$tmp/connbench" run -w hold -n "$n" --rate "$rate" -d "$hold" --close rst --procs auto \
  --connect-timeout 60s -o "$tmp/h.json" | grep -E 'held|open|memory|growth|slab|failures'
python3 - "$tmp/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]
h = r["hold"]
print(f'held {h["held"]:,} of {h["asked"]:,} (opened {h["opened"]:,}) in {h["open_ns"]/1e9:.1f} s over {h["sources"]} sources')
print(f'user memory: {h["user_bytes_per_conn"]:.0f} B per connection ({h["per_conn_method"]}), {h["fixed_bytes"]/2**20:.1f} MiB fixed, {h["rss_growth_bytes"]/2**20:.0f} MiB grown in all processes')
if h.get("listener_procs"):
    print(f'listener: {h["listener_procs"]} processes, {h["listener_rss_growth_bytes"]/max(h["opened"],1):.0f} B of resident growth per connection')
if h["kernel_slab_bytes"] < 0:
    print('kernel: /proc/slabinfo was not readable (run as root for the kernel figure)')
else:
    print(f'kernel: {h["kernel_slab_bytes"]/max(h["opened"],1):.0f} B of TCP slab objects per connection (both ends), peak TCP inuse {h["peak_tcp_inuse"]:,}')
print(f'failures: {r["failures"]}')
PY
