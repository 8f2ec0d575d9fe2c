#!/usr/bin/env bash
# connbench side by side with its peers: neper, netperf, wrk and h2load.
#
#   pair          connbench                                 peer
#   crr-rst       run -w per-request --close rst            neper tcp_crr            (same flows, threads)
#   crr-fin       run -w per-request --close fin            neper tcp_crr --time-wait  (both at the kernel's cap: see the note it prints)
#   rr            run -w pooled                             neper tcp_rr
#   cc            run -w connect --close rst                FLOWS netperf -t TCP_CC at once, summed
#   http-close    run -w per-request --protocol http        wrk -H 'Connection: close'
#   http-ka       run -w pooled --protocol http             wrk (keep-alive)
#   http-h2load   run -w pooled --protocol http             h2load --h1 -D
#
# The first four use each tool's own server (connbench's built-in listener,
# neper's server, netserver); the HTTP pairs load the same nginx (1 worker,
# a SIZE-byte static file on 127.0.0.1:8080), started for each measurement
# and stopped after it. Every measurement runs alone in a fresh network
# namespace (unshare -n; unshare -rn when not root) with lo up and
# 192.0.2.1/32 added to lo: without an address other than 127.0.0.1,
# getaddrinfo's AI_ADDRCONFIG (used by netperf) resolves nothing.
# Rounds are interleaved: each round measures every pair once, connbench
# first in odd rounds and the peer first in even ones, so drift hits both.
# The table gives medians, connbench/peer (of the medians, and the median of
# each round's own ratio) and the client's CPU per connection (or
# transaction): connbench's from its JSON, the peer's from getrusage of its
# client process(es) divided by its operations.
#
# It builds and downloads nothing. Tools are found on PATH or named by:
#   CONNBENCH  the connbench binary (default: connbench on PATH, else ./connbench)
#   NEPER_DIR  a directory holding neper's tcp_crr and tcp_rr (default: PATH)
#   NETPERF    the netperf binary; netserver: NETSERVER, else from netperf's
#              directory, else PATH
#   WRK, H2LOAD, NGINX   those binaries (nginx also looked for in /usr/sbin)
# A variable that is set is the only place looked at. A peer not found
# prints "skipped (... not found)".
#
# Environment: ROUNDS (5: about 10 minutes for all pairs), DURATION (8s: whole seconds), FLOWS (10: connections
# or flows in flight), THREADS (client threads for every tool, and server
# threads for connbench's listener and neper: half the CPUs, at least 1),
# SIZE (nginx file bytes, 612), PAIRS (the pairs to run, default all).
#
# Usage: scripts/vs-peers.sh
set -euo pipefail

# ---- inside a namespace ------------------------------------------------------

