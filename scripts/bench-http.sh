#!/usr/bin/env bash
# HTTP benchmark: connbench against wrk, both loading the same nginx that
# serves a small static file on loopback.
#
#   keep-alive:  wrk -t1 -cC -dD                      vs  connbench run -w pooled -c C --protocol http
#   close:       wrk -t1 -cC -dD -H 'Connection: close'  vs  connbench run -w per-request -c C --protocol http
#
# Each figure is the median of RUNS runs, wrk and connbench interleaved
# (A B A B ...) so that drift hits both alike; the ratio is connbench / wrk.
# connbench runs with --loops 1, one client thread like wrk's -t1 (its
# default against an external target is one loop per CPU); LOOPS=N
# changes that. nginx runs one worker, with its own configuration in a
# temporary directory, and is stopped by its PID at the end.
#
# Usage: scripts/bench-http.sh [RUNS] [DURATION]     (defaults: 3 10s)
# Environment: CONNS (default 10), LOOPS (default 1), SIZE (file bytes, default 612)
# Needs: wrk (Debian: apt-get install wrk), nginx (apt-get install nginx).
set -euo pipefail
runs=${1:-3}
dur=${2:-10s}
conns=${CONNS:-10}
loops=${LOOPS:-1}
size=${SIZE:-612}
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
  echo "bench-http: wrk not found; install it (Debian: apt-get install wrk)" >&2
  exit 1
fi
nginx=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$nginx" ]; then
  echo "bench-http: nginx not found; install it (Debian: apt-get install nginx)" >&2
  exit 1
fi

tmp=$(mktemp -d)
chmod 755 "$tmp"
nginx_pid=
cleanup() {
  if [ -n "$nginx_pid" ]; then
    kill -TERM "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
go build -o "$tmp/connbench" .

# A free loopback port: nothing answers a connect there.
port=
for p in $(seq 18080 18200); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    port=$p
    break
  fi
done
[ -n "$port" ] || { echo "bench-http: no free port in 18080-18200" >&2; exit 1; }

mkdir -p "$tmp/www"
head -c "$size" /dev/zero | tr '\0' 'x' >"$tmp/www/index.html"
user=
[ "$(id -u)" = 0 ] && user="user root;"
cat >"$tmp/nginx.conf" <<EOF
$user
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path $tmp/client_body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    server {
        listen 127.0.0.1:$port backlog=4096;
        root $tmp/www;
    }
}
EOF
"$nginx" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/error.log" -g 'daemon off;' &
nginx_pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$nginx_pid" 2>/dev/null || { echo "bench-http: nginx did not start:" >&2; cat "$tmp/error.log" >&2; exit 1; }
  sleep 0.1
done
url="http://127.0.0.1:$port/index.html"
echo "nginx $("$nginx" -v 2>&1 | sed 's/.*nginx\///'), 1 worker, ${size}-byte file; $runs runs of $dur, $conns connections; connbench --loops $loops; $(nproc) CPUs" >&2

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# field FILE KEY: the first numeric value of "KEY" in a result file.
field() { grep -m1 "\"$2\"" "$1" | sed 's/.*: *\([0-9.e+-]*\).*/\1/'; }

wrk_run() { # wrk_run [extra wrk flags]: prints requests/s
  local out
  out=$(wrk -t1 -c"$conns" -d"$dur" "$@" "$url")
  if grep -qE 'Socket errors|Non-2xx' <<<"$out"; then
    grep -E 'Socket errors|Non-2xx' <<<"$out" | sed 's/^/bench-http: wrk: /' >&2
  fi
  awk '/^Requests\/sec:/ {print $2}' <<<"$out"
}
cb_run() { # cb_run WORKLOAD: prints transactions/s
  "$tmp/connbench" run -w "$1" -c "$conns" --loops "$loops" --protocol http --path /index.html \
    -d "$dur" -q -o "$tmp/r.json" "127.0.0.1:$port" >/dev/null
  local fails
  fails=$(field "$tmp/r.json" failures_total)
  [ "${fails:-0}" = 0 ] || echo "bench-http: connbench $1: $fails failures" >&2
  field "$tmp/r.json" transactions_per_sec
}

printf '%-12s %12s %12s %8s   %s\n' "mode" "wrk req/s" "connbench/s" "ratio" "runs (wrk | connbench)"
bench() { # bench NAME WORKLOAD [wrk flags]
  local name=$1 w=$2
  shift 2
  local ws=() cs=()
  for _ in $(seq "$runs"); do
    ws+=("$(wrk_run "$@")")
    cs+=("$(cb_run "$w")")
  done
  local wm cm
  wm=$(printf '%s\n' "${ws[@]}" | median)
  cm=$(printf '%s\n' "${cs[@]}" | median)
  printf '%-12s %12.0f %12.0f %7.2fx   %s| %s\n' "$name" "$wm" "$cm" "$(awk -v a="$cm" -v b="$wm" 'BEGIN {print a/b}')" \
    "$(printf '%.0f ' "${ws[@]}")" "$(printf '%.0f ' "${cs[@]}")"
}
bench keep-alive pooled
bench close per-request -H 'Connection: close'
