#!/usr/bin/env bash
# Every figure README.md quotes, from the command the README shows for it:
# builds connbench once, runs each command, and prints per section the rows,
# lines and notes the README quotes from its output. Figures depend on the
# machine (CPUs, kernel, load from other processes), so the top lines say
# which machine this was.
#
# Usage: scripts/readme-figures.sh [--long] [SECTION...]
#   SECTION: main rtt fastopen drop-syn drop-syn-tail hold backlog synflood
#            leak tls sampling hold-million   (default: all, in that order)
#   --long   also run the sections that take more than about a minute,
#            through the scripts the README names for them (each builds
#            connbench once more, the same way): sampling is
#            scripts/bench-sampling.sh (6 runs of 12 s); hold-million is
#            scripts/bench-hold.sh (1,000,000 connections, ~4 min; needs
#            about 2,000,000 free descriptors and ~5 GiB of kernel memory)
#
# As root, the loopback sections run in a fresh network namespace each
# (unshare -n, lo up), so sockets left by one command (TIME_WAIT) do not
# change the next and the host is untouched; the emulated-path and compare
# sections make their own namespaces. Sections that need root say so and
# are skipped when not root. Every run is bounded by its -d / -n.
set -euo pipefail
cd "$(dirname "$0")/.."

long=0
sections=()
for a in "$@"; do
  case $a in
    --long) long=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    main|rtt|fastopen|drop-syn|drop-syn-tail|hold|backlog|synflood|leak|tls|sampling|hold-million)
      sections+=("$a") ;;
    *) echo "readme-figures: unknown section or flag \"$a\" (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#sections[@]} -gt 0 ] || sections=(main rtt fastopen drop-syn drop-syn-tail hold backlog synflood leak tls sampling hold-million)

root=0
[ "$(id -u)" = 0 ] && root=1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/connbench" .
cb=$tmp/connbench

echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || echo unknown)), kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "connbench: $("$cb" version 2>/dev/null || echo '?'), $(go version | cut -d' ' -f3), $(git rev-parse --short HEAD 2>/dev/null || echo 'no git')$(git diff --quiet 2>/dev/null || echo ' (modified)')"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), as $( [ $root = 1 ] && echo root || echo "uid $(id -u) (root-only sections skipped)")"
for s in net.ipv4.ip_local_port_range net.ipv4.tcp_tw_reuse net.ipv4.tcp_syn_linear_timeouts net.ipv4.tcp_syncookies; do
  f=/proc/sys/${s//.//}
  if [ -r "$f" ]; then echo "host $s = $(tr '\t' ' ' <"$f")"; fi
done

# isolate CMD...: CMD in a fresh network namespace with lo up (as root),
# else in the host's namespace.
isolate() {
  if [ $root = 1 ] && command -v unshare >/dev/null; then
    unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"
  else
    "$@"
  fi
}

# cb_to NAME CMD...: run CMD with stdout to $tmp/NAME.txt and stderr to
# $tmp/NAME.err; on failure print the status and the last error line.
cb_to() {
  local name=$1 rc=0
  shift
  "$@" >"$tmp/$name.txt" 2>"$tmp/$name.err" || rc=$?
  [ $rc = 0 ] && return 0
  echo "   failed (exit $rc): $(tail -1 "$tmp/$name.err")"
  return 1
}

# header NAME COMMAND: the section's title and the command as the README shows it.
header() { printf '\n== %s: %s\n' "$1" "$2"; }

# needroot: 0 when root, else prints the skip line and returns 1.
needroot() {
  [ $root = 1 ] && return 0
  echo "   skipped (needs root: network namespaces)"
  return 1
}

# rows [-p] FILE PATTERN...: the table rows whose label starts with one of
# the patterns (awk regular expressions); with -p also the rows under a
# matching phase row (p90, p99, p99.9, max).
rows() {
  local more=0
  [ "$1" = -p ] && { more=1; shift; }
  local f=$1
  shift
  local re
  re=$(printf '%s|' "$@")
  re=${re%|}
  awk -v re="$re" -v more=$more '
    /[^ ]/ {
      label = $0; sub(/^ +/, "", label)
      if (label ~ "^(" re ")") { print; keep = 1; next }
      if (keep && more && label ~ /^(p90|p99|p99\.9|max) /) { print; next }
      keep = 0
    }' "$f"
}

# notes FILE: every note line, as printed.
notes() { grep -E '^note' "$1" || echo "   (no notes)"; }

sec_main() {
  header main 'go run .   (connbench with no command; default -d 5s)'
  (cd "$tmp" && cb_to main isolate "$cb") || return 0
  grep -E '^(Pooling gives|A new connection adds|The handshake alone)' "$tmp/main.txt"
  echo
  grep -m1 -E '^ +pooled +per-request *$' "$tmp/main.txt" || true
  rows "$tmp/main.txt" 'transactions/s' 'new connections/s'
  echo
  notes "$tmp/main.txt"
}

sec_rtt() {
  header rtt 'connbench run -w per-request --rtt 20ms -d 2s'
  needroot || return 0
  cb_to rtt "$cb" run -w per-request --rtt 20ms -d 2s || return 0
  rows "$tmp/rtt.txt" 'handshake p50' 'transaction p50'
}

sec_fastopen() {
  header fastopen 'connbench compare -w per-request --rtt 20ms -d 2s --vary fastopen=off,sendto,connect'
  needroot || return 0
  cb_to fo "$cb" compare -w per-request --rtt 20ms -d 2s --vary fastopen=off,sendto,connect || return 0
  head -1 "$tmp/fo.txt"
  rows "$tmp/fo.txt" 'connect→first byte p50' 'SYN carried' '…cold'
}

sec_drop_syn() {
  header drop-syn 'connbench run -w per-request --drop-syn 1 -d 3s'
  needroot || return 0
  cb_to ds "$cb" run -w per-request --drop-syn 1 -d 3s || return 0
  rows "$tmp/ds.txt" 'handshake p50' 'handshakes with SYN'
}

sec_drop_syn_tail() {
  header drop-syn-tail 'connbench run -w per-request --rtt 10ms --drop-syn 20% -d 5s'
  needroot || return 0
  cb_to dt "$cb" run -w per-request --rtt 10ms --drop-syn 20% -d 5s || return 0
  rows -p "$tmp/dt.txt" 'handshake p50' 'handshakes with SYN'
  echo "   net.ipv4.tcp_syn_linear_timeouts = $(cat /proc/sys/net/ipv4/tcp_syn_linear_timeouts 2>/dev/null || echo 'absent (kernel < 6.5: timeouts double)')"
}

sec_hold() {
  header hold 'connbench run -w hold -n 5000 --rate 1000 -d 1s'
  cb_to hold isolate "$cb" run -w hold -n 5000 --rate 1000 -d 1s || return 0
  rows "$tmp/hold.txt" 'held at the end' 'time to open' 'user memory' 'kernel TCP slab' 'failures'
}

sec_backlog() {
  header backlog 'connbench run -w backlog -d 3s'
  cb_to bl isolate "$cb" run -w backlog -d 3s || return 0
  rows -p "$tmp/bl.txt" 'new connections/s' 'handshake p50' 'Δ TcpExt.Listen'
  notes "$tmp/bl.txt"
}

sec_synflood() {
  header synflood 'connbench compare -w synflood --flood-rate 5000 -d 3s --vary sysctl:net.ipv4.tcp_syncookies=0,1'
  needroot || return 0
  cb_to sf "$cb" compare -w synflood --flood-rate 5000 -d 3s --vary sysctl:net.ipv4.tcp_syncookies=0,1 || return 0
  head -1 "$tmp/sf.txt"
  rows "$tmp/sf.txt" 'legitimate' 'listener ns Δ TcpExt.(TCPReqQFullDrop|SyncookiesSent)'
}

sec_leak() {
  header leak 'connbench run -w per-request --leak -d 2s'
  cb_to leak isolate "$cb" run -w per-request --leak -d 2s || return 0
  rows "$tmp/leak.txt" 'transactions ' 'listener CLOSE_WAIT' 'listener leaked' 'listener descriptors'
}

sec_tls() {
  # The README's TLS section: one command per question (the --rtt ones need root).
  local tlsrows=('transactions/s' 'handshake p50' 'TLS handshake p50' '…full p50' '…resumed p50' 'transaction p50' 'TLS negotiated'
    'TLS resumed' 'TLS handshake predicted' 'TLS bytes' 'client CPU µs/TLS' 'listener CPU µs/TLS' 'listener TLS handshakes')
  header tls 'connbench run --tls -d 2s'
  cb_to tls1 isolate "$cb" run --tls -d 2s && rows "$tmp/tls1.txt" "${tlsrows[@]}"
  header tls 'connbench compare --tls --rtt 20ms -d 2s --vary tls-version=1.2,1.3'
  if needroot; then cb_to tls2 "$cb" compare --tls --rtt 20ms -d 2s --vary tls-version=1.2,1.3 && rows "$tmp/tls2.txt" "${tlsrows[@]}"; fi
  header tls 'connbench compare --tls -d 2s --vary tls-resume=off,tickets'
  cb_to tls3 "$cb" compare --tls -d 2s --vary tls-resume=off,tickets && rows "$tmp/tls3.txt" "${tlsrows[@]}"
  header tls 'connbench compare --tls -w connect -d 2s --vary tls-cert=rsa2048,ecdsa-p256'
  cb_to tls4 "$cb" compare --tls -w connect -d 2s --vary tls-cert=rsa2048,ecdsa-p256 && rows "$tmp/tls4.txt" "${tlsrows[@]}"
  header tls 'connbench compare --tls --rtt 20ms -d 2s --vary tls-groups=X25519,X25519MLKEM768'
  if needroot; then cb_to tls5 "$cb" compare --tls --rtt 20ms -d 2s --vary tls-groups=X25519,X25519MLKEM768 && rows "$tmp/tls5.txt" "${tlsrows[@]}"; fi
  header tls 'connbench compare --tls -d 2s --vary workload=pooled,per-request   (and without --tls)'
  cb_to tls6 "$cb" compare --tls -d 2s --vary workload=pooled,per-request && grep -E '^(Pooling gives|A new connection adds)' "$tmp/tls6.txt"
  cb_to tls7 "$cb" compare -d 2s --vary workload=pooled,per-request && grep -E '^Pooling gives' "$tmp/tls7.txt"
  return 0
}

sec_sampling() {
  header sampling 'sudo scripts/bench-sampling.sh   (per-request, 8 sources, tcp_tw_reuse=0: sampled vs --no-sample)'
  if [ $long = 0 ]; then echo "   skipped (--long)"; return 0; fi
  needroot || return 0
  scripts/bench-sampling.sh 3 12s
}

sec_hold_million() {
  header hold-million 'sudo scripts/bench-hold.sh   (1,000,000 connections)'
  if [ $long = 0 ]; then echo "   skipped (--long)"; return 0; fi
  needroot || return 0
  scripts/bench-hold.sh 1000000 20000 10s
}

for s in "${sections[@]}"; do
  "sec_${s//-/_}" || echo "   failed: the command above exited with status $?"
done