# wait_listen PORT PID: until something listens on PORT (at most 5 s), or PID dies.
wait_listen() {
  local i
  for i in $(seq 100); do
    [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# stop PID: SIGTERM to a server this script started, then reap it.
stop() {
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# kv FILE KEY: the value of a neper "key=value" line.
kv() { awk -F= -v k="$2" '$1 == k {print $2; exit}' "$1"; }
# field FILE KEY: the first numeric value of "KEY" in a connbench result.
field() { grep -m1 "\"$2\"" "$1" | sed 's/.*: *\([0-9.e+-]*\).*/\1/'; }

# user_s FILE: children's user seconds from the second line of bash's `times`;
# cpu_s FILE: their user and system seconds.
user_s() { sed -n 2p "$1" | awk '{split($1, a, /[ms]/); print a[1] * 60 + a[2]}'; }
cpu_s() { sed -n 2p "$1" | awk '{split($1, a, /[ms]/); split($2, b, /[ms]/); print a[1] * 60 + a[2] + b[1] * 60 + b[2]}'; }

# peer_client LOG TIMES CMD...: runs one peer client, its user CPU to TIMES.
peer_client() {
  local log=$1 t=$2
  shift 2
  (
    rc=0
    timeout -k 5 "$((DUR_S + 30))" "$@" >"$log" 2>&1 || rc=$?
    times >"$t"
    exit "$rc"
  )
}

start_nginx() {
  "$NGINX_BIN" -p "$TMPD/nginx" -c "$TMPD/nginx/nginx.conf" -e "$TMPD/nginx/error.log" \
    -g 'daemon off;' &
  nginx_pid=$!
  wait_listen 8080 "$nginx_pid" || { cat "$TMPD/nginx/error.log" >&2; return 1; }
}

# Every client is stopped by timeout 30 s past DURATION should it hang.
# Prints "RATE USER_NS_PER_OP CPU_NS_PER_OP" (the client's user CPU, and
# its user and system CPU together) for one measurement, nothing when it
# failed.
cb_measure() {
  local pair=$1 json=$TMPD/cb.json log=$TMPD/cb.log args per=user_ns_per_conn key=conns_per_sec ops=connections
  case $pair in
    crr-rst) args=(-w per-request --close rst) ;;
    crr-fin) args=(-w per-request --close fin) ;;
    rr) args=(-w pooled); per=user_ns_per_transaction; key=transactions_per_sec; ops=transactions ;;
    cc) args=(-w connect --close rst) ;;
    http-close) args=(-w per-request --protocol http --path /index.html 127.0.0.1:8080)
      per=user_ns_per_transaction; key=transactions_per_sec; ops=transactions ;;
    http-ka | http-h2load) args=(-w pooled --protocol http --path /index.html 127.0.0.1:8080)
      per=user_ns_per_transaction; key=transactions_per_sec; ops=transactions ;;
  esac
  case $pair in
    http-*) start_nginx || return 0 ;;
    *) args+=(--listener-loops "$THREADS") ;;
  esac
  rm -f "$json"
  timeout -k 5 "$((DUR_S + 30))" "$CB" run "${args[@]}" -c "$FLOWS" --loops "$THREADS" -d "${DUR_S}s" -q -o "$json" >"$log" 2>&1 || true
  [ -n "${nginx_pid:-}" ] && stop "$nginx_pid"
  if [ ! -s "$json" ]; then
    tail -3 "$log" | sed "s/^/vs-peers: connbench $pair: /" >&2
    return 0
  fi
  local fails
  fails=$(field "$json" failures_total)
  [ "${fails:-0}" = 0 ] || echo "vs-peers: connbench $pair: $fails failures" >&2
  # thread_ns: the client loops' exact CPU time (CLOCK_THREAD_CPUTIME_ID)
  echo "$(field "$json" "$key") $(field "$json" "$per") $(awk -v t="$(field "$json" thread_ns)" -v n="$(field "$json" "$ops")" \
    'BEGIN {printf "%.1f", (n > 0 ? t / n : 0)}')"
}

neper_measure() { # neper_measure BIN [flags]
  local bin=$1 log=$TMPD/peer.log t=$TMPD/peer.times s
  shift
  "$bin" -T "$THREADS" -F "$FLOWS" "$@" >"$TMPD/neper-server.log" 2>&1 &
  s=$!
  if ! wait_listen 12866 "$s"; then
    tail -3 "$TMPD/neper-server.log" | sed 's/^/vs-peers: neper server: /' >&2
    stop "$s"
    return 0
  fi
  peer_client "$log" "$t" "$bin" -c -H 127.0.0.1 -T "$THREADS" -F "$FLOWS" -l "$DUR_S" "$@" || true
  stop "$s"
  local rate n
  rate=$(kv "$log" throughput)
  n=$(kv "$log" num_transactions)
  if [ -z "$rate" ] || [ -z "$n" ] || [ "$n" = 0 ]; then
    tail -3 "$log" | sed 's/^/vs-peers: neper: /' >&2
    return 0
  fi
  # neper's own getrusage of the client, over its own transaction count
  awk -v a="$(kv "$log" utime_start)" -v b="$(kv "$log" utime_end)" -v c="$(kv "$log" stime_start)" \
    -v d="$(kv "$log" stime_end)" -v n="$n" -v r="$rate" \
    'BEGIN {printf "%s %.1f %.1f\n", r, (b - a) * 1e9 / n, (b - a + d - c) * 1e9 / n}'
}

