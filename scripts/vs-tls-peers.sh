#!/usr/bin/env bash
# connbench --tls side by side with openssl s_time and h2load, against one
# nginx serving TLS (1 worker, a certificate this script generates, a
# SIZE-byte static file on 127.0.0.1:8443).
#
#   pair       connbench                                              peer
#   new        run -w per-request --tls --protocol http -c 1           openssl s_time -new   (one connection at a time, HTTP/1.0 GET)
#   reuse      run -w per-request --tls --tls-resume tickets -c 1      openssl s_time -reuse (session resumed after the first)
#   h2load-ka  run -w pooled --tls --protocol http -c FLOWS           h2load --h1 -c FLOWS (HTTP/1.1 keep-alive over TLS)
#
# Both sides use TLS 1.3 with X25519 (nginx's OpenSSL may lack the hybrid
# post-quantum groups Go offers first). Rates are handshakes (new
# connections) per second for new and reuse, requests per second for
# h2load-ka. Rounds are interleaved: every round measures each pair once,
# connbench first in odd rounds and the peer first in even ones; the table
# gives the medians and connbench/peer. nginx is started for the run and
# stopped (by its PID) at the end. As root the whole run happens in a fresh
# network namespace (unshare -n, lo up), so nothing touches the host's.
#
# It builds and downloads nothing. Binaries: CONNBENCH (default: connbench
# on PATH, else ./connbench), OPENSSL, H2LOAD, NGINX (also /usr/sbin).
# Environment: ROUNDS (3), DURATION (8: whole seconds per measurement),
# FLOWS (10), SIZE (612), PAIRS (default: new reuse h2load-ka).
#
# Usage: scripts/vs-tls-peers.sh
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DUR_S=${DURATION:-8}
FLOWS=${FLOWS:-10}
SIZE=${SIZE:-612}
PAIRS=${PAIRS:-new reuse h2load-ka}
case $DUR_S in '' | *[!0-9]*) echo "vs-tls-peers: DURATION must be whole seconds" >&2; exit 2 ;; esac
for v in "$ROUNDS" "$FLOWS" "$SIZE"; do
  case $v in '' | *[!0-9]*) echo "vs-tls-peers: ROUNDS, FLOWS and SIZE must be numbers" >&2; exit 2 ;; esac
done
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 50 ] && [ "$FLOWS" -ge 1 ] && [ "$FLOWS" -le 2048 ] && [ "$DUR_S" -ge 1 ] && [ "$DUR_S" -le 600 ] ||
  { echo "vs-tls-peers: ROUNDS 1-50, FLOWS 1-2048, DURATION 1-600" >&2; exit 2; }

if [ "$(id -u)" = 0 ] && [ -z "${VS_TLS_INNER:-}" ]; then
  exec env VS_TLS_INNER=1 unshare -n -- bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi

find_bin() { # find_bin VAR NAME
  local v=${!1:-}
  if [ -n "$v" ]; then echo "$v"; return; fi
  command -v "$2" 2>/dev/null || { [ -x "/usr/sbin/$2" ] && echo "/usr/sbin/$2"; } || true
}
CB=$(find_bin CONNBENCH connbench)
[ -n "$CB" ] || CB=./connbench
OPENSSL_BIN=$(find_bin OPENSSL openssl)
H2LOAD_BIN=$(find_bin H2LOAD h2load)
NGINX_BIN=$(find_bin NGINX nginx)
for b in "$CB" "$OPENSSL_BIN" "$NGINX_BIN"; do
  [ -n "$b" ] && [ -x "$b" ] || { echo "vs-tls-peers: need connbench, openssl and nginx (set CONNBENCH, OPENSSL, NGINX)" >&2; exit 2; }
done

TMPD=$(mktemp -d)
nginx_pid=
cleanup() {
  if [ -n "$nginx_pid" ]; then kill -TERM "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
  rm -rf "$TMPD"
}
trap cleanup EXIT

