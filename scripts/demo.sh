#!/usr/bin/env bash
# The loopback demo: a local HTTPS fixture with its own throwaway CA, fetched
# with `corvid -v`. Usage: scripts/demo.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: scripts/demo.sh BUILD_DIR}
work=$(mktemp -d)
fixture_pid=
server_pid=
cleanup() {
    [ -n "$fixture_pid" ] && kill "$fixture_pid" 2>/dev/null && wait "$fixture_pid" 2>/dev/null
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

"$build/corvid-fixture" --dir "$work" >"$work/fixture.out" 2>&1 &
fixture_pid=$!
for _ in $(seq 1 100); do
    grep -q '^listening' "$work/fixture.out" 2>/dev/null && break
    sleep 0.05
done
url=$(sed -n 's/^listening //p' "$work/fixture.out")
if [ -z "$url" ]; then
    echo "demo: the fixture did not start:" >&2
    cat "$work/fixture.out" >&2
    exit 1
fi

echo "== corvid -v --cacert <throwaway CA> $url"
"$build/corvid" -v --cacert "$work/ca.pem" "$url"
echo
echo "== two URLs, one connection; status, protocol, TLS and timings with -w"
"$build/corvid" -s --cacert "$work/ca.pem" -o /dev/null -o /dev/null \
    -w 'GET %{url_effective}: %{http_code} HTTP/%{http_version} connects=%{num_connects} connect=%{time_connect}s tls=%{time_appconnect}s ttfb=%{time_starttransfer}s total=%{time_total}s bytes=%{size_download}\n' \
    "${url}bytes/1048576" "${url}bytes/1024"
echo
echo "== HTTP/2: the same fixture negotiates h2 by ALPN; 20 URLs, one connection"
urls=()
for i in $(seq 1 20); do urls+=("${url}bytes/$((i * 1000))"); done
"$build/corvid" -s --http2 --cacert "$work/ca.pem" $(printf -- '-o /dev/null %.0s' "${urls[@]}") \
    -w 'HTTP/%{http_version} %{http_code} connects=%{num_connects}\n' \
    "${urls[@]}" | sort | uniq -c
echo
wsurl="wss://${url#https://}ws"
echo "== WebSocket: lines out, echoes back (HTTP/1.1 upgrade, permessage-deflate)"
printf 'hello\nstreaming tokens\n' | "$build/corvid" ws -v --cacert "$work/ca.pem" "$wsurl" 2>&1 |
    grep -E '^(> GET|< HTTP|\* WebSocket|\* closed)|^[a-z]'
echo
echo "== WebSocket over HTTP/2 (extended CONNECT, RFC 8441), and a 2,000-message echo run"
printf 'over h2\n' | "$build/corvid" ws -v --http2 --cacert "$work/ca.pem" "$wsurl" 2>&1 |
    grep -E '^(> CONNECT|< HTTP|\* WebSocket)|^over'
"$build/corvid" ws -n 2000 --size 1024 --no-deflate --cacert "$work/ca.pem" "$wsurl"
echo
echo "== without --cacert the throwaway CA is not trusted (exit code 60 expected)"
set +e
"$build/corvid" -s -S "$url" >/dev/null
echo "exit code: $?"
set -e
echo
echo "== corvid-server: a WebSocket and an SSE subscriber, one publish over the HTTP API"
head -c 32 /dev/urandom | base64 >"$work/secret"
"$build/corvid-server" --listen 127.0.0.1:0 --workers 2 --jwt-secret-file "$work/secret" \
    2>"$work/server.log" &
server_pid=$!
for _ in $(seq 1 100); do
    grep -q 'listening on' "$work/server.log" 2>/dev/null && break
    sleep 0.05
done
cat "$work/server.log"
port=$(sed -n 's|.*ws://127\.0\.0\.1:\([0-9]*\)/ws.*|\1|p' "$work/server.log" | head -1)
if [ -z "$port" ]; then
    echo "demo: corvid-server did not start" >&2
    exit 1
fi
reader=$("$build/corvid-server" token --jwt-secret-file "$work/secret" --sub reader \
    --channels 'news.**')
admin=$("$build/corvid-server" token --jwt-secret-file "$work/secret" --sub admin --admin)
echo '{"op":"sub","ch":"news.tech"}' |
    "$build/corvid" ws --listen -m 5 "ws://127.0.0.1:$port/ws?token=$reader" >"$work/ws.out" 2>&1 &
ws_pid=$!
"$build/corvid" sse -m 5 --max-reconnects 0 -H "Authorization: Bearer $reader" \
    "http://127.0.0.1:$port/sse?ch=news.tech" >"$work/sse.out" 2>&1 &
sse_pid=$!
for _ in $(seq 1 100); do
    grep -q subok "$work/ws.out" 2>/dev/null && grep -q subok "$work/sse.out" 2>/dev/null && break
    sleep 0.05
done
echo "$ corvid --json '{\"ch\":\"news.tech\",...}' -H 'Authorization: Bearer <admin token>' http://127.0.0.1:$port/api/publish"
"$build/corvid" -s --json '{"ch":"news.tech","data":{"headline":"corvid-server is up","n":1}}' \
    -H "Authorization: Bearer $admin" "http://127.0.0.1:$port/api/publish"
echo
for _ in $(seq 1 100); do
    grep -q '"op":"msg"' "$work/ws.out" 2>/dev/null && grep -q '"op":"msg"' "$work/sse.out" 2>/dev/null && break
    sleep 0.05
done
kill -TERM "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=
wait "$ws_pid" 2>/dev/null || true
wait "$sse_pid" 2>/dev/null || true
echo "-- the WebSocket subscriber received (the server closed it with 1001 at its shutdown):"
cat "$work/ws.out"
echo "-- the SSE subscriber received:"
grep -v '^$' "$work/sse.out" || true
grep -q '"op":"msg"' "$work/ws.out" && grep -q '"op":"msg"' "$work/sse.out"