netperf_measure() {
  local s i pids=() t=$TMPD/peer.times
  "$NETSERVER_BIN" -D -p 12865 >"$TMPD/netserver.log" 2>&1 &
  s=$!
  if ! wait_listen 12865 "$s"; then
    tail -3 "$TMPD/netserver.log" | sed 's/^/vs-peers: netserver: /' >&2
    stop "$s"
    return 0
  fi
  (
    for i in $(seq "$FLOWS"); do
      timeout -k 5 "$((DUR_S + 30))" "$NETPERF_BIN" -P0 -H 127.0.0.1 -p 12865 -t TCP_CC -l "$DUR_S" >"$TMPD/netperf.$i" 2>&1 &
      pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || true; done
    times >"$t"
  )
  stop "$s"
  # the result line: socket sizes (2), request, response, elapsed s, transactions/s
  local rate
  rate=$(cat "$TMPD"/netperf.* | awk 'NF == 6 && $5 > 0 {sum += $6; n++} END {if (n == '"$FLOWS"') print sum}')
  if [ -z "$rate" ]; then
    cat "$TMPD"/netperf.* | grep -v '^[0-9 .]*$' | sort -u | head -3 | sed 's/^/vs-peers: netperf: /' >&2
    return 0
  fi
  awk -v r="$rate" -v u="$(user_s "$t")" -v c="$(cpu_s "$t")" -v d="$DUR_S" \
    'BEGIN {printf "%s %.1f %.1f\n", r, u * 1e9 / (r * d), c * 1e9 / (r * d)}'
}

http_peer_measure() {
  local pair=$1 log=$TMPD/peer.log t=$TMPD/peer.times url=http://127.0.0.1:8080/index.html
  start_nginx || return 0
  case $pair in
    http-close) peer_client "$log" "$t" "$WRK_BIN" -t"$THREADS" -c"$FLOWS" -d"${DUR_S}s" \
      -H 'Connection: close' "$url" || true ;;
    http-ka) peer_client "$log" "$t" "$WRK_BIN" -t"$THREADS" -c"$FLOWS" -d"${DUR_S}s" "$url" || true ;;
    http-h2load) peer_client "$log" "$t" "$H2LOAD_BIN" --h1 -t "$THREADS" -c "$FLOWS" -D "$DUR_S" "$url" || true ;;
  esac
  stop "$nginx_pid"
  local rate
  case $pair in
    http-h2load)
      grep -E '^requests:' "$log" | grep -qv ' 0 failed, 0 errored' &&
        grep -E '^requests:' "$log" | sed 's/^/vs-peers: h2load: /' >&2
      rate=$(awk '/^finished in/ {print $4}' "$log") ;;
    *)
      grep -E 'Socket errors|Non-2xx' "$log" | sed 's/^/vs-peers: wrk: /' >&2 || true
      rate=$(awk '/^Requests\/sec:/ {print $2}' "$log") ;;
  esac
  if [ -z "$rate" ]; then
    tail -3 "$log" | sed "s/^/vs-peers: $pair peer: /" >&2
    return 0
  fi
  awk -v r="$rate" -v u="$(user_s "$t")" -v c="$(cpu_s "$t")" -v d="$DUR_S" \
    'BEGIN {printf "%s %.1f %.1f\n", r, u * 1e9 / (r * d), c * 1e9 / (r * d)}'
}

peer_measure() {
  case $1 in
    crr-rst) neper_measure "$NEPER_CRR" ;;
    crr-fin) neper_measure "$NEPER_CRR" --time-wait ;;
    rr) neper_measure "$NEPER_RR" ;;
    cc) netperf_measure ;;
    http-*) http_peer_measure "$1" ;;
  esac
}

# in_ns: the namespace's own setup, then one measurement ("cb PAIR" or
# "peer PAIR") or "sysctl NAME..." to read the fresh namespace's values.
in_ns() {
  cd "$TMPD"
  ip link set lo up
  ip addr add 192.0.2.1/32 dev lo
  case $1 in
    cb) cb_measure "$2" ;;
    peer) peer_measure "$2" ;;
    sysctl) shift; local n; for n; do cat "/proc/sys/${n//.//}" 2>/dev/null | tr '\t' ' ' || echo -; done ;;
  esac
}

if [ "${1:-}" = __ns ]; then
  shift
  in_ns "$@"
  exit 0
fi

# ---- outside: find the tools, run the rounds, print the table ----------------

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-8s}
FLOWS=${FLOWS:-10}
ncpu=$(nproc)
THREADS=${THREADS:-$(( ncpu / 2 > 0 ? ncpu / 2 : 1 ))}
SIZE=${SIZE:-612}
PAIRS=${PAIRS:-crr-rst crr-fin rr cc http-close http-ka http-h2load}
DUR_S=${DURATION%s}
for v in ROUNDS DUR_S FLOWS THREADS SIZE; do
  case ${!v} in
    '' | *[!0-9]* | 0) echo "vs-peers: ${v/DUR_S/DURATION}=${!v}: want a whole number > 0 (DURATION in seconds, e.g. 8s)" >&2; exit 2 ;;
  esac