mkdir -p "$TMPD/nginx/www"
head -c "$SIZE" /dev/zero | tr '\0' x >"$TMPD/nginx/www/index.html"
"$OPENSSL_BIN" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$TMPD/key.pem" -out "$TMPD/cert.pem" 2>/dev/null
user=""
[ "$(id -u)" = 0 ] && user="user root;"
cat >"$TMPD/nginx/nginx.conf" <<CONF
$user
worker_processes 1;
pid $TMPD/nginx/nginx.pid;
error_log $TMPD/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $TMPD/nginx/cb; proxy_temp_path $TMPD/nginx/px;
    fastcgi_temp_path $TMPD/nginx/fc; uwsgi_temp_path $TMPD/nginx/uw; scgi_temp_path $TMPD/nginx/sc;
    keepalive_requests 1000000;
    ssl_certificate $TMPD/cert.pem;
    ssl_certificate_key $TMPD/key.pem;
    ssl_protocols TLSv1.3;
    ssl_ecdh_curve X25519;
    ssl_session_tickets on;
    server { listen 127.0.0.1:8443 ssl; root $TMPD/nginx/www; }
}
CONF
"$NGINX_BIN" -p "$TMPD/nginx" -c "$TMPD/nginx/nginx.conf" -e "$TMPD/nginx/error.log" -g 'daemon off;' &
nginx_pid=$!
for _ in $(seq 100); do
  [ -n "$(ss -Hltn 'sport = :8443' 2>/dev/null)" ] && break
  kill -0 "$nginx_pid" 2>/dev/null || { cat "$TMPD/nginx/error.log" >&2; exit 1; }
  sleep 0.05
done

field() { grep -m1 "\"$2\"" "$1" | sed 's/.*: *\([0-9.e+-]*\).*/\1/'; }
TO=$((DUR_S + 30))

cb_measure() { # prints the rate, nothing on failure
  local json=$TMPD/cb.json key=conns_per_sec args
  case $1 in
    new) args=(-w per-request -c 1) ;;
    reuse) args=(-w per-request -c 1 --tls-resume tickets) ;;
    h2load-ka) args=(-w pooled -c "$FLOWS"); key=transactions_per_sec ;;
  esac
  rm -f "$json"
  timeout -k 5 "$TO" "$CB" run "${args[@]}" --tls --tls-version 1.3 --tls-groups X25519 --tls-ca "$TMPD/cert.pem" --sni localhost \
    --protocol http --path /index.html -d "${DUR_S}s" -q -o "$json" 127.0.0.1:8443 >"$TMPD/cb.log" 2>&1 || true
  if [ ! -s "$json" ]; then tail -3 "$TMPD/cb.log" | sed "s/^/vs-tls-peers: connbench $1: /" >&2; return 0; fi
  local f
  f=$(field "$json" failures_total)
  [ "${f:-0}" = 0 ] || echo "vs-tls-peers: connbench $1: $f failures" >&2
  field "$json" "$key"
}

peer_measure() {
  local log=$TMPD/peer.log
  case $1 in
    new | reuse)
      # s_time's "N connections in T real seconds" counts T in whole
      # seconds (time(2)): the rate is N over the wall time measured here.
      local t0 t1
      t0=$(date +%s.%N)
      timeout -k 5 "$TO" "$OPENSSL_BIN" s_time -connect 127.0.0.1:8443 -"$1" -time "$DUR_S" -www /index.html \
        -CAfile "$TMPD/cert.pem" >"$log" 2>&1 || true
      t1=$(date +%s.%N)
      awk -v t0="$t0" -v t1="$t1" '/connections in .* real seconds/ { if (t1 > t0) printf "%.1f\n", $1 / (t1 - t0); exit }' "$log" ;;
    h2load-ka)
      [ -n "$H2LOAD_BIN" ] || return 0
      timeout -k 5 "$TO" "$H2LOAD_BIN" --h1 -c "$FLOWS" -D "$DUR_S" https://127.0.0.1:8443/index.html >"$log" 2>&1 || true
      awk '/^finished in/ { gsub(",", "", $4); print $4; exit }' "$log" ;;
  esac
}

median() { sort -g | awk '{a[NR]=$1} END { if (NR == 0) print ""; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2 }'; }

declare -A cbv peerv
for r in $(seq "$ROUNDS"); do
  for p in $PAIRS; do
    if [ $((r % 2)) = 1 ]; then
      c=$(cb_measure "$p"); q=$(peer_measure "$p")
    else
      q=$(peer_measure "$p"); c=$(cb_measure "$p")
    fi
    echo "vs-tls-peers: round $r $p: connbench ${c:-failed}, peer ${q:-failed}" >&2
    cbv[$p]+="${c:+$c }"
    peerv[$p]+="${q:+$q }"
  done
done

printf '%-10s %14s %14s %9s   (medians of %d rounds of %ss; new/reuse: handshakes/s, h2load-ka: requests/s)\n' pair connbench peer ratio "$ROUNDS" "$DUR_S"
for p in $PAIRS; do
  c=$(tr ' ' '\n' <<<"${cbv[$p]}" | grep . | median || true)
  q=$(tr ' ' '\n' <<<"${peerv[$p]}" | grep . | median || true)
  ratio=—
  [ -n "$c" ] && [ -n "$q" ] && ratio=$(awk -v a="$c" -v b="$q" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "—" }')
  printf '%-10s %14s %14s %9s\n' "$p" "${c:-—}" "${q:-—}" "$ratio"
done
