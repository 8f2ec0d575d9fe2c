#!/usr/bin/env bash
# Engine benchmark against the built-in listener: per-request connections/s
# (RST and FIN close), pooled transactions/s and connect-only connections/s,
# each the median of RUNS runs, with the client's user CPU per connection
# (or per transaction for pooled).
#
# Usage: scripts/bench.sh [RUNS] [DURATION]      (defaults: 3 10s)
#
# As root every run gets a fresh network namespace (unshare -n), so TIME_WAIT
# sockets left by one run do not slow the next and the host is untouched.
# Not as root, runs share the host's namespace: expect more noise.
set -euo pipefail
runs=${1:-3}
dur=${2:-10s}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/connbench" .

isolate() {
  if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
    unshare -n sh -c 'ip link set lo up 2>/dev/null || true; exec "$@"' sh "$@"
  else
    "$@"
  fi
}
[ "$(id -u)" = 0 ] || echo "bench: not root: runs share the host network namespace" >&2

# field FILE KEY: the first numeric value of "KEY" in a result file.
field() { grep -m1 "\"$2\"" "$1" | sed 's/.*: *\([0-9.e+-]*\).*/\1/'; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-22s %14s %14s   %s\n' "benchmark" "median/s" "user µs/op" "runs"
bench() {
  local name=$1 key=$2 per=$3
  shift 3
  local rates=() cpus=()
  for i in $(seq "$runs"); do
    isolate "$tmp/connbench" run "$@" -d "$dur" -q -o "$tmp/r.json" >/dev/null
    rates+=("$(field "$tmp/r.json" "$key")")
    cpus+=("$(field "$tmp/r.json" "$per")")
  done
  local rm cm
  rm=$(printf '%s\n' "${rates[@]}" | median)
  cm=$(printf '%s\n' "${cpus[@]}" | median)
  printf '%-22s %14.0f %14.2f   %s\n' "$name" "$rm" "$(echo "$cm" | awk '{print $1/1000}')" \
    "$(printf '%.0f ' "${rates[@]}")"
}

bench "per-request (rst)" conns_per_sec user_ns_per_conn -w per-request --close rst -c 10
bench "per-request (fin)" conns_per_sec user_ns_per_conn -w per-request --close fin -c 10
bench "pooled"            transactions_per_sec user_ns_per_transaction -w pooled -c 10
bench "connect (rst)"     conns_per_sec user_ns_per_conn -w connect --close rst -c 10