done
for p in $PAIRS; do
  case $p in
    crr-rst | crr-fin | rr | cc | http-close | http-ka | http-h2load) ;;
    *) echo "vs-peers: PAIRS: unknown pair $p (crr-rst crr-fin rr cc http-close http-ka http-h2load)" >&2; exit 2 ;;
  esac
done

self=$(readlink -f "$0")
cd "$(dirname "$self")/.."

# find_tool NAME...: the first NAME that is an executable file or on PATH.
find_tool() {
  local n
  for n in "$@"; do
    [ -n "$n" ] || continue
    if [ -x "$n" ] && [ ! -d "$n" ]; then readlink -f "$n"; return; fi
    if command -v "$n" >/dev/null 2>&1; then command -v "$n"; return; fi
  done
}
# pick VAR NAME...: the tool VAR names when it is set (and nothing else), else find_tool NAME...
pick() {
  if [ -n "${!1:-}" ]; then find_tool "${!1}"; else shift; find_tool "$@"; fi
}
CB=$(pick CONNBENCH connbench ./connbench)
if [ -z "$CB" ]; then
  echo "vs-peers: no connbench${CONNBENCH:+ at CONNBENCH=$CONNBENCH}: set CONNBENCH, put it on PATH or build ./connbench (go build -o connbench .)" >&2
  exit 1
fi
if [ -n "${NEPER_DIR:-}" ]; then
  NEPER_CRR=$(find_tool "$NEPER_DIR/tcp_crr")
  NEPER_RR=$(find_tool "$NEPER_DIR/tcp_rr")
else
  NEPER_CRR=$(find_tool tcp_crr)
  NEPER_RR=$(find_tool tcp_rr)
fi
NETPERF_BIN=$(pick NETPERF netperf)
NETSERVER_BIN=
[ -n "$NETPERF_BIN" ] && NETSERVER_BIN=$(pick NETSERVER "$(dirname "$NETPERF_BIN")/netserver" netserver)
WRK_BIN=$(pick WRK wrk)
H2LOAD_BIN=$(pick H2LOAD h2load)
NGINX_BIN=$(pick NGINX nginx /usr/sbin/nginx)

if [ "$(id -u)" = 0 ]; then
  isolate=(unshare -n)
elif unshare -rn true 2>/dev/null; then
  isolate=(unshare -rn)
else
  echo "vs-peers: needs root or unprivileged user namespaces (unshare -rn) for a fresh network namespace per run" >&2
  exit 1
fi
for c in ip ss; do
  command -v "$c" >/dev/null || { echo "vs-peers: $c (iproute2) not found" >&2; exit 1; }
done

TMPD=$(mktemp -d)
chmod 755 "$TMPD"
trap 'rm -rf "$TMPD"' EXIT
cd "$TMPD" # neper writes a log file into the working directory, even for -v
mkdir -p "$TMPD/nginx/www" "$TMPD/res"
head -c "$SIZE" /dev/zero | tr '\0' 'x' >"$TMPD/nginx/www/index.html"
# user root: nginx runs as uid 0 of the namespace (root, or the user mapped
# by unshare -rn), where its default user (nobody) may not exist.
cat >"$TMPD/nginx/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $TMPD/nginx/nginx.pid;
error_log $TMPD/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path $TMPD/nginx/client_body;
    proxy_temp_path $TMPD/nginx/proxy;
    fastcgi_temp_path $TMPD/nginx/fastcgi;
    uwsgi_temp_path $TMPD/nginx/uwsgi;
    scgi_temp_path $TMPD/nginx/scgi;
    server {
        listen 127.0.0.1:8080 backlog=4096;
        root $TMPD/nginx/www;
    }
}
EOF
export CB NEPER_CRR NEPER_RR NETPERF_BIN NETSERVER_BIN WRK_BIN H2LOAD_BIN NGINX_BIN TMPD DUR_S FLOWS THREADS

