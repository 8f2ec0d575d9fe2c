#!/usr/bin/env bash
# What socket-state sampling costs a run: per-request load that piles up
# TIME_WAIT sockets (tcp_tw_reuse=0, 8 source addresses: >100,000 of them by
# the end), with sampling every second against --no-sample, each run in a
# fresh network namespace, interleaved, RUNS times each. Prints the compare
# table (medians, min–max, verdict) and the slowest sample of each run with
# the TIME_WAIT count it saw.
#
# Usage: sudo scripts/bench-sampling.sh [RUNS] [DURATION]   (defaults: 3 12s)
set -euo pipefail
runs=${1:-3}
dur=${2:-12s}
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench-sampling: needs root (network namespaces)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/connbench" .
"$tmp/connbench" compare -w per-request -c 10 -d "$dur" --source 127.0.0.2-127.0.0.9 \
  --vary no-sample=false,true --vary sysctl:net.ipv4.tcp_tw_reuse=0 \
  --repeat "$runs" --quiet -o "$tmp/s.json"
echo
echo "slowest sample per sampled run (ms) and the TIME_WAIT peak it saw:"
python3 - "$tmp/s.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for r in doc["runs"]:
    k = r.get("kernel") or {}
    if k.get("samples"):
        print(f'  {r["label"]} #{r.get("repetition", 1)}: {k["sample_max_ns"]/1e6:.1f} ms over {k["samples"]} samples, TIME_WAIT peak {k["peak_states"].get("time_wait", 0):,}, {r["rates"]["transactions_per_sec"]:,.0f} tx/s')
PY