# missing PAIR: what the pair lacks, or nothing.
missing() {
  case $1 in
    crr-*) [ -n "$NEPER_CRR" ] || echo "neper tcp_crr" ;;
    rr) [ -n "$NEPER_RR" ] || echo "neper tcp_rr" ;;
    cc) [ -n "$NETPERF_BIN" ] && [ -n "$NETSERVER_BIN" ] || echo "netperf/netserver" ;;
    http-*)
      [ -n "$NGINX_BIN" ] || { echo nginx; return; }
      case $1 in
        http-h2load) [ -n "$H2LOAD_BIN" ] || echo h2load ;;
        *) [ -n "$WRK_BIN" ] || echo wrk ;;
      esac ;;
  esac
}
peer_name() {
  case $1 in
    crr-rst) echo "per-request rst  vs neper tcp_crr" ;;
    crr-fin) echo "per-request fin  vs tcp_crr --time-wait" ;;
    rr) echo "pooled           vs neper tcp_rr" ;;
    cc) echo "connect rst      vs netperf TCP_CC x$FLOWS" ;;
    http-close) echo "http close       vs wrk" ;;
    http-ka) echo "http keep-alive  vs wrk" ;;
    http-h2load) echo "http keep-alive  vs h2load --h1" ;;
  esac
}
target() {
  case $1 in
    crr-fin) echo cap ;;
    rr) echo 1.15 ;;
    *) echo 1.10 ;;
  esac
}

ver() { "$@" 2>&1 | head -1 | tr -s ' \t' ' ' | cut -c1-60; }
{
  echo "vs-peers: $ROUNDS rounds of ${DUR_S}s, $FLOWS flows, $THREADS thread(s) per side, $ncpu CPUs, kernel $(uname -r)"
  echo "  connbench: $CB ($(ver "$CB" version))"
  [ -n "$NEPER_CRR" ] && echo "  neper:     $(dirname "$NEPER_CRR") ($(ver "$NEPER_CRR" -v))"
  [ -n "$NETPERF_BIN" ] && echo "  netperf:   $NETPERF_BIN ($(ver "$NETPERF_BIN" -V)), netserver ${NETSERVER_BIN:-not found}"
  [ -n "$WRK_BIN" ] && echo "  wrk:       $WRK_BIN ($(ver "$WRK_BIN" -v | cut -d' ' -f1-2))"
  [ -n "$H2LOAD_BIN" ] && echo "  h2load:    $H2LOAD_BIN ($(ver "$H2LOAD_BIN" --version))"
  [ -n "$NGINX_BIN" ] && echo "  nginx:     $NGINX_BIN ($(ver "$NGINX_BIN" -v | sed 's/.*version: //')), 1 worker, ${SIZE}-byte file"
} >&2

run_one() { # run_one cb|peer PAIR: appends "RATE CPU" (or "fail") to the pair's results
  local out
  out=$("${isolate[@]}" "$self" __ns "$1" "$2" || true)
  echo "${out:-fail}" >>"$TMPD/res/$2.$1"
}
for r in $(seq "$ROUNDS"); do
  for p in $PAIRS; do
    [ -z "$(missing "$p")" ] || continue
    echo "vs-peers: round $r/$ROUNDS: $p" >&2
    if [ $((r % 2)) = 1 ]; then
      run_one cb "$p"; run_one peer "$p"
    else
      run_one peer "$p"; run_one cb "$p"
    fi
  done
done

median() { sort -g | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]}'; }
# paired CB PEER: connbench/peer of each round in which both ran, one a line.
# Their median cancels what drifts from round to round (the machine's speed)
# and keeps what differs within a round (the tools).
# (A line is "RATE USER CPU", or "fail": six fields when both ran.)
paired() { paste -d' ' "$1" "$2" | awk 'NF == 6 && $4 > 0 {print $1 / $4}'; }
# col FILE N: column N of the runs that did not fail.
col() { grep -v '^fail' "$1" | awk -v n="$2" '{print $n}'; }

echo
printf '%-40s %11s %11s %7s %7s %6s %9s %9s %9s %9s  %s\n' "pair (connbench vs peer)" "connbench/s" "peer/s" "ratio" "paired" "target" \
  "cb µs/op" "peer µs/op" "cb CPU" "peer CPU" "runs/s: connbench | peer"
for p in $PAIRS; do
  m=$(missing "$p")
  if [ -n "$m" ]; then
    printf '%-40s skipped (%s not found)\n' "$(peer_name "$p")" "$m"
    continue
  fi
  cf=$TMPD/res/$p.cb pf=$TMPD/res/$p.peer
  cr=$(col "$cf" 1 | median) pr=$(col "$pf" 1 | median)
  cu=$(col "$cf" 2 | median) pu=$(col "$pf" 2 | median)
  cc=$(col "$cf" 3 | median) pc=$(col "$pf" 3 | median)
  fails=$(cat "$cf" "$pf" | grep -c '^fail' || true)
  ratio=-
  [ -n "$cr" ] && [ -n "$pr" ] && ratio=$(awk -v a="$cr" -v b="$pr" 'BEGIN {printf "%.2fx", a / b}')
  pratio=$(paired "$cf" "$pf" | median)
  pratio=$([ -n "$pratio" ] && awk -v x="$pratio" 'BEGIN {printf "%.2fx", x}' || echo -)
  printf '%-40s %11s %11s %7s %7s %6s %9s %9s %9s %9s  %s| %s%s\n' "$(peer_name "$p")" \
    "$(printf '%.0f' "${cr:-0}")" "$(printf '%.0f' "${pr:-0}")" "$ratio" "$pratio" "$(target "$p")" \
    "$(awk -v x="${cu:-0}" 'BEGIN {printf "%.2f", x / 1000}')" "$(awk -v x="${pu:-0}" 'BEGIN {printf "%.2f", x / 1000}')" \
    "$(awk -v x="${cc:-0}" 'BEGIN {printf "%.2f", x / 1000}')" "$(awk -v x="${pc:-0}" 'BEGIN {printf "%.2f", x / 1000}')" \
    "$(col "$cf" 1 | awk '{printf "%.0f ", $1}')" "$(col "$pf" 1 | awk '{printf "%.0f ", $1}')" \
    "$([ "$fails" = 0 ] || echo " ($fails runs failed)")"
done

# The FIN pair's ceiling: what the fresh namespace's sysctls allow.
case " $PAIRS " in
  *" crr-fin "*)
    read -r lo hi reuse delay buckets < <("${isolate[@]}" "$self" __ns sysctl net.ipv4.ip_local_port_range \
      net.ipv4.tcp_tw_reuse net.ipv4.tcp_tw_reuse_delay net.ipv4.tcp_max_tw_buckets | tr '\n' ' '; echo)
    ports=$((hi - lo + 1))
    [ "$delay" = - ] && delay=1000
    echo
    echo "FIN close: the client keeps each closed connection in TIME_WAIT for 60 s; to one server"
    echo "address:port it has $ports ports ($lo-$hi). tcp_tw_reuse=$reuse (2: loopback only) lets connect()"
    echo "take a TIME_WAIT port again ${delay} ms after its last timestamp. connect() searches the even"
    echo "ports first (odd ones are left to bind()) and takes an even TIME_WAIT port once its delay has"
    echo "passed, so the even half turns over at $((ports / 2)) / $(awk -v d="$delay" 'BEGIN {print d / 1000}') s = $(awk -v p="$ports" -v d="$delay" 'BEGIN {printf "%.0f", p / 2 * 1000 / d}') connections/s; past that a connect()"
    echo "walks the whole even half before it tries an odd port, so a closed loop settles there, whatever"
    echo "the tool (without reuse: $ports / 60 s = $((ports / 60))/s). Past tcp_max_tw_buckets=$buckets TIME_WAIT"
    echo "sockets the kernel closes without TIME_WAIT. connbench run (without -q) shows it: ports in use"
    echo "stay near half the range, TIME_WAIT the same, and a note says the rate is at the cap."
    ;;
esac
echo
echo "ratio: the medians' ratio; paired: the median of the rounds' own ratios (connbench and the peer"
echo "measured back to back), which the machine's drift between rounds does not move."
echo "µs/op: client user CPU per connection (per-request, connect) or per transaction (pooled, http);"
echo "CPU: user and system together, the kernel's work in the client's system calls included (on"
echo "loopback that is most of it). connbench's from its JSON (cpu.user_ns_per_*, cpu.thread_ns over"
echo "its operations; pooled and HTTP include its polling, --spin); neper's own getrusage over its"
echo "transactions; netperf, wrk and h2load: getrusage of the client process(es) over rate x duration."
